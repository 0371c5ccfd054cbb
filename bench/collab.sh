#!/usr/bin/env bash
# Co-editing benchmark: K clients in one document sending small updates at a steady rate
# through strongroomd's relay, against the y-websocket server (npm y-websocket@1,
# bin/server.js) with the same load in the same run; plus idle connections and their memory.
#
# Usage: bench/collab.sh BUILD_DIR [--smoke]
#
# strongroomd: BUILD_DIR/bin/collab_load (bench/collab_load.cc) sends real sealed update frames
# (AES-256-GCM + Ed25519, one CollabSession per connection) for an account and a document the
# real CLI made. y-websocket: bench/collab/yws_load.mjs sends real Yjs updates of the same size,
# framed as y-websocket clients frame them. Both generators are single-threaded, pace the same
# way and print the same `result` line. Delivery = one update reaching one other client;
# latency = from the send until every other client has it.
#
# Full mode: for K = 50, 200, 1000, each server's highest sustained deliveries/s (the offered
# rate doubles until a step falls below 95% of it, loses an update or has p99 over 1 s; then two
# bisection steps between the last good and the first bad); p50/p99 at 200 clients and 250 updates/s;
# 10,000 idle clients and the servers' RSS. PASS/MISS against the targets (exit 0 on a MISS:
# a benchmark is not a test). Smoke mode: a few clients, short runs, nothing judged. Anything
# that fails to run (a server, the CLI, a generator, connections refused) exits non-zero.
# Environment (optional): BENCH_DURATION (seconds per step), BENCH_IDLE_CLIENTS, BENCH_KS,
# BENCH_PIN=1 (both servers on CPU 0, both generators on CPU 1, with taskset; default: unpinned).
set -euo pipefail
export LC_ALL=C

readonly PROG=bench/collab.sh
# shellcheck source=bench/lib.bash
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.bash"
usage() {
  printf 'usage: %s BUILD_DIR [--smoke]\n' "$PROG" >&2
  exit 2
}
(($# >= 1 && $# <= 2)) || usage
build_dir=$1
smoke=0
if (($# == 2)); then
  [[ $2 == --smoke ]] || usage
  smoke=1
fi
if ((smoke)); then
  duration=${BENCH_DURATION:-2}
  idle_clients=${BENCH_IDLE_CLIENTS:-50}
  read -r -a ks <<<"${BENCH_KS:-4}"
  lat_k=4 lat_rate=50
else
  duration=${BENCH_DURATION:-5}
  idle_clients=${BENCH_IDLE_CLIENTS:-10000}
  read -r -a ks <<<"${BENCH_KS:-50 200 1000}"
  lat_k=200 lat_rate=250
fi
[[ $duration =~ ^[1-9][0-9]*$ ]] || die "BENCH_DURATION must be a positive integer"
pin_server=() pin_gen=()
if [[ ${BENCH_PIN:-0} == 1 ]]; then
  command -v taskset >/dev/null 2>&1 || die "BENCH_PIN=1 needs taskset (util-linux)"
  (($(nproc) >= 2)) || die "BENCH_PIN=1 needs two CPUs"
  pin_server=(taskset -c 0) pin_gen=(taskset -c 1)
fi
[[ $idle_clients =~ ^[1-9][0-9]*$ ]] || die "BENCH_IDLE_CLIENTS must be a positive integer"
readonly TARGET_RATIO=5 TARGET_P99_MS=5 TARGET_IDLE_RSS_MIB=1024
readonly STEP_MAX_P99_MS=1000 STEP_MIN_SHARE=0.95 DRAIN_S=3 LAT_DRAIN_S=$((smoke ? 3 : 10)) SETTLE_MAX_S=$((smoke ? 5 : 60))
# The first offered load of the search, in deliveries/s; each step doubles it.
readonly START_DELIVERIES=$((smoke ? 200 : 12000))
readonly MAX_STEPS=$((smoke ? 1 : 7)) BISECT_STEPS=$((smoke ? 0 : 2))

for t in node awk mktemp grep; do
  command -v "$t" >/dev/null 2>&1 || die "'$t' not found; run scripts/install-deps"
done
repo=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
yws_dir=$repo/bench/collab
[[ -f $yws_dir/node_modules/y-websocket/bin/server.js ]] ||
  die "y-websocket is not installed in bench/collab/node_modules; run scripts/install-deps (npm ci --prefix bench/collab)"
[[ -d $build_dir ]] || die "build directory '$build_dir' does not exist"
build_dir=$(cd "$build_dir" && pwd)
srd_bin=$build_dir/bin/strongroomd
sr_bin=$build_dir/bin/strongroom
load_bin=$build_dir/bin/collab_load
[[ -x $srd_bin && -x $sr_bin && -x $load_bin ]] ||
  die "build the strongroomd, strongroom and collab_load targets first"

# Every idle client is a socket in the generator and one in the server (separate processes).
need_fds=$((idle_clients + 1024))
if (($(ulimit -n) < need_fds)); then
  ulimit -n "$need_fds" 2>/dev/null || die "ulimit -n is $(ulimit -n) (hard $(ulimit -Hn)); $idle_clients idle clients need $need_fds"
fi

load1=$(cut -d ' ' -f 1 /proc/loadavg)
if (($(ge "$load1" 0.5))); then
  warn "1-minute load average is $load1: other work shares the cores, figures will be lower"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/strongroom-collab-bench.XXXXXX")
srd_pid='' yws_pid='' load_pid=''
# shellcheck disable=SC2317 # Invoked by the trap.
cleanup() {
  for p in "$load_pid" "$srd_pid" "$yws_pid"; do
    if [[ -n $p ]]; then kill "$p" 2>/dev/null || true; fi
  done
  wait 2>/dev/null || true
  rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- strongroomd, an account and a document ---------------------------------------------------
# The caps that would otherwise shape the load are lifted (docs/configuration.md): connections
# per file, per user and in all; the per-connection frame rate (0 = off); the tail of updates
# since the last snapshot (0 = off; the bench never snapshots); the send queues (a lagging
# receiver is measured, not dropped). The HTTP rate limits are lifted for the upgrades. Every
# update is still appended durably (SQLite, synchronous=FULL) before it is acknowledged and
# relayed, as in production.
STRONGROOM_RATE_PER_IP=10000000 STRONGROOM_RATE_PER_IP_BURST=10000000 \
  STRONGROOM_RATE_PER_ACCOUNT=10000000 STRONGROOM_RATE_PER_ACCOUNT_BURST=10000000 \
  STRONGROOM_LOG_LEVEL=warn STRONGROOM_REQUIRE_2FA_DEFAULT=false \
  STRONGROOM_MAX_CONNECTIONS=$((idle_clients + 2048)) \
  STRONGROOM_COLLAB_MAX_CONNECTIONS_PER_FILE=1000000 \
  STRONGROOM_COLLAB_MAX_CONNECTIONS_PER_USER=1000000 \
  STRONGROOM_COLLAB_FRAMES_PER_SECOND=0 STRONGROOM_COLLAB_FRAMES_BURST=1000000 \
  STRONGROOM_COLLAB_MAX_TAIL=0 \
  STRONGROOM_COLLAB_SEND_QUEUE_FRAMES=1000000 STRONGROOM_COLLAB_SEND_QUEUE_BYTES=$((1 << 30)) \
  "${pin_server[@]}" "$srd_bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" \
  >"$work/strongroomd.out" 2>"$work/strongroomd.err" &
srd_pid=$!
listen_line=$(wait_for_line "$work/strongroomd.out" 'listening on http://' 30) || {
  cat "$work/strongroomd.err" >&2
  die "strongroomd did not start"
}
srd_url=http://127.0.0.1:${listen_line##*:}
token_line=$(wait_for_line "$work/strongroomd.out" 'owner setup token: ' 5) || die "no setup token"
setup_token=${token_line##*owner setup token: }
setup_token=${setup_token%%[[:space:]]*}
export STRONGROOM_HOME=$work/client-home
mkdir -m 700 "$STRONGROOM_HOME"
password="bench-password-$RANDOM$RANDOM"
printf '%s\n' "$password" |
  "$sr_bin" register --server "$srd_url" --invite "$setup_token" --email bench@example.com \
    --password-stdin >"$work/register.out" 2>&1 || {
  cat "$work/register.out" >&2
  die "strongroom register failed"
}
printf 'the co-edited document\n' >"$work/collab-bench.docx"
printf '%s\n' "$password" |
  "$sr_bin" upload "$work/collab-bench.docx" / --password-stdin >"$work/upload.out" 2>&1 || {
  cat "$work/upload.out" >&2
  die "strongroom upload failed"
}
doc_path=/collab-bench.docx
(umask 077 && printf '%s\n' "$password" >"$work/password")

# --- y-websocket ------------------------------------------------------------------------------
yws_port=$(pick_port) || die "no free port for y-websocket"
yws_version=$(node -p 'require(process.argv[1]).version' "$yws_dir/node_modules/y-websocket/package.json")
yjs_version=$(node -p 'require(process.argv[1]).version' "$yws_dir/node_modules/yjs/package.json")
HOST=127.0.0.1 PORT=$yws_port "${pin_server[@]}" node "$yws_dir/node_modules/y-websocket/bin/server.js" \
  >"$work/yws.out" 2>"$work/yws.err" &
yws_pid=$!
wait_for_line "$work/yws.out" 'running at' 30 >/dev/null || {
  cat "$work/yws.err" >&2
  die "the y-websocket server did not start"
}
yws_url=ws://127.0.0.1:$yws_port

# --- runs -------------------------------------------------------------------------------------
# run SERVER K RATE SECONDS [DRAIN]: one timed run; leaves its `result` line in $result. An
# update counts as lost when some client still lacks it DRAIN seconds after the last send
# (default DRAIN_S). A generator that fails (setup, connections refused) fails the benchmark.
result=''
run() {
  local server=$1 k=$2 rate=$3 secs=$4 drain=${5:-$DRAIN_S} out=$work/run.out
  if [[ $server == strongroomd ]]; then
    "${pin_gen[@]}" "$load_bin" run --server "$srd_url" --path "$doc_path" --clients "$k" --rate "$rate" \
      --duration "$secs" --drain "$drain" <"$work/password" >"$out" 2>"$work/run.err" || {
      cat "$out" "$work/run.err" >&2
      die "collab_load run failed (K=$k, rate=$rate)"
    }
  else
    "${pin_gen[@]}" node "$yws_dir/yws_load.mjs" run --url "$yws_url/bench" --clients "$k" --rate "$rate" \
      --duration "$secs" --drain "$drain" >"$out" 2>"$work/run.err" || {
      cat "$out" "$work/run.err" >&2
      die "yws_load.mjs run failed (K=$k, rate=$rate)"
    }
  fi
  result=$(grep -m 1 '^result ' "$out") || {
    cat "$out" "$work/run.err" >&2
    die "no result line from the $server generator"
  }
  if [[ -s $work/run.err ]]; then sed 's/^/    /' "$work/run.err" | head -5; fi
  settle
}
# cpu_ticks PID: the CPU time the process has used, in clock ticks (0 once it is gone).
cpu_ticks() {
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
# settle: returns once neither server used more than 2 clock ticks (2% of a core at 100 Hz)
# in the last half second. A server that fell behind is still working through what it had
# read after its generator left (y-websocket was seen at a full core for seconds after a step
# it did not sustain), and the next run, of either server, would share the cores with it. A
# fixed pause was too short after some steps and needlessly long after most. Gives up with a
# warning after SETTLE_MAX_S.
settle() {
  local before after waited=0
  before=$(($(cpu_ticks "$srd_pid") + $(cpu_ticks "$yws_pid")))
  while :; do
    sleep 0.5
    after=$(($(cpu_ticks "$srd_pid") + $(cpu_ticks "$yws_pid")))
    ((after - before <= 2)) && return 0
    before=$after
    waited=$((waited + 1))
    if ((waited >= 2 * SETTLE_MAX_S)); then
      warn "the servers were still busy ${SETTLE_MAX_S} s after a run; measuring anyway"
      return 0
    fi
  done
}
field() { # field NAME: the value of NAME=... in $result
  local f
  for f in $result; do
    if [[ $f == "$1="* ]]; then
      printf '%s\n' "${f#*=}"
      return 0
    fi
  done
  die "no $1 in: $result"
}
# A step is sustained when nothing was lost, no error came back, the generator kept its pace,
# the deliveries kept up with the offered load and p99 stayed under the bound.
sustained() {
  local lost errors send_rate rate dps offered p99
  lost=$(field lost) errors=$(field errors) send_rate=$(field send_rate) rate=$(field rate)
  dps=$(field deliveries_per_s) offered=$(field offered_per_s) p99=$(field p99_ms)
  ((lost == 0 && errors == 0)) &&
    (($(ge "$send_rate" "$(awk -v r="$rate" -v s="$STEP_MIN_SHARE" 'BEGIN { print r * s }')"))) &&
    (($(ge "$dps" "$(awk -v o="$offered" -v s="$STEP_MIN_SHARE" 'BEGIN { print o * s }')"))) &&
    (($(lt "$p99" "$STEP_MAX_P99_MS")))
}
summary() { # one line per run
  printf '  %-12s K=%-5s %6s updates/s offered %8s deliveries/s, achieved %8s, p50 %8s ms, p99 %9s ms, lost %s%s\n' \
    "$1" "$(field clients)" "$(field rate)" "$(field offered_per_s)" "$(field deliveries_per_s)" \
    "$(field p50_ms)" "$(field p99_ms)" "$(field lost)" "$2"
}

# search SERVER K: the highest sustained deliveries/s -> $best (0 when even the first step
# failed) and the rate it came at -> $best_rate.
best=0 best_rate=0
search() {
  local server=$1 k=$2 rate good=0 bad=0 i mid
  rate=$(awk -v d="$START_DELIVERIES" -v k="$k" 'BEGIN { r = d / (k - 1); printf "%d", (r < 1 ? 1 : r) }')
  best=0 best_rate=0
  for ((i = 0; i < MAX_STEPS; i++)); do
    run "$server" "$k" "$rate" "$duration"
    if sustained; then
      summary "$server" ''
      good=$rate
      if (($(ge "$(field deliveries_per_s)" "$best"))); then best=$(field deliveries_per_s) best_rate=$rate; fi
      rate=$((rate * 2))
    else
      summary "$server" '  (not sustained)'
      bad=$rate
      break
    fi
  done
  # Two bisection steps between the last sustained rate and the first that was not.
  for ((i = 0; i < BISECT_STEPS; i++)); do
    ((good > 0 && bad > 0)) || break
    mid=$(((good + bad) / 2))
    ((mid > good && mid < bad)) || break
    run "$server" "$k" "$mid" "$duration"
    if sustained; then
      summary "$server" ''
      good=$mid
      if (($(ge "$(field deliveries_per_s)" "$best"))); then best=$(field deliveries_per_s) best_rate=$mid; fi
    else
      summary "$server" '  (not sustained)'
      bad=$mid
    fi
  done
}

printf 'strongroomd %s (Release) vs y-websocket %s (yjs %s), node %s; %s s per step; load %s\n' \
  "$("$srd_bin" --version 2>/dev/null | awk '{ print $NF }')" "$yws_version" "$yjs_version" \
  "$(node --version)" "$duration" "$load1"
if ((${#pin_server[@]})); then
  echo 'BENCH_PIN=1: both servers on CPU 0, both generators on CPU 1'
else
  printf 'Neither server nor generator is pinned: they share the %s cores.\n' "$(nproc)"
fi

declare -A srd_best yws_best
for k in "${ks[@]}"; do
  printf 'K=%s: stepping the offered load up until it is not sustained\n' "$k"
  search strongroomd "$k"
  srd_best[$k]=$best
  srd_best_rate=$best_rate
  search y-websocket "$k"
  yws_best[$k]=$best
  printf 'collab: K=%s highest sustained deliveries/s: strongroomd %s (%s updates/s), y-websocket %s (%s updates/s)\n' \
    "$k" "${srd_best[$k]}" "$srd_best_rate" "${yws_best[$k]}" "$best_rate"
done

printf 'Latency: %s clients, %s updates/s, %s s\n' "$lat_k" "$lat_rate" "$((duration * 2))"
run strongroomd "$lat_k" "$lat_rate" "$((duration * 2))" "$LAT_DRAIN_S"
summary strongroomd ''
srd_p50=$(field p50_ms) srd_p99=$(field p99_ms) srd_lat_lost=$(field lost)
# Where the time goes (collab_load only): until the first other client has the update (read,
# durable append, publish, first send) and until its author has the server's ack.
printf '  %-12s send -> first other client: p50 %s ms, p99 %s ms; send -> ack: p50 %s ms, p99 %s ms\n' \
  '' "$(field first_p50_ms)" "$(field first_p99_ms)" "$(field ack_p50_ms)" "$(field ack_p99_ms)"
run y-websocket "$lat_k" "$lat_rate" "$((duration * 2))" "$LAT_DRAIN_S"
summary y-websocket ''
yws_p50=$(field p50_ms) yws_p99=$(field p99_ms)

# --- idle connections -------------------------------------------------------------------------
# rss_mib PID: its VmRSS in MiB; fails loudly when the process is gone (a server that died
# under load: its standard error is shown).
rss_mib() {
  if [[ ! -r /proc/$1/status ]]; then
    if [[ $1 == "$yws_pid" ]]; then tail -n 20 "$work/yws.err" >&2; fi
    if [[ $1 == "$srd_pid" ]]; then tail -n 20 "$work/strongroomd.err" >&2; fi
    die "process $1 exited before its memory could be read"
  fi
  awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"
}
# idle SERVER_PID COMMAND...: starts the generator (stdin: the password file), waits until every
# client joined, lets the server settle, reads its RSS in MiB into $idle_rss, stops the
# generator.
idle_rss=''
idle() {
  local server_pid=$1
  shift
  "${pin_gen[@]}" "$@" <"$work/password" >"$work/idle.out" 2>"$work/idle.err" &
  load_pid=$!
  if ! wait_for_line "$work/idle.out" '^all joined' 300 >/dev/null; then
    cat "$work/idle.out" "$work/idle.err" >&2
    die "the idle clients did not all join: $*"
  fi
  sleep 3
  kill -0 "$load_pid" 2>/dev/null || die "the idle generator exited early"
  kill -0 "$server_pid" 2>/dev/null || die "the server exited while holding idle clients"
  idle_rss=$(rss_mib "$server_pid")
  kill "$load_pid" 2>/dev/null || true
  wait "$load_pid" 2>/dev/null || true
  load_pid=''
  grep -m 1 '^all joined' "$work/idle.out" | sed 's/^/    /'
}
printf 'Idle: %s connected clients\n' "$idle_clients"
srd_rss_before=$(rss_mib "$srd_pid")
idle "$srd_pid" "$load_bin" idle --server "$srd_url" --path "$doc_path" --clients "$idle_clients" --hold 600
srd_idle_rss=$idle_rss
yws_rss_before=$(rss_mib "$yws_pid")
idle "$yws_pid" node "$yws_dir/yws_load.mjs" idle --url "$yws_url/idle" --clients "$idle_clients" --hold 600
yws_idle_rss=$idle_rss
printf '  strongroomd RSS %s MiB (%s MiB before), y-websocket RSS %s MiB (%s MiB before)\n' \
  "$srd_idle_rss" "$srd_rss_before" "$yws_idle_rss" "$yws_rss_before"

# --- summary ----------------------------------------------------------------------------------
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }
top_k='' top_yws=-1
for k in "${ks[@]}"; do
  printf 'collab: K=%s deliveries/s ratio vs y-websocket: %s (strongroomd %s, y-websocket %s)\n' \
    "$k" "$(ratio "${srd_best[$k]}" "${yws_best[$k]}")" "${srd_best[$k]}" "${yws_best[$k]}"
  if (($(ge "${yws_best[$k]}" "$top_yws"))) && [[ ${yws_best[$k]} != "$top_yws" ]]; then
    top_k=$k top_yws=${yws_best[$k]}
  fi
done
top_ratio=$(ratio "${srd_best[$top_k]}" "$top_yws")
printf 'collab: deliveries/s ratio vs y-websocket: %s (at K=%s, where y-websocket is best: %s vs %s)\n' \
  "$top_ratio" "$top_k" "${srd_best[$top_k]}" "$top_yws"
printf 'collab: p99 at %s clients, %s updates/s: %s ms (target < %s); p50 %s ms; y-websocket p99 %s ms, p50 %s ms\n' \
  "$lat_k" "$lat_rate" "$srd_p99" "$TARGET_P99_MS" "$srd_p50" "$yws_p99" "$yws_p50"
printf 'collab: %s idle clients RSS: %s MiB (target < %s); y-websocket %s MiB\n' \
  "$idle_clients" "$srd_idle_rss" "$TARGET_IDLE_RSS_MIB" "$yws_idle_rss"

if ((smoke)); then
  echo "smoke mode: not judged"
  exit 0
fi
if ((${#pin_server[@]})); then
  echo "Targets (servers on CPU 0, generators on CPU 1)"
else
  echo "Targets (2 cores shared by server and generator)"
fi
ratio_ok=1
if [[ $top_ratio != inf ]]; then ratio_ok=$(ge "$top_ratio" "$TARGET_RATIO"); fi
verdict "$ratio_ok" \
  "sustained deliveries/s at K=$top_k: ${top_ratio}x y-websocket; target >= ${TARGET_RATIO}x"
verdict "$((srd_lat_lost == 0 && $(lt "$srd_p99" "$TARGET_P99_MS")))" \
  "p99 at $lat_k clients and $lat_rate updates/s: $srd_p99 ms; target < $TARGET_P99_MS ms"
verdict "$(lt "$srd_idle_rss" "$TARGET_IDLE_RSS_MIB")" \
  "strongroomd RSS with $idle_clients idle clients: $srd_idle_rss MiB; target < $TARGET_IDLE_RSS_MIB MiB"
echo
if ((misses)); then
  printf '%sRESULT: %s of %s targets MISSED (see the MISS lines above)%s\n' "$color_on" "$misses" "$total" "$color_off"
else
  printf 'RESULT: all %s targets PASS\n' "$total"
fi
exit 0

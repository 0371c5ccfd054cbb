#!/usr/bin/env bash
# Private Room transfer benchmark: upload and download of one large encrypted file through
# strongroomd on loopback, against nginx receiving the same bytes (WebDAV PUT) and serving
# them (static GET), in the same run; plus strongroomd's memory during the transfers.
#
# Usage: bench/room_transfer.sh BUILD_DIR [--smoke]
#
# What is timed is the server's part: the container (ciphertext, made once by the real CLI)
# moves over HTTP with curl, one request each way, so client-side encryption is not in the
# ratio. Upload: POST /api/v1/room/uploads then one streamed PUT of every byte (the staged
# blob); nginx: PUT of the same file (client_body_temp_path, then rename). Download: GET
# /api/v1/room/files/{id}/content of the completed file; nginx: GET of the same bytes.
# Memory: strongroomd's VmRSS sampled every 20 ms; growth = peak during transfers - idle.
#
# Full mode: 1 GiB, best of 3 per direction per server, PASS/MISS against the targets (exit 0
# on a MISS: a benchmark is not a test). Smoke mode: 32 MiB, one run, nothing judged. Anything
# that fails to run (a server, the CLI, a wrong byte count) exits non-zero.
# Environment (optional): BENCH_SIZE_MIB, BENCH_REPS.
set -euo pipefail
export LC_ALL=C

readonly PROG=bench/room_transfer.sh
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
  size_mib=${BENCH_SIZE_MIB:-32}
  reps=${BENCH_REPS:-1}
else
  size_mib=${BENCH_SIZE_MIB:-1024}
  reps=${BENCH_REPS:-3}
fi
[[ $size_mib =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZE_MIB must be a positive integer"
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive integer"
readonly TARGET_RATIO_PCT=70
readonly TARGET_RSS_GROWTH_MIB=64

for t in nginx curl awk mktemp head python3; do
  command -v "$t" >/dev/null 2>&1 || die "'$t' not found; run scripts/install-deps"
done
[[ -d $build_dir ]] || die "build directory '$build_dir' does not exist"
build_dir=$(cd "$build_dir" && pwd)
srd_bin=$build_dir/bin/strongroomd
sr_bin=$build_dir/bin/strongroom
[[ -x $srd_bin && -x $sr_bin ]] || die "build the strongroomd and strongroom targets first"

work=$(mktemp -d "${TMPDIR:-/tmp}/strongroom-room-bench.XXXXXX")
srd_pid='' nginx_pid='' sampler_pid=''
cleanup() {
  for p in "$sampler_pid" "$srd_pid" "$nginx_pid"; do
    if [[ -n $p ]]; then kill "$p" 2>/dev/null || true; fi
  done
  wait 2>/dev/null || true
  rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# --- strongroomd and an account ------------------------------------------------------------
# The account has no second factor: the portal is created without requiring one.
STRONGROOM_RATE_PER_IP=10000000 STRONGROOM_RATE_PER_IP_BURST=10000000 \
  STRONGROOM_RATE_PER_ACCOUNT=10000000 STRONGROOM_RATE_PER_ACCOUNT_BURST=10000000 \
  STRONGROOM_LOG_LEVEL=warn STRONGROOM_ROOM_MAX_UPLOAD_BYTES=$((8 << 30)) \
  STRONGROOM_REQUIRE_2FA_DEFAULT=false \
  "$srd_bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" \
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
read -r session <"$STRONGROOM_HOME/profiles/default/session"
auth=(-H "Authorization: Bearer $session")

# --- the file: encrypted and uploaded once by the real CLI ------------------------------------
head -c $((size_mib << 20)) /dev/urandom >"$work/bench.docx"
start=$(date +%s.%N)
printf '%s\n' "$password" |
  "$sr_bin" upload "$work/bench.docx" / --password-stdin --json >"$work/upload.json" 2>"$work/upload.err" || {
  cat "$work/upload.err" >&2
  die "strongroom upload failed"
}
cli_upload_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
file_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/upload.json")
content_url=$srd_url/api/v1/room/files/$file_id/content
curl -sS --fail "${auth[@]}" -o "$work/container.bin" "$content_url" || die "download failed"
container_bytes=$(stat -c %s "$work/container.bin")
((container_bytes > size_mib << 20)) || die "the container is smaller than the plaintext"

# --- nginx: the peer ---------------------------------------------------------------------------
mkdir -p "$work/nginx/logs" "$work/nginx/dav" "$work/nginx/tmp-body"
chmod 711 "$work"
chmod 755 "$work/nginx"
chmod 777 "$work/nginx/dav" "$work/nginx/tmp-body" # Workers run as nobody.
cp -- "$work/container.bin" "$work/nginx/dav/served.bin"
chmod 644 "$work/nginx/dav/served.bin"
nginx_port=$(pick_port) || die "no free port for nginx"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $work/nginx/tmp-body;
  proxy_temp_path $work/nginx/tmp-proxy;
  fastcgi_temp_path $work/nginx/tmp-fastcgi;
  uwsgi_temp_path $work/nginx/tmp-uwsgi;
  scgi_temp_path $work/nginx/tmp-scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    client_max_body_size 0;
    location / {
      root $work/nginx/dav;
      dav_methods PUT DELETE;
      create_full_put_path on;
    }
  }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log" \
  >"$work/nginx/stdout" 2>&1 &
nginx_pid=$!
nginx_url=http://127.0.0.1:$nginx_port
for ((i = 0; i < 50; i++)); do
  if curl -sS -o /dev/null "$nginx_url/served.bin" 2>/dev/null; then break; fi
  kill -0 "$nginx_pid" 2>/dev/null || {
    cat "$work/nginx/stdout" "$work/nginx/logs/error.log" >&2 || true
    die "nginx did not start"
  }
  sleep 0.1
done

# --- memory sampler ----------------------------------------------------------------------------
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$srd_pid/status"; }
idle_kib=$(rss_kib)
(
  peak=0
  while kill -0 "$srd_pid" 2>/dev/null; do
    v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$srd_pid/status" 2>/dev/null || echo 0)
    if ((v > peak)); then
      peak=$v
      printf '%s\n' "$peak" >"$work/peak_rss"
    fi
    sleep 0.02
  done
) &
sampler_pid=$!

# --- transfers ---------------------------------------------------------------------------------
# curl's own timing: total seconds of the transfer; bytes are checked every time.
timed_curl() { # OUT_VAR_SECONDS EXPECTED_BYTES curl-args...
  local -n out=$1
  local expect=$2
  shift 2
  local result
  result=$(curl -sS --fail -o /dev/null -w '%{size_upload} %{size_download} %{time_total}' "$@") ||
    die "curl $* failed"
  local up down secs
  read -r up down secs <<<"$result"
  if [[ ${up%.*} != "$expect" && ${down%.*} != "$expect" ]]; then
    die "curl moved $up/$down bytes, expected $expect"
  fi
  out=$secs
}

best() { printf '%s\n' "$@" | sort -g | head -1; }
mbps() { awk -v b="$container_bytes" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }

srd_up=() srd_down=() ngx_up=() ngx_down=()
for ((r = 0; r < reps; r++)); do
  # strongroomd upload: a fresh upload each time (a new file id), cancelled afterwards.
  new_id=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  up_json=$(curl -sS --fail "${auth[@]}" -H 'Content-Type: application/json' \
    -d "{\"file_id\":\"$new_id\",\"size\":$container_bytes}" "$srd_url/api/v1/room/uploads") ||
    die "starting an upload failed"
  upload_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["upload_id"])' "$up_json")
  timed_curl s "$container_bytes" "${auth[@]}" -H 'Content-Type: application/octet-stream' \
    -H 'Expect:' -T "$work/container.bin" "$srd_url/api/v1/room/uploads/$upload_id?offset=0"
  srd_up+=("$s")
  curl -sS --fail "${auth[@]}" -X DELETE "$srd_url/api/v1/room/uploads/$upload_id" >/dev/null ||
    die "cancelling the upload failed"
  timed_curl s "$container_bytes" -H 'Expect:' -T "$work/container.bin" "$nginx_url/put-$r.bin"
  ngx_up+=("$s")
  rm -f "$work/nginx/dav/put-$r.bin"
  timed_curl s "$container_bytes" "${auth[@]}" "$content_url"
  srd_down+=("$s")
  timed_curl s "$container_bytes" "$nginx_url/served.bin"
  ngx_down+=("$s")
done
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=''
peak_kib=$(cat "$work/peak_rss" 2>/dev/null || echo "$idle_kib")
growth_mib=$(((peak_kib - idle_kib) / 1024))

su=$(best "${srd_up[@]}") sd=$(best "${srd_down[@]}") nu=$(best "${ngx_up[@]}") nd=$(best "${ngx_down[@]}")
up_pct=$(awk -v a="$nu" -v b="$su" 'BEGIN { printf "%.0f", a / b * 100 }')
down_pct=$(awk -v a="$nd" -v b="$sd" 'BEGIN { printf "%.0f", a / b * 100 }')
printf 'file: %s MiB plaintext, %s bytes encrypted; best of %s\n' "$size_mib" "$container_bytes" "$reps"
printf '%-10s %14s %14s %8s\n' direction strongroomd nginx ratio
printf '%-10s %9s MB/s %9s MB/s %7s%%\n' upload "$(mbps "$su")" "$(mbps "$nu")" "$up_pct"
printf '%-10s %9s MB/s %9s MB/s %7s%%\n' download "$(mbps "$sd")" "$(mbps "$nd")" "$down_pct"
printf 'strongroomd RSS: idle %s MiB, peak %s MiB, growth %s MiB\n' \
  "$((idle_kib / 1024))" "$((peak_kib / 1024))" "$growth_mib"
printf 'for scale (not judged): strongroom upload CLI end to end (encrypt + upload) %s s\n' "$cli_upload_s"
if ((smoke)); then
  echo "smoke mode: not judged"
  exit 0
fi
printf 'Targets (%s MiB, loopback)\n' "$size_mib"
verdict $((up_pct >= TARGET_RATIO_PCT)) "upload: ${up_pct}% of nginx's throughput; target >= ${TARGET_RATIO_PCT}%"
verdict $((down_pct >= TARGET_RATIO_PCT)) "download: ${down_pct}% of nginx's throughput; target >= ${TARGET_RATIO_PCT}%"
verdict $((growth_mib < TARGET_RSS_GROWTH_MIB)) "strongroomd memory growth during transfers: ${growth_mib} MiB; target < ${TARGET_RSS_GROWTH_MIB} MiB"
echo
if ((misses)); then
  printf '%sRESULT: %s of %s targets MISSED (see the MISS lines above)%s\n' "$color_on" "$misses" "$total" "$color_off"
else
  printf 'RESULT: all %s targets PASS\n' "$total"
fi
exit 0

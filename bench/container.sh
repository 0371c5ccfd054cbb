#!/usr/bin/env bash
# Container benchmark: file encryption and decryption throughput and peak RSS of the `strongroom`
# CLI against its peers `age` and `gpg`, with `openssl speed -evp aes-256-gcm` as the ceiling.
#
# Usage: bench/container.sh BUILD_DIR [--smoke]
#
# Full mode: a 1 GiB random file in /dev/shm, best of 3 repetitions per measurement, PASS/MISS per
# target (exit status 0 even on a MISS: a benchmark is not a test). Smoke mode: a 16 MiB file, one
# repetition, `openssl speed -seconds 1`; every tool still runs end to end and every round trip is
# verified, but no target is judged. Any tool failure or round-trip mismatch exits non-zero.
#
# Environment (optional, for experiments): BENCH_SIZE_MIB overrides the file size in MiB,
# BENCH_REPS the number of repetitions. See bench/README.md for what is measured and why.
set -euo pipefail
export LC_ALL=C

readonly PROG=bench/container.sh
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

# --- Parameters --------------------------------------------------------------------------------
if ((smoke)); then
  size_mib=${BENCH_SIZE_MIB:-16}
  reps=${BENCH_REPS:-1}
  ossl_time_args=(-seconds 1)
else
  size_mib=${BENCH_SIZE_MIB:-1024}
  reps=${BENCH_REPS:-3}
  ossl_time_args=() # openssl's default: 3 seconds per measurement
fi
[[ $size_mib =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZE_MIB must be a positive integer, got '$size_mib'"
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive integer, got '$reps'"
readonly bytes=$((size_mib * 1024 * 1024))
ncpu=$(nproc)
readonly ncpu

# Targets (full mode only). Throughput is judged on the runs that write to /dev/null.
readonly TARGET_CEILING_PCT=70 # of the all-core AES-256-GCM ceiling
readonly TARGET_PEER_RATIO=2.5 # times age and gpg, both directions
readonly TARGET_RSS_MIB=32     # peak RSS of every strongroom run

readonly tools=(strongroom age gpg)
readonly ops=(encrypt decrypt)
readonly sinks=(null file)

# --- Preconditions -----------------------------------------------------------------------------
for t in age age-keygen gpg gpgconf openssl cmp awk df head mktemp realpath; do
  command -v "$t" >/dev/null 2>&1 || die "'$t' not found; run scripts/install-deps"
done
if [[ ! -x /usr/bin/time ]] || ! /usr/bin/time --version 2>&1 | grep -q 'GNU'; then
  die "GNU time not found at /usr/bin/time; run scripts/install-deps (Debian package 'time')"
fi

[[ -d $build_dir ]] || die "build directory '$build_dir' does not exist; build first (make bench does)"
sr_bin=$build_dir/bin/strongroom
file_ceiling_bin=$build_dir/bin/aes_file_ceiling
if [[ ! -e $sr_bin ]]; then
  die "strongroom CLI not found at $sr_bin; build it first (make bench does, or: cmake --build $build_dir --target strongroom)"
fi
[[ -f $sr_bin && -x $sr_bin ]] || die "$sr_bin is not an executable file"
sr_bin=$(realpath "$sr_bin")
[[ -x $file_ceiling_bin ]] ||
  die "aes_file_ceiling not found at $file_ceiling_bin; build it first (make bench does, or: cmake --build $build_dir --target aes_file_ceiling)"
readonly sr_bin

readonly shm=/dev/shm
[[ -d $shm && -w $shm ]] || die "$shm does not exist or is not writable; this benchmark needs a tmpfs there"
if [[ $(stat -f -c %T "$shm") != tmpfs ]]; then
  warn "$shm is not a tmpfs; the file-output figures will include disk I/O"
fi

# Space: the input, one ciphertext per tool (kept for the whole run so the tools can be
# interleaved) and one output file, each with a little room for container overhead.
readonly nfiles=$((1 + ${#tools[@]} + 1))
readonly need=$((nfiles * (bytes + bytes / 50) + 64 * 1024 * 1024))
avail=$(df -B1 --output=avail "$shm" | tail -n 1 | tr -d ' ')
if ((avail < need)); then
  die "not enough free space in $shm: need $((need / 1048576)) MiB (input + ${#tools[@]} ciphertexts + one output of $size_mib MiB each), have $((avail / 1048576)) MiB; free some (look for stale $shm/strongroom-bench.* directories) or enlarge it (mount -o remount,size=... $shm)"
fi
# tmpfs pages live in RAM (or swap): make sure they fit, or the OOM killer picks a victim.
# aes_file_ceiling's memory mode also holds one copy of the input in anonymous memory.
readonly need_mem=$((need + bytes))
mem_avail_kib=$(awk '/^(MemAvailable|SwapFree):/ {s += $2} END {print s + 0}' /proc/meminfo)
if ((mem_avail_kib * 1024 < need_mem)); then
  die "not enough memory for $((need / 1048576)) MiB of files in $shm and a $size_mib MiB copy of the input: MemAvailable+SwapFree is $((mem_avail_kib / 1024)) MiB"
fi

# --- Work directory and cleanup ----------------------------------------------------------------
work=$(mktemp -d "$shm/strongroom-bench.XXXXXX")
readonly work
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  if [[ -d $work/gnupg ]]; then
    GNUPGHOME=$work/gnupg gpgconf --kill all >/dev/null 2>&1 || true
  fi
  rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

readonly input=$work/input.bin
readonly out=$work/output.bin # the one output file in /dev/shm (file variant and verification)

# --- Helpers -----------------------------------------------------------------------------------

# fail_cmd WHAT RC STDERR_FILE CMD...: reports a failed command with the tail of its stderr.
fail_cmd() {
  local what=$1 rc=$2 errf=$3
  shift 3
  {
    printf '%s: error: %s failed (exit status %s)\n  command: %s\n' "$PROG" "$what" "$rc" "$*"
    if [[ -s $errf ]]; then
      printf '  stderr (last 20 lines):\n'
      tail -n 20 "$errf" | sed 's/^/    /'
    fi
  } >&2
  exit 1
}

# run WHAT CMD...: runs an untimed setup or verification command, stdout to /dev/null.
run() {
  local what=$1 rc=0
  shift
  "$@" >/dev/null 2>"$work/cmd.err" || rc=$?
  ((rc == 0)) || fail_cmd "$what" "$rc" "$work/cmd.err" "$@"
}

# CMD is set by cmd_encrypt / cmd_decrypt.
CMD=()
cmd_encrypt() { # TOOL OUT
  local tool=$1 dst=$2
  case $tool in
    strongroom) CMD=("$sr_bin" encrypt -r "$sr_pub" -i "$sr_id" -o "$dst" "$input") ;;
    age) CMD=(age -r "$age_pub" -o "$dst" "$input") ;;
    gpg)
      CMD=(gpg --batch --yes --quiet --no-tty --trust-model always
        --cipher-algo AES256 --compress-algo none -e -r "$gpg_fpr" -o "$dst" "$input")
      ;;
    *) die "internal: unknown tool $tool" ;;
  esac
}
cmd_decrypt() { # TOOL OUT
  local tool=$1 dst=$2 ct=$work/ciphertext.$1
  case $tool in
    strongroom) CMD=("$sr_bin" decrypt -i "$sr_id" -o "$dst" "$ct") ;;
    age) CMD=(age -d -i "$age_key" -o "$dst" "$ct") ;;
    gpg)
      CMD=(gpg --batch --yes --quiet --no-tty --pinentry-mode loopback --passphrase ''
        -d -o "$dst" "$ct")
      ;;
    *) die "internal: unknown tool $tool" ;;
  esac
}

# Results, keyed "tool op sink": best (lowest) wall time in microseconds, CPU% of that run, and
# the highest peak RSS (KiB) over all repetitions.
declare -A best_us=() best_cpu=() max_rss=()

# timed KEY CMD...: runs CMD under GNU time. Wall time is taken with $EPOCHREALTIME around
# /usr/bin/time (microseconds; GNU time's own %e has only 10 ms resolution); peak RSS (%M, KiB)
# and CPU share (%P) come from GNU time.
timed() {
  local key=$1 rc=0 t0 t1 us m p
  shift
  t0=${EPOCHREALTIME/./} # microseconds, no fork
  /usr/bin/time -f '%e %M %P' -o "$work/time.out" -- "$@" >/dev/null 2>"$work/cmd.err" || rc=$?
  t1=${EPOCHREALTIME/./}
  ((rc == 0)) || fail_cmd "$key" "$rc" "$work/cmd.err" "$@"
  # A tool that writes "-o /dev/null" through a temporary file and a rename would replace the
  # device with a regular file (we may be root): catch that rather than measure tmpfs writes.
  [[ -c /dev/null ]] || die "/dev/null is no longer a character device after: $* (restore it: rm /dev/null && mknod -m 666 /dev/null c 1 3)"
  read -r _ m p < <(tail -n 1 "$work/time.out") # %e is superseded by the wall time above
  [[ $m =~ ^[0-9]+$ ]] || die "could not parse GNU time output for $key: $(cat "$work/time.out")"
  us=$((t1 - t0))
  local prev_us=${best_us[$key]:-} prev_rss=${max_rss[$key]:-0}
  if [[ -z $prev_us ]] || ((us < prev_us)); then
    best_us[$key]=$us
    best_cpu[$key]=$p
  fi
  if ((m > prev_rss)); then
    max_rss[$key]=$m
  fi
}

# openssl_bps ARGS...: runs `openssl speed ARGS` and prints the aes-256-gcm figure in bytes/s.
# The human-readable line is "AES-256-GCM  2633254.68k" (1000s of bytes per second, one column
# per -bytes size). With -multi the children's "Got: +F:..." lines come first and the parent then
# prints the same line with the sum over all children.
openssl_bps() {
  local rc=0 v
  (cd "$work" && openssl speed "$@" >"$work/speed.out" 2>"$work/cmd.err") || rc=$?
  ((rc == 0)) || fail_cmd "openssl speed" "$rc" "$work/cmd.err" openssl speed "$@"
  v=$(awk 'tolower($1) == "aes-256-gcm" && $NF ~ /^[0-9.]+k$/ { v = $NF }
           END { if (v == "") exit 1; sub(/k$/, "", v); printf "%.0f\n", v * 1000 }' \
    "$work/speed.out") || die "could not find the aes-256-gcm line in the output of 'openssl speed $*':
$(cat "$work/speed.out")"
  echo "$v"
}
best_ossl_single=0
best_ossl_multi=0
# aes_file_ceiling, best of the repetitions per mode (bytes/s). `file` is the practical ceiling;
# the others are its parts: `read` (the preads alone), `memory` (the cipher over the same bytes
# in anonymous memory) and `mmap` (the cipher straight from a mapping of the file).
readonly ceiling_modes=(file read memory mmap)
declare -A best_ceiling=([file]=0 [read]=0 [memory]=0 [mmap]=0)

mbps() { awk -v b="$bytes" -v us="$1" 'BEGIN { printf "%.1f", b / us }'; } # bytes/us == MB/s
secs() { awk -v us="$1" 'BEGIN { printf "%.3f", us / 1e6 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; } # a/b

# --- Environment banner ------------------------------------------------------------------------
mode=full
((smoke)) && mode=smoke
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rev=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)
printf 'Container benchmark (%s mode): %s MiB random file in %s, best of %s, %s core(s)\n' \
  "$mode" "$size_mib" "$shm" "$reps" "$ncpu"
printf '  cpu:        %s\n' "${cpu_model:-unknown}"
printf '  strongroom: %s (source %s)\n' "$sr_bin" "$rev"
printf '  age:        %s\n' "$(age --version 2>&1 | head -n 1)"
printf '  gpg:        %s\n' "$(gpg --version | head -n 1)"
printf '  openssl:    %s\n' "$(openssl version)"
read -r load1 _ </proc/loadavg
printf '  load:       %s (1-minute average before the run)\n' "$load1"
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
  warn "the machine is busy (load average $load1): every figure, the ceiling included, will be low and noisy"
fi
echo

# --- Setup: input, keys, one verified ciphertext per tool (untimed) ----------------------------
echo "Setup: generating the input and keys, verifying every round trip (untimed)..."
head -c "$bytes" /dev/urandom >"$input"
[[ $(stat -c %s "$input") -eq $bytes ]] || die "short input file $input"

# strongroom
sr_id=$work/strongroom.identity
rc=0
"$sr_bin" keygen -o "$sr_id" >"$work/keygen.out" 2>"$work/cmd.err" || rc=$?
((rc == 0)) || fail_cmd "strongroom keygen -o" "$rc" "$work/cmd.err" "$sr_bin" keygen -o "$sr_id"
sr_pub=$(grep -m 1 '^srpub1:' "$work/keygen.out" || true)
[[ -n $sr_pub ]] || die "strongroom keygen -o printed no 'srpub1:' public key on stdout"
[[ -s $sr_id ]] || die "strongroom keygen -o did not write $sr_id"
rc=0
"$sr_bin" keygen -y "$sr_id" >"$work/keygen.out" 2>"$work/cmd.err" || rc=$?
((rc == 0)) || fail_cmd "strongroom keygen -y" "$rc" "$work/cmd.err" "$sr_bin" keygen -y "$sr_id"
sr_pub_again=$(grep -m 1 '^srpub1:' "$work/keygen.out" || true)
[[ $sr_pub_again == "$sr_pub" ]] ||
  die "strongroom keygen -y printed '$sr_pub_again' but keygen -o printed '$sr_pub'"

# age
age_key=$work/age.key
run "age-keygen -o" age-keygen -o "$age_key"
age_pub=$(age-keygen -y "$age_key")

# gpg: a throwaway home with one key without a passphrase.
export GNUPGHOME=$work/gnupg
mkdir -m 700 "$GNUPGHOME"
run "gpg --quick-gen-key" gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
  --quick-gen-key 'Strongroom Bench <bench@strongroom.invalid>' default default never
gpg_fpr=$(gpg --batch --quiet --with-colons --list-keys bench@strongroom.invalid 2>/dev/null |
  awk -F: '$1 == "fpr" { print $10; exit }')
[[ -n $gpg_fpr ]] || die "gpg key generation produced no fingerprint"

declare -A ct_bytes=()
for tool in "${tools[@]}"; do
  ct=$work/ciphertext.$tool
  cmd_encrypt "$tool" "$ct"
  run "$tool encrypt (setup)" "${CMD[@]}"
  [[ -s $ct ]] || die "$tool encrypt wrote no ciphertext"
  ct_bytes[$tool]=$(stat -c %s "$ct")
  ((ct_bytes[$tool] >= bytes)) || die "$tool ciphertext (${ct_bytes[$tool]} bytes) is shorter than the input"
  ! cmp -s "$input" "$ct" || die "$tool ciphertext equals the input"
  rm -f -- "$out"
  cmd_decrypt "$tool" "$out"
  run "$tool decrypt (verification)" "${CMD[@]}"
  cmp -s "$input" "$out" || die "$tool round trip FAILED: the decrypted output differs from the input"
  rm -f -- "$out"
  printf '  %-10s round trip verified, ciphertext overhead %s bytes\n' "$tool" "$((ct_bytes[$tool] - bytes))"
done
echo

# --- Measurements ------------------------------------------------------------------------------
# Interleaved: each repetition runs every measurement once, so a transient disturbance hits one
# repetition of everything rather than every repetition of one tool.
for ((rep = 1; rep <= reps; rep++)); do
  printf 'Repetition %s/%s: openssl speed' "$rep" "$reps"
  v=$(openssl_bps -evp aes-256-gcm -bytes 16384 "${ossl_time_args[@]}")
  if ((v > best_ossl_single)); then best_ossl_single=$v; fi
  v=$(openssl_bps -evp aes-256-gcm -bytes 16384 "${ossl_time_args[@]}" -multi "$ncpu")
  if ((v > best_ossl_multi)); then best_ossl_multi=$v; fi
  printf ', file ceiling'
  for m in "${ceiling_modes[@]}"; do
    rc=0
    v=$("$file_ceiling_bin" "$input" "$ncpu" "$m" 2>"$work/cmd.err") || rc=$?
    ((rc == 0)) || fail_cmd "aes_file_ceiling ($m)" "$rc" "$work/cmd.err" "$file_ceiling_bin" "$input" "$ncpu" "$m"
    if ((v > best_ceiling[$m])); then best_ceiling[$m]=$v; fi
  done
  for sink in "${sinks[@]}"; do
    for op in "${ops[@]}"; do
      printf ', %s>%s' "$op" "$sink"
      for tool in "${tools[@]}"; do
        dst=/dev/null
        if [[ $sink == file ]]; then
          dst=$out
          rm -f -- "$out" # each run allocates its output afresh
        fi
        "cmd_$op" "$tool" "$dst"
        timed "$tool $op $sink" "${CMD[@]}"
        if [[ $sink == file && $op == decrypt ]]; then
          cmp -s "$input" "$out" || die "$tool decrypt to $out: output differs from the input"
        fi
      done
    done
  done
  rm -f -- "$out"
  echo
done
echo

# --- Report ------------------------------------------------------------------------------------
ceil_single_mbps=$(awk -v v="$best_ossl_single" 'BEGIN { printf "%.1f", v / 1e6 }')
ceil_multi_mbps=$(awk -v v="$best_ossl_multi" 'BEGIN { printf "%.1f", v / 1e6 }')
printf 'AES-256-GCM ceiling: openssl speed -evp aes-256-gcm -bytes 16384%s (best of %s)\n' \
  "${ossl_time_args[*]:+ ${ossl_time_args[*]}}" "$reps"
printf '  %-28s %10s MB/s\n' "single core" "$ceil_single_mbps"
printf '  %-28s %10s MB/s\n' "all cores (-multi $ncpu)" "$ceil_multi_mbps"
declare -A ceiling_mbps=()
for m in "${ceiling_modes[@]}"; do
  ceiling_mbps[$m]=$(awk -v v="${best_ceiling[$m]}" 'BEGIN { printf "%.1f", v / 1e6 }')
done
file_ceil_mbps=${ceiling_mbps[file]}
# Each core reads its share and ciphers it one after the other: the two costs add up.
series_mbps=$(awk -v r="${ceiling_mbps[read]}" -v a="${ceiling_mbps[memory]}" \
  'BEGIN { printf "%.1f", 1 / (1 / r + 1 / a) }')
series_pct=$(awk -v s="$series_mbps" -v c="$ceil_multi_mbps" 'BEGIN { printf "%.1f", 100 * s / c }')
printf '  %-28s %10s MB/s   (pread + AES-256-GCM of this file, no format: bench/aes_file_ceiling)\n' \
  "practical, all cores" "$file_ceil_mbps"
printf '    %-26s %10s MB/s   (the preads alone, no cipher)\n' "reading the file" "${ceiling_mbps[read]}"
printf '    %-26s %10s MB/s   (the same bytes already in anonymous memory)\n' "AES-256-GCM over memory" "${ceiling_mbps[memory]}"
printf '    %-26s %10s MB/s   (= %s%% of the all-core ceiling: 1 / (1/read + 1/memory))\n' \
  "both, in series per core" "$series_mbps" "$series_pct"
printf '    %-26s %10s MB/s   (no page-cache copy; the kernel maps each page instead)\n' \
  "AES-256-GCM from mmap" "${ceiling_mbps[mmap]}"
ceiling_note=''
if ((ncpu > 1 && best_ossl_multi < best_ossl_single * 3 / 2)); then
  ceiling_note=' [UNRELIABLE: all-core ceiling depressed by other load]'
  warn "the all-core ceiling is under 1.5x the single-core one: other processes were using the cores"
fi
echo

declare -A mbps_of=()
for sink in "${sinks[@]}"; do
  if [[ $sink == null ]]; then
    printf 'Output to /dev/null (the crypto alone; the targets are judged on these)\n'
  else
    printf 'Output to a file in %s (adds tmpfs page allocation; reported, not judged)\n' "$shm"
  fi
  printf '  %-10s %-7s %9s %10s %11s %6s %8s %8s %9s\n' \
    tool op seconds MB/s "peak RSS" CPU "vs age" "vs gpg" "% ceiling"
  for op in "${ops[@]}"; do
    for tool in "${tools[@]}"; do
      key="$tool $op $sink"
      mbps_of[$key]=$(mbps "${best_us[$key]}")
    done
    for tool in "${tools[@]}"; do
      key="$tool $op $sink"
      vs_age=- vs_gpg=-
      if [[ $tool == strongroom ]]; then
        vs_age="$(ratio "${mbps_of[$key]}" "${mbps_of[age $op $sink]}")x"
        vs_gpg="$(ratio "${mbps_of[$key]}" "${mbps_of[gpg $op $sink]}")x"
      fi
      pct=$(awk -v a="${mbps_of[$key]}" -v c="$ceil_multi_mbps" 'BEGIN { printf "%.1f%%", 100 * a / c }')
      printf '  %-10s %-7s %9s %10s %11s %6s %8s %8s %9s\n' "$tool" "$op" \
        "$(secs "${best_us[$key]}")" "${mbps_of[$key]}" "$(mib "${max_rss[$key]}")" \
        "${best_cpu[$key]}" "$vs_age" "$vs_gpg" "$pct"
    done
  done
  echo
done

sr_rss=0
for sink in "${sinks[@]}"; do
  for op in "${ops[@]}"; do
    m=${max_rss[strongroom $op $sink]}
    if ((m > sr_rss)); then sr_rss=$m; fi
  done
done

printf 'Reference (from the issue, this 2-core machine idle): AES-256-GCM ~3500 MB/s per core;\n'
printf '  1 GiB to /dev/null: age 0.63 s encrypt / 0.88 s decrypt, gpg 2.2 s / 1.0 s.\n'
printf '  Peers or ceiling far below these mean the machine was busy: rerun on an idle machine.\n'
echo

if ((smoke)); then
  printf 'Smoke mode: every tool ran end to end and every round trip verified; targets not judged.\n'
  printf '  (strongroom peak RSS over all runs: %s)\n' "$(mib "$sr_rss")"
  exit 0
fi

misses=0
total=0

printf 'Targets (output to /dev/null, %s MiB, best of %s)\n' "$size_mib" "$reps"
for op in "${ops[@]}"; do
  key="strongroom $op null"
  pct=$(awk -v a="${mbps_of[$key]}" -v c="$ceil_multi_mbps" 'BEGIN { printf "%.1f", 100 * a / c }')
  verdict "$(ge "$pct" "$TARGET_CEILING_PCT")" \
    "strongroom $op: ${mbps_of[$key]} MB/s = $pct% of the all-core AES-256-GCM ceiling ($ceil_multi_mbps MB/s); target >= $TARGET_CEILING_PCT%$ceiling_note"
done
for peer in age gpg; do
  for op in "${ops[@]}"; do
    r=$(ratio "${mbps_of[strongroom $op null]}" "${mbps_of[$peer $op null]}")
    verdict "$(ge "$r" "$TARGET_PEER_RATIO")" \
      "strongroom $op vs $peer: ${r}x (${mbps_of[strongroom $op null]} vs ${mbps_of[$peer $op null]} MB/s); target >= ${TARGET_PEER_RATIO}x"
  done
done
for op in "${ops[@]}"; do
  pct=$(awk -v a="${mbps_of[strongroom $op null]}" -v c="$file_ceil_mbps" 'BEGIN { printf "%.1f", 100 * a / c }')
  printf '  info  strongroom %s: %s%% of the practical ceiling (%s MB/s: reading this file and AES-GCM alone)\n' \
    "$op" "$pct" "$file_ceil_mbps"
done
best_reader_mbps=$(awk -v a="$file_ceil_mbps" -v b="${ceiling_mbps[mmap]}" 'BEGIN { printf "%.1f", (a + 0 > b + 0) ? a : b }')
printf '  info  the fastest bare reader of this file (pread or mmap, no format) reached %s%% of the all-core ceiling; reading and the cipher in series bound it at %s%%\n' \
  "$(awk -v a="$best_reader_mbps" -v c="$ceil_multi_mbps" 'BEGIN { printf "%.1f", 100 * a / c }')" "$series_pct"
verdict "$(ge "$TARGET_RSS_MIB" "$(awk -v k="$sr_rss" 'BEGIN { print k / 1024 }')")" \
  "strongroom peak RSS: $(mib "$sr_rss") (highest of every strongroom run); target <= $TARGET_RSS_MIB MiB"
echo
if ((misses)); then
  printf '%sRESULT: %s of %s targets MISSED (see the MISS lines above)%s\n' "$color_on" "$misses" "$total" "$color_off"
else
  printf 'RESULT: all %s targets PASS\n' "$total"
fi
exit 0

# shellcheck shell=bash
# Shared helpers of the bench/*.sh scripts, sourced after setting PROG (the script's name for
# messages). Named .bash so that scripts/run-benchmarks, which runs every bench/*.sh, does not
# take it for a benchmark. It sets $total, $misses and the colours, and changes no shell option.
#
#   die MESSAGE...          prints "PROG: error: MESSAGE" and exits 1
#   warn MESSAGE...         prints "PROG: warning: MESSAGE"
#   wait_for_line F RE S    waits up to S seconds for a line of file F matching the ERE RE;
#                           prints it (status 1 on timeout)
#   pick_port               prints a loopback TCP port nothing answers on (for servers that
#                           cannot report a kernel-chosen port; racy in theory, and a clash
#                           makes that server fail to start, which the caller reports)
#   verdict OK DESCRIPTION  prints one PASS/MISS line (MISS in red on a terminal) and counts
#                           them in $total and $misses ($color_on/$color_off: red on a terminal)
#   ge A B, lt A B          print 1 when A >= B (A < B) as decimal numbers, else 0

die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }

wait_for_line() {
  local file=$1 re=$2 secs=$3 line i
  for ((i = 0; i < secs * 10; i++)); do
    line=$(grep -m 1 -E "$re" "$file" 2>/dev/null || true)
    if [[ -n $line ]]; then
      printf '%s\n' "$line"
      return 0
    fi
    sleep 0.1
  done
  return 1
}

pick_port() {
  local p _
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      printf '%s\n' "$p"
      return 0
    fi
  done
  return 1
}

total=0 misses=0 color_on='' color_off=''
if [[ -t 1 ]]; then
  color_on=$'\e[1;31m'
  color_off=$'\e[0m'
fi
verdict() {
  local ok=$1 desc=$2
  total=$((total + 1))
  if ((ok)); then
    printf '  PASS  %s\n' "$desc"
  else
    misses=$((misses + 1))
    printf '%s  MISS  %s   <<<<<<<<<< MISSED%s\n' "$color_on" "$desc" "$color_off"
  fi
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }' && echo 1 || echo 0; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }' && echo 1 || echo 0; }

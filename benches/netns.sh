#!/usr/bin/env bash
# tcpstat with many small network namespaces, as a container host has them (issue 13). Run as
# root on Linux, from a clone of the repository:
#
#   benches/netns.sh                 # 100 namespaces x 251 sockets, 5 rounds
#   benches/netns.sh --count 200 --conns 125 --runs 7
#   benches/netns.sh --bin /path/to/other/tcpstat   # the same, timing another build
#
# Every namespace's socket dump walks the kernel's whole established hash (262,144 buckets
# here, shared by all namespaces unless net.ipv4.tcp_child_ehash_entries was set when they
# were made), so each costs ~10-20 ms however few sockets it holds. It creates COUNT named
# namespaces (tcpstat-nsb-K), each with a holder (`tablegen hold`) of CONNS loopback
# connections (2 CONNS + 1 sockets), then, round after round:
#
# - `tcpstat summary --all-netns` (and `ports`, `list --ndjson` with --all-netns): CPU time
#   (user + system, from wait4: `tablegen time`) and wall time;
# - the reference: `tcpstat list --ndjson --netns tcpstat-nsb-1` (one legacy sock_diag dump
#   of every state, bound-only included, and 251 rows), minus the cost of starting tcpstat
#   (`tcpstat --version`), per namespace;
#
# and prints medians and the ratio "CPU per namespace / one legacy dump" (target <= 1.1).
# Namespaces and holders are removed on exit, Ctrl-C or error.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
COUNT=100
CONNS=125
RUNS=5
BIN=
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --count) COUNT=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "netns.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "netns.sh: must run as root" >&2; exit 1; }

(cd "$ROOT" && cargo build --release --quiet --bin tcpstat --example tablegen)
TCPSTAT=${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/tcpstat}
TABLEGEN=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/tablegen
WORK=$(mktemp -d)
PIDS=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for k in $(seq 1 "$COUNT"); do ip netns del "tcpstat-nsb-$k" 2>/dev/null || true; done
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT INT TERM

echo "making $COUNT namespaces of $((2 * CONNS + 1)) sockets" >&2
for k in $(seq 1 "$COUNT"); do
  ns=tcpstat-nsb-$k
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  mkfifo "$WORK/in$k"
  # The holder keeps its sockets until its stdin (a FIFO held open by sleep) closes.
  sleep infinity >"$WORK/in$k" &
  PIDS+=($!)
  ip netns exec "$ns" "$TABLEGEN" hold --conns "$CONNS" <"$WORK/in$k" >"$WORK/out$k" &
  PIDS+=($!)
done
for k in $(seq 1 "$COUNT"); do
  until grep -q READY "$WORK/out$k" 2>/dev/null; do sleep 0.05; done
done

# cpu_and_wall CMD...: "<user+sys seconds> <wall seconds>" of one run (from wait4, in
# microseconds), output discarded.
cpu_and_wall() {
  local wall rss status cpu
  read -r wall rss status cpu < <("$TABLEGEN" time --netns "/proc/$$/ns/net" --timeout 120 -- "$@")
  echo "$cpu $wall"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A CPU WALL
CMDS=(summary ports list start one)
for r in $(seq 1 "$RUNS"); do
  for id in "${CMDS[@]}"; do
    case $id in
      summary) set -- "$TCPSTAT" summary --all-netns ;;
      ports) set -- "$TCPSTAT" ports --all-netns ;;
      list) set -- "$TCPSTAT" list --ndjson --all-netns ;;
      start) set -- "$TCPSTAT" --version ;;
      one) set -- "$TCPSTAT" list --ndjson --netns tcpstat-nsb-1 ;;
    esac
    read -r cpu wall < <(cpu_and_wall "$@")
    CPU[$id]+="$cpu "
    WALL[$id]+="$wall "
  done
done

namespaces=$("$TCPSTAT" summary --all-netns --json 2>/dev/null | grep -o '"label"' | wc -l)
start=$(echo "${CPU[start]}" | tr ' ' '\n' | grep . | median)
one=$(echo "${CPU[one]}" | tr ' ' '\n' | grep . | median)
dump=$(awk -v a="$one" -v b="$start" 'BEGIN { d = a - b; if (d <= 0) d = a; printf "%.4f", d }')
echo
echo "namespaces read: $namespaces ($COUNT made here, $((2 * CONNS + 1)) sockets each); $RUNS rounds, medians"
echo "one legacy dump of one namespace: $(printf '%.1f' "$(awk -v d="$dump" 'BEGIN { print d * 1000 }')") ms CPU (list --ndjson --netns, minus start-up $(awk -v s="$start" 'BEGIN { printf "%.1f", s * 1000 }') ms)"
printf '%-28s %10s %10s %14s %8s\n' command "CPU s" "wall s" "CPU/namespace" ratio
for id in summary ports list; do
  cpu=$(echo "${CPU[$id]}" | tr ' ' '\n' | grep . | median)
  wall=$(echo "${WALL[$id]}" | tr ' ' '\n' | grep . | median)
  per=$(awk -v c="$cpu" -v n="$namespaces" 'BEGIN { printf "%.2f", c * 1000 / n }')
  ratio=$(awk -v c="$cpu" -v n="$namespaces" -v d="$dump" 'BEGIN { printf "%.2f", (c / n) / d }')
  printf '%-28s %10s %10s %11s ms %8s\n' "$id --all-netns" "$cpu" "$wall" "$per" "$ratio"
done

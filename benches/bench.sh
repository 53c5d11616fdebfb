#!/usr/bin/env bash
# tcpstat performance harness (issue 6). Run as root on Linux, from a clone of the repository:
#
#   benches/bench.sh                        # quick: N = 10k and 100k, 5 rounds
#   benches/bench.sh --sizes 10k,100k,500k,1M
#   benches/bench.sh --cleanup              # undo whatever a killed run left behind
#
# For each N it builds a private network namespace ("srv") holding N TCP sockets - about 60%
# ESTABLISHED, 25% TIME_WAIT, 10% CLOSE_WAIT, 5% LISTEN, 10% of them IPv6, spread over
# N/20 listening ports - whose peers live in a second namespace ("peer") behind a veth pair
# (examples/tablegen.rs builds them; see there for how each state is made to last). It then
# times tcpstat against ss, netstat and lsof inside "srv", alternating the commands round by
# round, and prints medians, ranges, time per socket, peak RSS and the ratios of issue 6.
# Raw results go to --out (default target/bench/<date>); the Markdown report to report.md there.
#
# Options:
#   --sizes LIST     comma-separated N (10k, 100k, 500k, 1M, or plain numbers); default 10k,100k
#   --runs R         timed rounds per size (default 5); the median is reported
#   --bound SECS     per-run time limit (default 200); a command that hits it is reported as
#                    ">= SECS" and not run again at that size (ss -tanp takes ~344 s at 1M)
#   --bound-of LIST  per-command limits overriding --bound, e.g. ss-p=400,netstat-p=120
#   --slow SECS      a command whose run took longer than this is not repeated at that size
#                    (default 60): its one run is the result
#   --v6 PCT         share of IPv6 sockets (default 10)
#   --only IDS       comma-separated command ids to time (default: all; see COMMANDS below)
#   --baseline BIN   also time another tcpstat build (an older commit's release binary) on the
#                    same table, in the same rounds: ids summary@base, list@base, procs@base,
#                    list-p@base, watch@base, doctor@base, health@base (before/after figures of a change)
#   --netns COUNT    afterwards, the many-namespaces case: benches/netns.sh with COUNT namespaces
#                    of 251 sockets (100 is a container host's scale), with --runs rounds and the
#                    --baseline build timed the same way; its report is appended to report.md
#   --out DIR        where results go
#   --hold N         build the table for one size and keep it (no timing) until Ctrl-C or
#                    SIGTERM, for profiling: ip netns exec tcpstat-bench-srv perf record ...
#   --cleanup        only undo a previous run (namespaces, sysctls, holder processes)
#
# What it changes, and restores on exit, Ctrl-C or error (trap): the global sysctls
# net.ipv4.tcp_mem and net.ipv4.tcp_max_orphans (1M sockets need more than the defaults),
# net.core.netdev_max_backlog (the veth between the namespaces delivers through the per-CPU
# backlog, 1000 packets by default: the peers' FIN retransmissions that keep TIME_WAIT alive
# come in timer-wheel bursts; at 500k about half the packets from the peer were dropped and
# some TIME_WAIT sockets expired during the timings), and net.ipv4.tcp_child_ehash_entries
# for the moment the namespaces are created (so they get a private established-hash as big
# as the host's: a million sockets then do not slow down everybody else's socket dumps). Everything else is set inside the two namespaces, which are
# deleted afterwards, with their sockets; the holder processes are killed. The saved values live
# in /run/tcpstat-bench.state until restored, so `--cleanup` can finish the job after a kill -9.
#
# Needs: iproute2 (ip, ss), nftables, net-tools (netstat), lsof, cargo. Installs the missing
# packages with apt-get when it can.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZES=10k,100k
RUNS=5
BOUND=200
declare -A BOUND_OF=()
BOUND_OF_ARG=
SLOW=60
SLEEPER=
V6=10
ONLY=
BASELINE=
OUT=
NETNS_COUNT=
CLEANUP_ONLY=
HOLD=
STATE=/run/tcpstat-bench.state
SRV=tcpstat-bench-srv
PEER=tcpstat-bench-peer

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "bench: $*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --bound) BOUND=$2; shift 2 ;;
    --bound-of) BOUND_OF_ARG=$2; shift 2 ;;
    --slow) SLOW=$2; shift 2 ;;
    --v6) V6=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --baseline) BASELINE=$2; shift 2 ;;
    --netns) NETNS_COUNT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --hold) HOLD=$2; shift 2 ;;
    --cleanup) CLEANUP_ONLY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument $1" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "must run as root (it creates network namespaces)"
if [ -n "$BOUND_OF_ARG" ]; then
  IFS=, read -ra pairs <<<"$BOUND_OF_ARG"
  for pair in "${pairs[@]}"; do
    [[ "$pair" == *=* ]] || die "--bound-of: expected ID=SECS, got $pair"
    BOUND_OF[${pair%%=*}]=${pair#*=}
  done
fi

# ---------------------------------------------------------------------------------------------
# Setup and teardown. Every step is idempotent, so cleanup can run at any point.

BUILDER=
GLOBAL_SYSCTLS="net.ipv4.tcp_mem net.ipv4.tcp_max_orphans net.core.netdev_max_backlog net.ipv4.tcp_child_ehash_entries"

save_sysctls() {
  [ -e "$STATE" ] && die "$STATE exists: another run is active, or one was killed (run $0 --cleanup)"
  { echo "pid $$"; for k in $GLOBAL_SYSCTLS; do echo "sysctl $k $(sysctl -n "$k" | tr '\t' ' ')"; done; } >"$STATE.tmp"
  mv "$STATE.tmp" "$STATE"
}

restore_sysctls() {
  [ -e "$STATE" ] || return 0
  while read -r kind key value; do
    [ "$kind" = sysctl ] && sysctl -q -w "$key=$value" >/dev/null
  done <"$STATE"
  rm -f "$STATE"
}

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

# Kills the holders, lets the server sockets die, destroys the peer's LAST_ACK orphans and
# deletes both namespaces.
teardown_namespaces() {
  if ns_exists "$PEER"; then
    # Let RSTs and ACKs through again: closing the server ends now gets them reset at once.
    ip netns exec "$PEER" nft delete table inet tcpstat_bench 2>/dev/null || true
  fi
  if [ -n "$BUILDER" ] && kill -0 "$BUILDER" 2>/dev/null; then
    kill -TERM "$BUILDER" 2>/dev/null || true
    wait "$BUILDER" 2>/dev/null || true
  fi
  BUILDER=
  # Holders left by a killed run (they die with their builder, but make sure).
  local pids
  pids=$(pgrep -x tablegen || true)
  for pid in $pids; do
    local link; link=$(readlink "/proc/$pid/ns/net" 2>/dev/null) || continue
    if [ "$link" = "$(ns_link "$SRV")" ] ||
       [ "$link" = "$(ns_link "$PEER")" ]; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  local ns left i
  for ns in "$PEER" "$SRV"; do
    ns_exists "$ns" || continue
    # Orphans (sockets without a process) keep a namespace alive after `ip netns del`;
    # destroy them (SOCK_DESTROY) and wait until none is left.
    for i in $(seq 1 60); do
      ip netns exec "$ns" ss -K -tan >/dev/null 2>&1 || true
      left=$(ip netns exec "$ns" ss -tanH state all exclude time-wait 2>/dev/null | wc -l)
      [ "$left" = 0 ] && break
      sleep 1
    done
    [ "$left" = 0 ] || say "warning: $left sockets still in $ns"
    ip netns del "$ns"
  done
}

ns_link() { local i; i=$(stat -L -c %i "/run/netns/$1" 2>/dev/null) && echo "net:[$i]"; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  [ -n "$SLEEPER" ] && kill "$SLEEPER" 2>/dev/null
  teardown_namespaces
  restore_sysctls
  if [ -n "${BASE_ORPHANS:-}" ]; then
    say "after cleanup: $(grep '^TCP:' /proc/net/sockstat) (before: $BASE_SOCKSTAT)"
  fi
  exit "$rc"
}

if [ -n "$CLEANUP_ONLY" ]; then
  BUILDER=
  teardown_namespaces
  restore_sysctls
  say "clean: no namespaces, sysctls restored"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# Tools.

need_pkgs=()
command -v ip >/dev/null || need_pkgs+=(iproute2)
command -v nft >/dev/null || need_pkgs+=(nftables)
command -v netstat >/dev/null || need_pkgs+=(net-tools)
command -v lsof >/dev/null || need_pkgs+=(lsof)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "missing: ${need_pkgs[*]}"
  say "installing ${need_pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

say "building tcpstat and tablegen (release)"
(cd "$ROOT" && cargo build --release --quiet --bin tcpstat --example tablegen)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
TCPSTAT=$TARGET_DIR/release/tcpstat
TABLEGEN=$TARGET_DIR/release/examples/tablegen
[ -x "$TCPSTAT" ] && [ -x "$TABLEGEN" ] || die "build products not found under $TARGET_DIR"

OUT=${OUT:-$TARGET_DIR/bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
RESULTS=$OUT/results.tsv
: >"$RESULTS"

# Command ids and command lines.
COMMANDS=(
  "summary|$TCPSTAT summary"
  "summary-proc|$TCPSTAT summary --source proc"
  "list|$TCPSTAT list"
  "list-ndjson|$TCPSTAT list --ndjson"
  "procs|$TCPSTAT procs"
  "workloads|$TCPSTAT workloads"
  "list-i|$TCPSTAT list -i"
  "health|$TCPSTAT health"
  "doctor|$TCPSTAT doctor"
  "list-p|$TCPSTAT list -p"
  "watch|$TCPSTAT watch --state CLOSE_WAIT --count 1"
  "ss|ss -tan"
  "ss-cw|ss -tan state close-wait"
  "ss-p|ss -tanp"
  "ss-i|ss -tin"
  "netstat|netstat -tan"
  "netstat-p|netstat -tanp"
  "lsof|lsof -nP -iTCP"
)
if [ -n "$BASELINE" ]; then
  [ -x "$BASELINE" ] || die "--baseline: $BASELINE is not an executable"
  BASELINE=$(cd "$(dirname "$BASELINE")" && pwd)/$(basename "$BASELINE")
  COMMANDS+=(
    "summary@base|$BASELINE summary"
    "list@base|$BASELINE list"
    "procs@base|$BASELINE procs"
    "list-p@base|$BASELINE list -p"
    "watch@base|$BASELINE watch --state CLOSE_WAIT --count 1"
    "doctor@base|$BASELINE doctor"
    "health@base|$BASELINE health"
  )
fi
if [ -n "$ONLY" ]; then
  kept=()
  for c in "${COMMANDS[@]}"; do
    case ",$ONLY," in *",${c%%|*},"*) kept+=("$c") ;; esac
  done
  COMMANDS=("${kept[@]}")
fi
for c in "${COMMANDS[@]}"; do
  printf 'cmd\t%s\t%s\n' "${c%%|*}" "$(echo "${c#*|}" | sed "s|$TARGET_DIR/release/||")" >>"$RESULTS"
done

parse_size() {
  case "$1" in
    *[kK]) echo $(( ${1%?} * 1000 )) ;;
    *[mM]) echo $(( ${1%?} * 1000000 )) ;;
    *) echo "$1" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# One size.

sysctl_ns() { ip netns exec "$1" sysctl -q -w "$2" >/dev/null; }

make_namespaces() {
  local n=$1 ehash
  ehash=$(sysctl -n net.ipv4.tcp_ehash_entries | tr -d -)
  sysctl -q -w net.ipv4.tcp_child_ehash_entries="$ehash" >/dev/null
  ip netns add "$SRV"
  ip netns add "$PEER"
  sysctl -q -w net.ipv4.tcp_child_ehash_entries="$(awk '$2=="net.ipv4.tcp_child_ehash_entries"{print $3}' "$STATE")" >/dev/null
  local ns
  for ns in "$SRV" "$PEER"; do
    ip -n "$ns" link set lo up
    sysctl_ns "$ns" net.ipv6.conf.default.accept_dad=0
    sysctl_ns "$ns" net.ipv4.ip_nonlocal_bind=1
    sysctl_ns "$ns" net.ipv6.ip_nonlocal_bind=1
    sysctl_ns "$ns" net.core.somaxconn=65535
    sysctl_ns "$ns" net.ipv4.tcp_max_syn_backlog=65535
    sysctl_ns "$ns" net.ipv4.tcp_max_tw_buckets=$(( 2 * n + 1000 ))
  done
  # Server: TIME_WAIT sockets ignore stray RSTs (RFC 1337) rather than die early.
  sysctl_ns "$SRV" net.ipv4.tcp_rfc1337=1
  # Peer: re-send the FIN of LAST_ACK orphans at least every 45 s (< the 60 s TIME_WAIT timer
  # it re-arms on the server) and for hours (orphan retries are a time budget).
  sysctl_ns "$PEER" net.ipv4.tcp_rto_max_ms=45000
  sysctl_ns "$PEER" net.ipv4.tcp_orphan_retries=200
  ip link add vb-srv netns "$SRV" type veth peer name vb-peer netns "$PEER"
  ip -n "$SRV" addr add 10.255.0.1/30 dev vb-srv
  ip -n "$PEER" addr add 10.255.0.2/30 dev vb-peer
  ip -n "$SRV" -6 addr add fd00:ff::1/64 dev vb-srv nodad
  ip -n "$PEER" -6 addr add fd00:ff::2/64 dev vb-peer nodad
  ip -n "$SRV" link set vb-srv up
  ip -n "$PEER" link set vb-peer up
  # Servers on any address of 10.1/16 and fd00:1::/64, clients on 10.2/16 and fd00:2::/64
  # ("AnyIP" local routes), each side reaching the other through one gateway neighbour.
  ip -n "$SRV" route add local 10.1.0.0/16 dev lo
  ip -n "$SRV" -6 route add local fd00:1::/64 dev lo
  ip -n "$SRV" route add 10.2.0.0/16 via 10.255.0.2
  ip -n "$SRV" -6 route add fd00:2::/64 via fd00:ff::2
  ip -n "$PEER" route add local 10.2.0.0/16 dev lo
  ip -n "$PEER" -6 route add local fd00:2::/64 dev lo
  ip -n "$PEER" route add 10.1.0.0/16 via 10.255.0.1
  ip -n "$PEER" -6 route add fd00:1::/64 via fd00:ff::1
  # The peer never sends an RST (so a peer can vanish without the server end noticing) and
  # never receives a bare ACK (so its LAST_ACK orphans keep re-sending their FIN).
  ip netns exec "$PEER" nft -f - <<'EOF'
table inet tcpstat_bench {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "vb-peer" tcp flags & (fin | syn | rst | ack) == ack drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "vb-peer" tcp flags & rst == rst drop
  }
}
EOF
}

# Per-state counts in the server namespace, by ss (an independent witness).
census() {
  ip netns exec "$SRV" ss -tanH state all | awk '{c[$1]++; t++} END {printf "%d sockets:", t; for (s in c) printf " %s %d", s, c[s]; printf "\n"}'
}

# Packets from the peer that the server side's veth dropped (backlog full), so far.
veth_drops() {
  ip netns exec "$SRV" cat /sys/class/net/vb-srv/statistics/rx_dropped 2>/dev/null || echo '?'
}

run_size() {
  local label=$1 n
  n=$(parse_size "$label")
  say "N=$label: creating namespaces"
  make_namespaces "$n"
  say "N=$label: building $n sockets"
  "$TABLEGEN" build --srv "/run/netns/$SRV" --peer "/run/netns/$PEER" --n "$n" --v6 "$V6" \
    >"$OUT/build-$label.out" 2>"$OUT/build-$label.log" &
  BUILDER=$!
  while ! grep -q '^READY' "$OUT/build-$label.out" 2>/dev/null; do
    kill -0 "$BUILDER" 2>/dev/null || { cat "$OUT/build-$label.log" >&2; die "the builder failed"; }
    sleep 0.5
  done
  say "N=$label: $(cat "$OUT/build-$label.out")"
  local before after
  before=$(census)
  say "N=$label: ss counts $before (veth drops while building: $(veth_drops))"
  printf 'size\t%s\t%s\n' "$n" "ss before timing: $before" >>"$RESULTS"
  if [ -n "$HOLD" ]; then
    say "N=$label: holding; enter with: ip netns exec $SRV <command>; Ctrl-C or kill $$ to tear down"
    sleep infinity &
    SLEEPER=$!
    wait $SLEEPER
  fi

  local -A done_ids=()
  local round i k id cmd line wall rss status cpu bound
  local count=${#COMMANDS[@]}
  for round in $(seq 1 "$RUNS"); do
    say "N=$label: round $round/$RUNS"
    for i in $(seq 0 $((count - 1))); do
      # Rotate the order every round so no command always runs first (or right after another).
      k=$(( (i + round - 1) % count ))
      id=${COMMANDS[$k]%%|*}
      cmd=${COMMANDS[$k]#*|}
      [ -n "${done_ids[$id]:-}" ] && continue
      bound=${BOUND_OF[$id]:-$BOUND}
      # shellcheck disable=SC2086 # the command line is split on purpose
      line=$("$TABLEGEN" time --netns "/run/netns/$SRV" --timeout "$bound" \
        --stderr "$OUT/stderr-$label.log" -- $cmd)
      read -r wall rss status cpu <<<"$line"
      printf 'run\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$id" "$round" "$wall" "$rss" "$status" "$bound" "$cpu" >>"$RESULTS"
      printf '  %-13s %10ss %8s KiB  %-8s cpu %ss\n' "$id" "$wall" "$rss" "$status" "$cpu" >&2
      if [ "$status" = timeout ] || awk -v w="$wall" -v s="$SLOW" 'BEGIN{exit !(w > s)}'; then
        done_ids[$id]=1
      fi
    done
  done
  after=$(census)
  say "N=$label: ss counts after timing $after (veth drops in all: $(veth_drops))"
  printf 'size\t%s\t%s\n' "$n" "ss before timing: $before; after: $after" >>"$RESULTS"
  say "N=$label: tearing down"
  teardown_namespaces
}

# ---------------------------------------------------------------------------------------------

BASE_SOCKSTAT=$(grep '^TCP:' /proc/net/sockstat)
BASE_ORPHANS=$(awk '/^TCP:/{print $5}' /proc/net/sockstat)
save_sysctls
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# Room for a million sockets and a quarter million orphans (in pages / sockets).
sysctl -q -w net.ipv4.tcp_mem="4194304 6291456 8388608" >/dev/null
sysctl -q -w net.ipv4.tcp_max_orphans=4194304 >/dev/null
# Room in the per-CPU receive backlog for bursts of a quarter million FINs (global: not per netns).
sysctl -q -w net.core.netdev_max_backlog=262144 >/dev/null
ns_exists "$SRV" && die "namespace $SRV exists already (run $0 --cleanup)"

{
  echo "# command: benches/bench.sh --sizes ${HOLD:-$SIZES} --runs $RUNS --bound $BOUND${BOUND_OF_ARG:+ --bound-of $BOUND_OF_ARG} --slow $SLOW --v6 $V6${ONLY:+ --only $ONLY}"
  echo "# machine: $(uname -srm); $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')); $(free -g | awk '/^Mem:/{print $2}') GiB RAM"
  echo "# tools: $(ss -V 2>&1 | head -1); netstat $(netstat -V 2>&1 | awk 'NR==1{print $2}'); lsof $(lsof -v 2>&1 | awk '/^ *revision/{print $2; exit}'); tcpstat $(cd "$ROOT" && git describe --always --dirty 2>/dev/null)"
} >"$OUT/header.txt"
cat "$OUT/header.txt" >&2

IFS=, read -ra size_list <<<"${HOLD:-$SIZES}"
for s in "${size_list[@]}"; do
  run_size "$s"
done

"$TABLEGEN" report "$RESULTS" >"$OUT/report.md"
if [ -n "$NETNS_COUNT" ] && [ -z "$HOLD" ]; then
  say "many namespaces: $NETNS_COUNT x 251 sockets"
  {
    echo
    echo "## $NETNS_COUNT namespaces x 251 sockets (benches/netns.sh)"
    echo
    echo '```text'
    "$ROOT/benches/netns.sh" --count "$NETNS_COUNT" --runs "$RUNS" 2>&1
    if [ -n "$BASELINE" ]; then
      echo "# baseline: $BASELINE"
      "$ROOT/benches/netns.sh" --count "$NETNS_COUNT" --runs "$RUNS" --bin "$BASELINE" 2>&1
    fi
    echo '```'
  } >>"$OUT/report.md"
fi
{ cat "$OUT/header.txt"; echo; cat "$OUT/report.md"; } >&2
say "results: $OUT/results.tsv, report: $OUT/report.md"

#!/usr/bin/env bash
# Long-run stability: runs `tcpstat watch` for thousands of ticks while a churner opens and
# closes loopback connections, sampling the process's resident memory and open descriptors.
# Memory and descriptors must stay flat. Needs root (a private network namespace keeps the
# churn away from the host) and python3 for the churner.
#
#   benches/soak.sh [TICKS] [INTERVAL]      default: 3000 ticks every 20ms (~1 min)
#
# Prints one sample line per second and a verdict; exits 1 when memory or descriptors grew.
set -euo pipefail
ticks=${1:-3000}
interval=${2:-20ms}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${TCPSTAT:-$here/target/release/tcpstat}
[ -x "$bin" ] || (cd "$here" && cargo build --release --quiet)
[ "$(id -u)" = 0 ] || { echo "soak.sh: needs root (private network namespace)" >&2; exit 2; }

exec unshare --net --fork bash -s "$bin" "$ticks" "$interval" <<'INNER'
set -euo pipefail
bin=$1 ticks=$2 interval=$3
ip link set lo up
# The churner: 50 connections opened, half-closed (CLOSE_WAIT + FIN_WAIT_2), then closed,
# over and over, plus 100 long-lived CLOSE_WAIT sockets whose ages grow.
python3 - <<'PY' &
import socket, time, random
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 8080)); l.listen(1024)
keep = []
for _ in range(100):
    c = socket.create_connection(("127.0.0.1", 8080)); s, _ = l.accept(); c.shutdown(socket.SHUT_WR); keep.append((c, s))
end = time.time() + 3600
while time.time() < end:
    pairs = []
    for _ in range(50):
        c = socket.create_connection(("127.0.0.1", 8080)); s, _ = l.accept(); c.shutdown(socket.SHUT_WR); pairs.append((c, s))
    time.sleep(random.random() / 20)
    for c, s in pairs:
        s.close(); c.close()
PY
churner=$!
trap 'kill $churner 2>/dev/null || true' EXIT
sleep 0.5
"$bin" watch --state close-wait,fin-wait-2,time-wait --interval "$interval" --count "$ticks" --events --json >/dev/null &
pid=$!
printf '%6s %10s %6s %8s\n' "t(s)" "rss(KiB)" "fds" "threads"
samples=()
t=0
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
  thr=$(awk '/^Threads/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  [ -n "$rss" ] && [ "$rss" != 0 ] && { printf '%6d %10s %6s %8s\n' "$t" "$rss" "$fds" "$thr"; samples+=("$rss:$fds"); }
  sleep 1; t=$((t + 1))
done
wait "$pid"
n=${#samples[@]}
[ "$n" -ge 10 ] || { echo "too few samples ($n): raise TICKS"; exit 1; }
# Allocators keep their peak: compare the highest RSS of the second quarter (after warm-up)
# with the highest of the last quarter. Descriptors must not change at all.
peak() { local m=0 i; for ((i = $1; i < $2; i++)); do s=${samples[$i]}; [ "${s%%:*}" -gt "$m" ] && m=${s%%:*}; done; echo "$m"; }
rss0=$(peak $((n / 4)) $((n / 2)))
rss1=$(peak $((n * 3 / 4)) "$n")
fd0=${samples[$((n / 4))]##*:} fd1=${samples[$((n - 1))]##*:}
echo "rss peak ${rss0} KiB (2nd quarter) -> ${rss1} KiB (last quarter); fds ${fd0} -> ${fd1}; ${ticks} ticks in ${t}s"
if [ "$fd1" -gt "$fd0" ] || [ "$rss1" -gt $((rss0 + rss0 / 20 + 256)) ]; then
  echo "GREW"; exit 1
fi
echo "FLAT"
INNER

#!/usr/bin/env bash
# Long-run stability: runs `tcpstat watch` for thousands of ticks, or `tcpstat serve` for
# thousands of scrapes from four concurrent clients, while a churner opens and closes loopback
# connections, sampling the process's resident memory, open descriptors and threads. Memory
# and descriptors must stay flat. Needs root (a private network namespace keeps the churn away
# from the host) and python3 for the churner.
#
#   benches/soak.sh [TICKS] [INTERVAL]      watch: default 3000 ticks every 20ms
#   SOAK=serve benches/soak.sh [SCRAPES]    serve: default 4000 scrapes (/metrics, --processes)
#
# Prints one sample line per second and a verdict; exits 1 when memory or descriptors grew.
set -euo pipefail
ticks=${1:-3000}
interval=${2:-20ms}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${TCPSTAT:-$here/target/release/tcpstat}
[ -x "$bin" ] || (cd "$here" && cargo build --release --quiet)
[ "$(id -u)" = 0 ] || { echo "soak.sh: needs root (private network namespace)" >&2; exit 2; }

exec unshare --net --fork bash -s "$bin" "$ticks" "$interval" "${SOAK:-watch}" <<'INNER'
set -euo pipefail
bin=$1 ticks=$2 interval=$3 mode=$4
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
if [ "$mode" = serve ]; then
  "$bin" serve --listen 127.0.0.1:9555 --processes 2>/dev/null &
  pid=$!
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/9555) 2>/dev/null && break; sleep 0.1; done
  scrape() {
    local i
    for ((i = 0; i < $1; i++)); do
      exec 3<>/dev/tcp/127.0.0.1/9555
      printf 'GET /metrics HTTP/1.1\r\nHost: soak\r\n\r\n' >&3
      cat <&3 >/dev/null
      exec 3<&-
    done
  }
  per=$((ticks / 4))
  scrapers=()
  for _ in 1 2 3 4; do scrape "$per" & scrapers+=($!); done
  alive() { local p; for p in "${scrapers[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
else
  "$bin" watch --state close-wait,fin-wait-2,time-wait --interval "$interval" --count "$ticks" --events --json >/dev/null &
  pid=$!
fi
printf '%6s %10s %6s %8s\n' "t(s)" "rss(KiB)" "fds" "threads"
samples=()
t=0
running() { if [ "$mode" = serve ]; then alive; else kill -0 "$pid" 2>/dev/null; fi; }
while running; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
  thr=$(awk '/^Threads/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  [ -n "$rss" ] && [ "$rss" != 0 ] && { printf '%6d %10s %6s %8s\n' "$t" "$rss" "$fds" "$thr"; samples+=("$rss:$fds"); }
  sleep 1; t=$((t + 1))
done
if [ "$mode" = serve ]; then
  # Idle again: every connection closed, the descriptors must be back where they started.
  sleep 0.5
  samples+=("$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status"):$(ls "/proc/$pid/fd" | wc -l)")
  kill -INT "$pid"
fi
wait "$pid" || true
n=${#samples[@]}
[ "$n" -ge 10 ] || { echo "too few samples ($n): raise TICKS"; exit 1; }
# Allocators keep their peak: compare the highest RSS of the second quarter (after warm-up)
# with the highest of the last quarter. Descriptors at the end (idle) must be what they were
# at the start.
peak() { local m=0 i; for ((i = $1; i < $2; i++)); do s=${samples[$i]}; [ "${s%%:*}" -gt "$m" ] && m=${s%%:*}; done; echo "$m"; }
rss0=$(peak $((n / 4)) $((n / 2)))
rss1=$(peak $((n * 3 / 4)) "$n")
fd0=${samples[0]##*:} fd1=${samples[$((n - 1))]##*:}
echo "rss peak ${rss0} KiB (2nd quarter) -> ${rss1} KiB (last quarter); fds ${fd0} -> ${fd1}; ${ticks} ${mode} iterations in ${t}s"
if [ "$fd1" -gt "$fd0" ] || [ "$rss1" -gt $((rss0 + rss0 / 20 + 256)) ]; then
  echo "GREW"; exit 1
fi
echo "FLAT"
INNER

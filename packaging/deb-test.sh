#!/usr/bin/env bash
# Builds the Debian package with cargo-deb, installs it on this machine, uses what it
# installed (the binary, the man pages, the bash completion, serve and record with the
# packaged default options, as their units run them), then purges it and checks that nothing
# it installed or its units wrote is left behind.
#
# Changes the system: run as root on a throwaway machine (.ci/run does). Refuses to touch an
# installed tcpstat package it did not install. Needs cargo-deb (`cargo install cargo-deb
# --locked`), man-db, bash-completion and curl (installed here with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { printf 'deb-test: FAIL: %s\n' "$*" >&2; exit 1; }
step() { printf '\n-- deb-test: %s\n' "$*"; }

[ "$(id -u)" -eq 0 ] || fail "run as root: it installs and purges a package"
if dpkg-query -W -f='${Status}' tcpstat 2>/dev/null | grep -q installed; then
  fail "a tcpstat package is already installed; this test would replace and purge it"
fi
command -v cargo-deb >/dev/null 2>&1 || fail "cargo-deb is not installed: cargo install cargo-deb --locked"
missing=()
command -v man >/dev/null 2>&1 || missing+=(man-db)
[ -f /usr/share/bash-completion/bash_completion ] || missing+=(bash-completion)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

step "cargo deb"
deb=$(cargo deb --locked 2>/dev/null | tail -n 1)
[ -f "$deb" ] || fail "cargo deb did not name a package file: $deb"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
dpkg-deb --contents "$deb"

step "dpkg -i"
# Whatever happens below, do not leave the package installed.
trap 'dpkg --purge tcpstat >/dev/null 2>&1 || true' EXIT
dpkg -i "$deb"
installed=$(dpkg -L tcpstat)
for f in /usr/bin/tcpstat /usr/share/man/man1/tcpstat.1.gz /usr/share/man/man7/tcpstat-metrics.7.gz \
  /usr/share/bash-completion/completions/tcpstat /usr/share/zsh/vendor-completions/_tcpstat \
  /usr/share/fish/vendor_completions.d/tcpstat.fish /etc/default/tcpstat \
  /usr/lib/systemd/system/tcpstat-serve.service /usr/lib/systemd/system/tcpstat-record.service; do
  grep -qx "$f" <<<"$installed" || fail "$f is not in the package: $installed"
  [ -e "$f" ] || fail "$f was not installed"
done
grep -qx /etc/default/tcpstat /var/lib/dpkg/info/tcpstat.conffiles || fail "/etc/default/tcpstat is not a conffile"

step "systemd units: serve enabled on install, record not"
# The maintainer scripts (cargo-deb's deb-systemd-helper calls) enable without a running
# systemd; starting needs one (/run/systemd/system), which CI does not have.
for s in postinst prerm postrm; do
  [ -x "/var/lib/dpkg/info/tcpstat.$s" ] || fail "no $s maintainer script"
done
wants=/etc/systemd/system/multi-user.target.wants
[ -L "$wants/tcpstat-serve.service" ] || fail "tcpstat-serve.service is not enabled"
[ ! -e "$wants/tcpstat-record.service" ] || fail "tcpstat-record.service is enabled by the package"
if command -v systemd-analyze >/dev/null 2>&1; then
  systemd-analyze verify --man=no /usr/lib/systemd/system/tcpstat-serve.service \
    /usr/lib/systemd/system/tcpstat-record.service || fail "systemd-analyze verify of the installed units"
fi

step "tcpstat summary (the installed binary)"
/usr/bin/tcpstat --version
/usr/bin/tcpstat summary
/usr/bin/tcpstat summary --json | grep -q '"schema_version"' || fail "summary --json"

step "man tcpstat"
MANPAGER=cat MANWIDTH=80 man tcpstat | grep -q 'tcpstat' || fail "man tcpstat"
MANPAGER=cat man 7 tcpstat-metrics | grep -q 'tcpstat_sockets' || fail "man 7 tcpstat-metrics"

step "bash completion from the installed file"
# bash-completion loads /usr/share/bash-completion/completions/tcpstat on first use.
words=$(bash --norc --noprofile -c '
  source /usr/share/bash-completion/bash_completion
  _completion_loader tcpstat
  spec=$(complete -p tcpstat) || exit 1
  fn=$(sed -n "s/.*-F \([^ ]*\) .*/\1/p" <<<"$spec")
  COMP_WORDS=(tcpstat su); COMP_CWORD=1; COMP_LINE="tcpstat su"; COMP_POINT=${#COMP_LINE}
  "$fn" tcpstat su tcpstat
  printf "%s\n" "${COMPREPLY[@]}"')
grep -qx summary <<<"$words" || fail "bash completion of 'tcpstat su': $words"

step "serve with the packaged default options (as the unit runs it, capabilities and all)"
# shellcheck disable=SC1091
. /etc/default/tcpstat
read -r -a args <<<"$TCPSTAT_SERVE_ARGS"
port=${TCPSTAT_SERVE_ARGS##*:}
if ss -Htln "sport = :$port" | grep -q .; then
  fail "port $port is taken on this machine; the packaged default could not be tried"
fi
setpriv --reuid=65534 --regid=65534 --clear-groups \
  --inh-caps=+dac_read_search,+sys_ptrace --ambient-caps=+dac_read_search,+sys_ptrace \
  /usr/bin/tcpstat serve "${args[@]}" 2>/tmp/deb-test-serve.err &
serve=$!
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
body=$(curl -fsS --compressed "http://127.0.0.1:$port/metrics")
kill "$serve"; wait "$serve" || true
grep -q '^tcpstat_collection_success 1$' <<<"$body" || fail "a scrape of the packaged serve: $(cat /tmp/deb-test-serve.err)"
grep -q '^tcpstat_build_info{' <<<"$body" || fail "no build_info"

step "record with the packaged default options (as the unit runs it), history reads it"
# What systemd makes for StateDirectory=tcpstat under DynamicUser: /var/lib/private/tcpstat
# owned by the service's user, and the symlink /var/lib/tcpstat. Made here by hand (no
# running systemd); the purge below must take it away.
[ ! -e /var/lib/tcpstat ] || fail "/var/lib/tcpstat exists before the test"
made_private=no
[ -d /var/lib/private ] || { mkdir -m 0700 /var/lib/private; made_private=yes; }
install -d -m 0750 -o 65534 -g 65534 /var/lib/private/tcpstat
ln -s private/tcpstat /var/lib/tcpstat
read -r -a rargs <<<"$TCPSTAT_RECORD_ARGS"
setpriv --reuid=65534 --regid=65534 --clear-groups \
  --inh-caps=+dac_read_search,+sys_ptrace --ambient-caps=+dac_read_search,+sys_ptrace \
  /usr/bin/tcpstat record --count 2 --interval 200ms "${rargs[@]}" \
  || fail "tcpstat record as the unit's user"
[ -f /var/lib/private/tcpstat/history.db ] || fail "record did not write /var/lib/tcpstat/history.db"
/usr/bin/tcpstat history --since 1h --json | grep -q '"samples":2,' || fail "tcpstat history of the recorded database"

step "dpkg --purge"
dpkg --purge tcpstat
trap - EXIT
dpkg-query -W tcpstat >/dev/null 2>&1 && fail "dpkg still knows tcpstat"
left=()
while read -r f; do
  # Directories are shared with other packages (/usr/bin, /etc/default); files are ours.
  if [ -e "$f" ] && [ ! -d "$f" ]; then left+=("$f"); fi
done <<<"$installed"
for f in /etc/default/tcpstat /var/lib/dpkg/info/tcpstat.* \
  /etc/systemd/system/multi-user.target.wants/tcpstat-serve.service \
  /var/lib/systemd/deb-systemd-helper-enabled/tcpstat-serve.service.dsh-also \
  /var/lib/systemd/deb-systemd-helper-enabled/tcpstat-record.service.dsh-also \
  /var/lib/systemd/deb-systemd-helper-masked/tcpstat-serve.service \
  /var/lib/systemd/deb-systemd-helper-masked/tcpstat-record.service \
  /etc/systemd/system/tcpstat-serve.service /etc/systemd/system/tcpstat-record.service \
  /var/lib/tcpstat /var/lib/private/tcpstat \
  /usr/share/doc/tcpstat; do
  if [ -e "$f" ] || [ -L "$f" ]; then left+=("$f"); fi
done
if [ "$made_private" = yes ]; then rmdir /var/lib/private; fi
[ "${#left[@]}" -eq 0 ] || fail "left behind after purge: ${left[*]}"
echo "deb-test: OK ($deb installed, used and purged; nothing left)"

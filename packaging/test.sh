#!/usr/bin/env bash
# Package test, as root on a Debian machine (CI): build the .deb and the
# .rpm, install the .deb, check its files, modes and conffiles, run the
# binaries, upgrade to a newer build keeping a changed conffile, remove
# and purge; list the .rpm's files and scripts; verify the systemd unit.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "package-test: FAIL: $*" >&2; exit 1; }
passed=0
pass() { echo "package-test: ok: $*"; passed=$((passed + 1)); }

export DEBIAN_FRONTEND=noninteractive
command -v rpm >/dev/null || apt-get install -y -qq --no-install-recommends rpm >/dev/null

if dpkg -s septa >/dev/null 2>&1; then
	fail "septa is installed on this machine already; the test would change it"
fi

base=$(make -s --no-print-directory -f - <<<'include Makefile
print: ; @echo $(PKGVERSION)' print)
v1="${base}"
v2="${base}.1"
rm -rf dist
make -s deb rpm PKGVERSION="$v1" >/dev/null
mkdir -p dist/v1 && mv dist/*.deb dist/*.rpm dist/v1/
make -s deb PKGVERSION="$v2" >/dev/null
mkdir -p dist/v2 && mv dist/*.deb dist/v2/
deb1=$(ls dist/v1/*.deb) deb2=$(ls dist/v2/*.deb) rpm1=$(ls dist/v1/*.rpm)

cleanup() { dpkg -P septa >/dev/null 2>&1 || true; }
trap cleanup EXIT

# Install.
dpkg -i "$deb1" >/dev/null
getent group septa >/dev/null || fail "group septa not created"
for f in /usr/sbin/septad /usr/bin/septa; do
	[ "$(stat -c %a "$f")" = 755 ] || fail "$f mode $(stat -c %a "$f")"
done
for f in /lib/systemd/system/septad.service /etc/septa/septad.toml /etc/septa/policy.d/00-observe.toml \
	/usr/share/doc/septa/examples/5-shop/policy.d/10-shop.toml /usr/share/doc/septa/policy.md \
	/usr/share/man/man1/septa.1.gz /usr/share/man/man1/septa-check.1.gz /usr/share/man/man8/septad.8.gz \
	/usr/share/bash-completion/completions/septa /usr/share/zsh/vendor-completions/_septa \
	/usr/share/fish/vendor_completions.d/septa.fish; do
	[ -f "$f" ] || fail "missing $f"
done
for d in /var/lib/septa /var/log/septa; do
	[ "$(stat -c %a "$d")" = 750 ] || fail "$d mode $(stat -c %a "$d")"
done
conffiles=$(dpkg-query -W -f='${Conffiles}\n' septa)
for f in /etc/septa/septad.toml /etc/septa/policy.d/00-observe.toml; do
	grep -q " $f " <<<"$conffiles" || fail "$f is not a conffile: $conffiles"
done
pass "installed $v1: files, modes, conffiles, group"
/usr/sbin/septad -version | grep -q "^septad " || fail "septad -version"
/usr/bin/septa check /etc/septa/policy.d >/dev/null || fail "septa check on the shipped policy"
/usr/bin/septa show /etc/septa/policy.d | grep -q "mode=observe" || fail "the shipped policy must observe"
for d in /usr/share/doc/septa/examples/*/policy.d; do
	/usr/bin/septa check "$d" >/dev/null || fail "septa check $d"
done
pass "septad -version, septa check on the shipped and example policies"

# The unit.
systemd-analyze verify /lib/systemd/system/septad.service || fail "systemd-analyze verify"
score=$(systemd-analyze security --offline=yes /lib/systemd/system/septad.service 2>/dev/null | tail -1)
pass "systemd-analyze verify; security: $score"

# Upgrade keeps a changed conffile.
echo "# changed by the operator" >>/etc/septa/septad.toml
dpkg -i --force-confold "$deb2" >/dev/null
[ "$(dpkg-query -W -f='${Version}' septa)" = "$v2" ] || fail "upgrade to $v2"
grep -q "changed by the operator" /etc/septa/septad.toml || fail "upgrade replaced the changed conffile"
pass "upgraded to $v2, the changed conffile kept"

# Remove keeps configuration and state; purge removes them.
echo keep >/var/lib/septa/state-marker
dpkg -r septa >/dev/null
[ ! -e /usr/sbin/septad ] || fail "remove left /usr/sbin/septad"
[ -f /etc/septa/septad.toml ] || fail "remove deleted the configuration"
[ -f /var/lib/septa/state-marker ] || fail "remove deleted the state"
dpkg -P septa >/dev/null
[ ! -e /etc/septa/septad.toml ] || fail "purge left the configuration"
[ ! -e /var/lib/septa ] || fail "purge left /var/lib/septa"
pass "remove kept configuration and state; purge removed them"

# The rpm.
files=$(rpm -qpl "$rpm1" 2>/dev/null)
for f in /usr/sbin/septad /usr/bin/septa /lib/systemd/system/septad.service /etc/septa/septad.toml; do
	grep -qx "$f" <<<"$files" || fail "rpm lacks $f"
done
rpm -qp --configfiles "$rpm1" 2>/dev/null | grep -qx /etc/septa/septad.toml || fail "rpm: septad.toml not a config file"
scripts=$(rpm -qp --scripts "$rpm1" 2>/dev/null)
for s in preinstall postinstall preuninstall postuninstall; do
	grep -q "^$s scriptlet" <<<"$scripts" || fail "rpm lacks the $s scriptlet"
done
pass "rpm: files, config files, scriptlets"
echo "package-test: $passed passed, 0 failed"

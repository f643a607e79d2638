#!/bin/bash
# Package test: install, upgrade, reinstall, remove and purge the praxisgate
# Debian package in a fresh Debian 12 chroot (mmdebstrap, the host's apt
# sources), checking files, user, permissions and that upgrades keep the
# config and the buffer. Needs root. Prints "N passed, M failed".
#
#   image/test-package.sh [-a amd64]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
arch=amd64
while getopts a: opt; do
	case $opt in
	a) arch=$OPTARG ;;
	*) exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "test-package.sh: needs root (chroot)" >&2; exit 1; }
for p in mmdebstrap lintian; do
	if ! command -v $p >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $p >/dev/null ||
			{ echo "test-package.sh: $p missing (apt-get install $p)" >&2; exit 1; }
	fi
done
start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/praxisgate-pkgtest.XXXXXX")
root=$work/root
cleanup() {
	for m in proc sys dev/pts dev; do umount "$root/$m" 2>/dev/null; done
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

pass=0 fail=0
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then
		echo "ok:   $what"
		pass=$((pass + 1))
	else
		echo "FAIL: $what" >&2
		fail=$((fail + 1))
	fi
}
in_root() { chroot "$root" "$@"; }
stat_is() { # stat_is PATH FORMAT WANT
	[ "$(chroot "$root" stat -c "$2" "$1")" = "$3" ]
}

echo "== building 0.1.0 and 0.1.1 ($arch)"
deb1=$("$here/build-deb.sh" -a "$arch" -v 0.1.0 -o "$work") || exit 1
deb2=$("$here/build-deb.sh" -a "$arch" -v 0.1.1 -o "$work") || exit 1
deb1=$(echo "$deb1" | tail -n1) deb2=$(echo "$deb2" | tail -n1)

echo "== chroot: Debian 12 minbase"
sources=$work/sources
: >"$sources"
for f in /etc/apt/sources.list.d/*.sources; do [ -e "$f" ] && { cat "$f"; echo; } >>"$sources"; done
[ -e /etc/apt/sources.list ] && { grep -E '^deb ' /etc/apt/sources.list >>"$sources" || true; }
mmdebstrap -q --variant=minbase --arch="$arch" --include=adduser,init-system-helpers,systemd \
	bookworm "$root" - <"$sources" || { echo "test-package.sh: mmdebstrap failed" >&2; exit 1; }
cp "$deb1" "$deb2" "$root/tmp/"
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
d1=/tmp/$(basename "$deb1") d2=/tmp/$(basename "$deb2")

echo "== contents"
# The repository's third-party test fixtures (GPL device recordings) are
# never shipped; the package holds the binary, the unit, config and docs.
# The listings are read whole before grep: with pipefail, grep -q leaving
# early would end the writer with SIGPIPE and fail (or, negated, pass) the
# check whatever the package holds.
no_fixtures() { local l; l=$(dpkg-deb -c "$1") && ! grep -Eq 'testdata|third_party|\.snmprec|\.rdesc|nut-ddl' <<<"$l"; }
check "no test fixtures in the package" no_fixtures "$deb1"
license_named() { local c; c=$(dpkg-deb --fsys-tarfile "$1" | tar -xO ./usr/share/doc/praxisgate/copyright) && grep -q '^License: Apache-2.0' <<<"$c"; }
check "copyright names Apache-2.0" license_named "$deb1"

echo "== install 0.1.0"
check "dpkg -i 0.1.0" in_root dpkg -i "$d1"
check "system user praxisgate (uid < 1000, nologin, home /var/lib/praxisgate)" \
	bash -c "chroot '$root' getent passwd praxisgate | awk -F: '\$3 < 1000 && \$6 == \"/var/lib/praxisgate\" && \$7 == \"/usr/sbin/nologin\"' | grep -q ."
check "group praxisgate" in_root getent group praxisgate
check "/usr/bin/praxisgate runs" in_root /usr/bin/praxisgate version
check "unit installed" test -f "$root/lib/systemd/system/praxisgate.service"
check "USB UPS udev rule installed" grep -q 'GROUP="praxisgate"' "$root/usr/lib/udev/rules.d/70-praxisgate-ups.rules"
check "unit enabled (multi-user.target.wants)" test -L "$root/etc/systemd/system/multi-user.target.wants/praxisgate.service"
check "/var/lib/praxisgate praxisgate:praxisgate 750" stat_is /var/lib/praxisgate '%U:%G %a' 'praxisgate:praxisgate 750'
check "/etc/praxisgate root:praxisgate 770" stat_is /etc/praxisgate '%U:%G %a' 'root:praxisgate 770'
check "config root:praxisgate 640" stat_is /etc/praxisgate/praxisgate.yaml '%U:%G %a' 'root:praxisgate 640'
check "default config passes check-config" in_root /usr/bin/praxisgate check-config /etc/praxisgate/praxisgate.yaml
check "provisioned: current binary is 0.1.0" bash -c "chroot '$root' /var/lib/praxisgate/current/praxisgate version | grep -qx 'praxisgate 0.1.0'"
check "provisioned: committed binary is 0.1.0" bash -c "chroot '$root' /var/lib/praxisgate/committed/praxisgate version | grep -qx 'praxisgate 0.1.0'"
check "state owned by praxisgate" bash -c "[ -z \"\$(find '$root/var/lib/praxisgate' ! -user \$(chroot '$root' id -u praxisgate))\" ]"
check "update boot (the unit's ExecStartPre) works as the service user" \
	in_root runuser -u praxisgate -- /var/lib/praxisgate/committed/praxisgate update boot -state /var/lib/praxisgate

echo "== local changes: config edited, a buffered reading"
echo "# edited by the technician" >>"$root/etc/praxisgate/praxisgate.yaml"
in_root runuser -u praxisgate -- sh -c 'mkdir -p /var/lib/praxisgate/buffer && echo reading >/var/lib/praxisgate/buffer/000001.vlog'
sum_conf=$(md5sum <"$root/etc/praxisgate/praxisgate.yaml")

echo "== upgrade to 0.1.1"
check "dpkg -i 0.1.1 (upgrade, no conffile prompt)" in_root env DEBIAN_FRONTEND=noninteractive dpkg --force-confold -i "$d2"
check "upgrade kept the edited config" bash -c "[ \"\$(md5sum <'$root/etc/praxisgate/praxisgate.yaml')\" = '$sum_conf' ]"
check "upgrade kept the buffer" grep -qx reading "$root/var/lib/praxisgate/buffer/000001.vlog"
check "current binary is 0.1.1" bash -c "chroot '$root' /var/lib/praxisgate/current/praxisgate version | grep -qx 'praxisgate 0.1.1'"
check "config still root:praxisgate 640" stat_is /etc/praxisgate/praxisgate.yaml '%U:%G %a' 'root:praxisgate 640'

echo "== a self-updated 0.2.0 survives reinstalling the 0.1.1 package"
in_root runuser -u praxisgate -- /usr/bin/praxisgate update provision -state /var/lib/praxisgate -version 0.2.0 -binary /usr/bin/praxisgate >/dev/null
check "dpkg -i 0.1.1 again" in_root dpkg -i "$d2"
check "committed stays 0.2.0" bash -c "chroot '$root' runuser -u praxisgate -- /usr/bin/praxisgate update status -state /var/lib/praxisgate | grep -q '\"committed\": \"0.2.0\"'"

echo "== remove"
check "dpkg -r" in_root dpkg -r praxisgate
check "binary gone" test ! -e "$root/usr/bin/praxisgate"
check "remove keeps config" test -f "$root/etc/praxisgate/praxisgate.yaml"
check "remove keeps buffer" test -f "$root/var/lib/praxisgate/buffer/000001.vlog"
check "remove keeps user" in_root getent passwd praxisgate

echo "== purge"
check "dpkg -P" in_root dpkg -P praxisgate
check "purge deletes /etc/praxisgate" test ! -e "$root/etc/praxisgate"
check "purge deletes /var/lib/praxisgate" test ! -e "$root/var/lib/praxisgate"
check "purge deletes the user" bash -c "! chroot '$root' getent passwd praxisgate"
check "purge deletes the group" bash -c "! chroot '$root' getent group praxisgate"
check "no enablement link left" test ! -e "$root/etc/systemd/system/multi-user.target.wants/praxisgate.service"

echo "== fresh install after purge"
check "dpkg -i 0.1.1 after purge" in_root dpkg -i "$d2"
check "fresh state: committed 0.1.1" bash -c "chroot '$root' /var/lib/praxisgate/current/praxisgate version | grep -qx 'praxisgate 0.1.1'"

echo "package test took $(( $(date +%s) - start )) s"
echo "package: $pass passed, $fail failed"
[ "$fail" = 0 ]

#!/bin/bash
# Test fixture of test-image.sh: prepares the test's copy of the image so
# that the box's own OS update path (apt-daily -> apt-daily-upgrade ->
# unattended-upgrades -> dpkg on the read-only root) installs one update
# without network:
#   * a local apt repository on the data partition (/data/imgtest-repo) with
#     a newer version of an installed trivial package, usr-is-merged, that
#     only adds /usr/share/praxisgate-imgtest/updated;
#   * on the root: that repository as the only apt source, its origin
#     allowed for unattended-upgrades, and a drop-in that writes the root's
#     mount options to the console before and after apt-daily-upgrade.
# The boot test then starts both apt services (systemd.wants= on the kernel
# command line), and after shutting the guest down checks the root with
# debugfs and e2fsck (see test-image.sh).
#
#   os-update-fixture.sh WORKDIR ROOT.IMG DATA.IMG
# Prints the version of the update on success.
set -euo pipefail
work=$1 root=$2 data=$3
fx=$work/update-fixture
mkdir -p "$fx/pkg/DEBIAN" "$fx/pkg/usr/share/praxisgate-imgtest" "$fx/repo"

debugfs -R 'cat /var/lib/dpkg/status' "$root" >"$fx/status" 2>/dev/null
old=$(awk '/^Package: /{ p = $2 } p == "usr-is-merged" && /^Version: /{ print $2 }' "$fx/status")
[ -n "$old" ] || { echo "os-update-fixture: usr-is-merged is not installed in the image" >&2; exit 1; }
new=$old+imgtest1
cat >"$fx/pkg/DEBIAN/control" <<CTL
Package: usr-is-merged
Version: $new
Architecture: all
Multi-Arch: foreign
Maintainer: praxisgate image test <imgtest@praxisgate.invalid>
Section: oldlibs
Priority: optional
Description: image test update
 A newer version of usr-is-merged made by the praxisgate image test, to
 prove that unattended-upgrades can write to the read-only root.
CTL
echo "installed by the praxisgate image test's OS update" >"$fx/pkg/usr/share/praxisgate-imgtest/updated"
deb=usr-is-merged_${new}_all.deb
dpkg-deb --root-owner-group -Zgzip --build "$fx/pkg" "$fx/repo/$deb" >/dev/null
{
	dpkg-deb -f "$fx/repo/$deb"
	echo "Filename: ./$deb"
	echo "Size: $(stat -c %s "$fx/repo/$deb")"
	echo "SHA256: $(sha256sum "$fx/repo/$deb" | cut -d' ' -f1)"
	echo
} >"$fx/repo/Packages"
cat >"$fx/repo/Release" <<REL
Origin: praxisgate-imgtest
Label: praxisgate-imgtest
Suite: bookworm-imgtest
Codename: bookworm-imgtest
Date: $(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')
Architectures: all amd64 arm64
SHA256:
 $(sha256sum "$fx/repo/Packages" | cut -d' ' -f1) $(stat -c %s "$fx/repo/Packages") Packages
REL

# The repository goes onto the data partition, readable by apt's _apt user.
{
	echo "mkdir /imgtest-repo"
	echo "sif /imgtest-repo mode 040755"
	for f in Packages Release "$deb"; do
		echo "write $fx/repo/$f /imgtest-repo/$f"
		echo "sif /imgtest-repo/$f mode 0100644"
		echo "sif /imgtest-repo/$f uid 0"
		echo "sif /imgtest-repo/$f gid 0"
	done
} | debugfs -w -f - "$data" >/dev/null 2>&1
# (Read whole first: under pipefail a grep -q that stops early fails the
# pipeline with SIGPIPE.)
grep -q 'Size:' <<<"$(debugfs -R "stat /imgtest-repo/$deb" "$data" 2>/dev/null)" ||
	{ echo "os-update-fixture: could not write the repository into the data partition" >&2; exit 1; }

# The root: only this source, its origin allowed, the console probe.
echo "deb [trusted=yes] file:/data/imgtest-repo ./" >"$fx/imgtest.list"
cat >"$fx/99imgtest" <<'APT'
Unattended-Upgrade::Origins-Pattern { "origin=praxisgate-imgtest"; };
APT
cat >"$fx/zz-imgtest.conf" <<'UNIT'
[Service]
ExecStartPre=+/bin/sh -c 'echo "imgtest: apt-daily-upgrade starts, / is $$(findmnt -no OPTIONS /)" >/dev/console'
ExecStopPost=+/bin/sh -c 'echo "imgtest: apt-daily-upgrade ended ($$SERVICE_RESULT), / is $$(findmnt -no OPTIONS /)" >/dev/console'
UNIT
{
	[ -n "$(debugfs -R 'stat /etc/apt/sources.list' "$root" 2>/dev/null | grep Inode)" ] && echo "rm /etc/apt/sources.list"
	debugfs -R 'ls -p /etc/apt/sources.list.d' "$root" 2>/dev/null | awk -F/ '$6 != "" && $6 != "." && $6 != ".." { print "rm /etc/apt/sources.list.d/" $6 }'
	echo "write $fx/imgtest.list /etc/apt/sources.list.d/imgtest.list"
	echo "write $fx/99imgtest /etc/apt/apt.conf.d/99imgtest"
	echo "write $fx/zz-imgtest.conf /etc/systemd/system/apt-daily-upgrade.service.d/zz-imgtest.conf"
	for f in /etc/apt/sources.list.d/imgtest.list /etc/apt/apt.conf.d/99imgtest \
		/etc/systemd/system/apt-daily-upgrade.service.d/zz-imgtest.conf; do
		echo "sif $f mode 0100644"
		echo "sif $f uid 0"
		echo "sif $f gid 0"
	done
} | debugfs -w -f - "$root" >/dev/null 2>&1
grep -q imgtest-repo <<<"$(debugfs -R 'cat /etc/apt/sources.list.d/imgtest.list' "$root" 2>/dev/null)" ||
	{ echo "os-update-fixture: could not write the apt source into the root" >&2; exit 1; }
if debugfs -R 'ls -p /etc/apt/sources.list.d' "$root" 2>/dev/null | awk -F/ '{ print $6 }' | grep -v -x -e '' -e . -e .. -e imgtest.list | grep -q .; then
	echo "os-update-fixture: other apt sources are left in the root" >&2
	exit 1
fi
echo "$new"

#!/bin/sh
# mmdebstrap customize hook of build-image.sh ($1 is the image's root):
# purges Perl (about 55 MiB of the read-only root). mmdebstrap's apt picks
# usrmerge, the first alternative of init-system-helpers' "usrmerge |
# usr-is-merged", although the root is merged already, and usrmerge pulls
# in the full Perl; usr-is-merged satisfies the dependency alone. perl-base
# (essential, used by debconf) stays.
set -eu
r=$1
pkgs=$(chroot "$r" dpkg-query -W -f '${Package} ${Status}\n' usrmerge perl 'libperl5*' 'perl-modules-*' \
	libfile-find-rule-perl libnumber-compare-perl libtext-glob-perl 2>/dev/null |
	awk '$NF == "installed" { print $1 }')
[ -n "$pkgs" ] || exit 0
echo "drop-perl: purging" $pkgs
# shellcheck disable=SC2086
chroot "$r" env DEBIAN_FRONTEND=noninteractive apt-get -y -q=2 purge $pkgs
chroot "$r" env DEBIAN_FRONTEND=noninteractive apt-get -y -q=2 --purge autoremove
if chroot "$r" dpkg-query -W -f '${Status}' perl 2>/dev/null | grep -q 'ok installed'; then
	echo "drop-perl: perl is still installed" >&2
	exit 1
fi

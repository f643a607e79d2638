#!/bin/sh
# Builds the praxisgate Debian package for one architecture with dpkg-deb
# and checks it with lintian (errors fail the build).
#
#   image/build-deb.sh [-a amd64|arm64] [-v SEMVER] [-o OUTDIR] [-b BINARY] [-n]
#
# -v  version (MAJOR.MINOR.PATCH[-pre]); default: the newest v* tag at HEAD,
#     else 0.0.0-dev.<commit time>. A semver pre-release "-rc.1" becomes
#     the Debian version "~rc.1" (sorts before the release in both).
# -b  use this binary instead of building one (tests build once).
# -n  skip lintian.
# Prints the path of the .deb on the last line.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
arch=amd64 semver="" out="$repo/dist" binary="" lint=1
while getopts a:v:o:b:n opt; do
	case $opt in
	a) arch=$OPTARG ;;
	v) semver=$OPTARG ;;
	o) out=$OPTARG ;;
	b) binary=$OPTARG ;;
	n) lint=0 ;;
	*) exit 2 ;;
	esac
done
case $arch in
amd64 | arm64) ;;
*)
	echo "build-deb.sh: architecture $arch not supported (amd64, arm64; armhf: see docs/image.md)" >&2
	exit 2
	;;
esac
if [ -z "$semver" ]; then
	semver=$(git -C "$repo" describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null | sed 's/^v//') || semver=""
	[ -n "$semver" ] || semver="0.0.0-dev.$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)"
fi
if ! echo "$semver" | grep -Eq '^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.]+)?$'; then
	echo "build-deb.sh: version $semver is not MAJOR.MINOR.PATCH[-pre]" >&2
	exit 2
fi
debver=$(echo "$semver" | tr '-' '~')
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/praxisgate-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
# sh runs the EXIT trap on a signal only through exit.
trap 'exit 1' HUP INT TERM
root=$work/root

if [ -z "$binary" ]; then
	binary=$work/praxisgate
	(cd "$repo" && CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath \
		-ldflags "-s -w -X main.version=$semver" -o "$binary" ./cmd/praxisgate)
fi

install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" \
	"$root/etc/praxisgate" "$root/usr/share/doc/praxisgate" \
	"$root/usr/share/man/man1" "$root/usr/share/lintian/overrides" "$root/usr/lib/udev/rules.d"
install -m 0755 "$binary" "$root/usr/bin/praxisgate"
install -m 0644 "$here/praxisgate.service" "$root/lib/systemd/system/praxisgate.service"
install -m 0644 "$here/praxisgate.yaml" "$root/etc/praxisgate/praxisgate.yaml"
install -m 0644 "$here/70-praxisgate-ups.rules" "$root/usr/lib/udev/rules.d/70-praxisgate-ups.rules"
install -m 0644 "$here/debian/copyright" "$root/usr/share/doc/praxisgate/copyright"
install -m 0644 "$here/debian/lintian-overrides" "$root/usr/share/lintian/overrides/praxisgate"
gzip -9n -c "$here/debian/praxisgate.1" >"$root/usr/share/man/man1/praxisgate.1.gz"
chmod 0644 "$root/usr/share/man/man1/praxisgate.1.gz"
for s in postinst prerm postrm; do
	sed "s/@SEMVER@/$semver/" "$here/debian/$s" >"$root/DEBIAN/$s"
	chmod 0755 "$root/DEBIAN/$s"
done
echo /etc/praxisgate/praxisgate.yaml >"$root/DEBIAN/conffiles"

# A native package's changelog; its date is the commit's, so two builds of
# one commit are identical.
when=$(git -C "$repo" log -1 --format=%cD 2>/dev/null || date -R)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
cat >"$work/changelog" <<CL
praxisgate ($debver) stable; urgency=medium

  * Built from commit $commit.

 -- praxisgate maintainers <maintainers@praxisgate.invalid>  $when
CL
gzip -9n -c "$work/changelog" >"$root/usr/share/doc/praxisgate/changelog.gz"
chmod 0644 "$root/usr/share/doc/praxisgate/changelog.gz"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CTRL
Package: praxisgate
Version: $debver
Architecture: $arch
Maintainer: praxisgate maintainers <maintainers@praxisgate.invalid>
Installed-Size: $size
Depends: adduser, init-system-helpers (>= 1.52)
Section: net
Priority: optional
Homepage: https://github.com/praxisgate/praxisgate
Description: monitoring gateway for medical practices
 praxisgate polls the devices of a practice (UPS, fridges, printers, NAS,
 sensors), keeps every reading in a durable buffer on local disk and
 publishes it to the service provider's MQTT broker. It runs as the
 hardened systemd service praxisgate.service under its own system user,
 with its state in /var/lib/praxisgate and its config in /etc/praxisgate.
CTRL
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort |
	xargs md5sum >DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

deb=$out/praxisgate_${debver}_$arch.deb
SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s) \
	dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
if [ "$lint" = 1 ]; then
	if ! command -v lintian >/dev/null 2>&1; then
		if [ "$(id -u)" = 0 ]; then
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lintian >/dev/null
		else
			echo "build-deb.sh: lintian missing: apt-get install lintian (or -n)" >&2
			exit 1
		fi
	fi
	# Errors fail; warnings are printed.
	lintian --fail-on error --tag-display-limit 0 "$deb" >&2
fi
ls -l "$deb" >&2
echo "$deb"

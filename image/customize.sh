#!/bin/sh
# mmdebstrap customize hook of build-image.sh: $1 is the image's root.
set -eu
r=$1
mkdir -p "$r/data" "$r/boot/efi"
chroot "$r" systemctl enable systemd-networkd systemd-resolved systemd-timesyncd \
	avahi-daemon praxisgate >/dev/null
# No SSH server is installed; no password for root (console login off).
chroot "$r" passwd -l root >/dev/null
ln -sf /run/systemd/resolve/stub-resolv.conf "$r/etc/resolv.conf"
# Empty: systemd makes a transient id at each boot of the read-only root.
: >"$r/etc/machine-id"
rm -f "$r/var/lib/dbus/machine-id"
rm -rf "$r/var/cache/apt/"*.bin "$r/var/lib/apt/lists/"* "$r/var/log/"*

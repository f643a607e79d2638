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
# The practice's time zone for what people read on the box (journal, date);
# the hardware clock stays UTC, and the daemon takes its days from the
# config's timezone (default Europe/Berlin, rules built into the binary).
[ -f "$r/usr/share/zoneinfo/Europe/Berlin" ] || { echo "customize.sh: tzdata missing in the image" >&2; exit 1; }
ln -sf /usr/share/zoneinfo/Europe/Berlin "$r/etc/localtime"
echo Europe/Berlin >"$r/etc/timezone"
# Empty: systemd makes a transient id at each boot of the read-only root.
: >"$r/etc/machine-id"
rm -f "$r/var/lib/dbus/machine-id"
# Kernel modules compressed like future kernels' (00-praxisgate-xz).
for k in "$r"/lib/modules/*; do
	find "$k" -name '*.ko' -print0 | xargs -0 -r -P 2 -n 64 xz -f --check=crc32 --lzma2=dict=1MiB
	chroot "$r" depmod -a "$(basename "$k")"
done
# Byte code caches: python recompiles in memory (unattended-upgrades, once a day).
find "$r/usr/lib/python3" "$r/usr/lib/python3.11" -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null || true
rm -rf "$r/var/cache/apt/"*.bin "$r/var/lib/apt/lists/"* "$r/var/log/"*

#!/bin/bash
# Builds the praxisgate appliance image: Debian 12 (bookworm) from Debian's
# packages with mmdebstrap, the praxisgate package installed, and a raw GPT
# disk image with three partitions:
#
#   1 ESP   (FAT, 40 MiB)  systemd-boot, kernel, initrd
#   2 root  (ext4, ro)     the OS; mounted read-only, remounted rw only
#                          while apt installs security updates
#   3 data  (ext4, rw)     /data: /var/lib/praxisgate, /etc/praxisgate,
#                          /var/lib/systemd and apt's lists and downloads
#                          bind-mounted from it; grown to the disk's size
#                          at the first boot
#
# The root keeps ROOT_FREE MiB free (default: 120 plus the kernel's size)
# for OS updates: a kernel update unpacks the new kernel's uncompressed
# modules next to the running kernel's (docs/image.md).
#
#   image/build-image.sh [-a amd64|arm64] [-o OUTDIR] [-d DEB] [-f ROOT_FREE]
#
# Needs root (chroot), mmdebstrap, e2fsprogs, dosfstools, mtools, fdisk and
# the host's apt sources for bookworm (they are reused for the image). For
# arm64 on an amd64 host also qemu-user-static and binfmt-support.
# Outputs in OUTDIR (default dist/image): praxisgate-ARCH.img (raw disk),
# .img.zst, and the kernel and initrd for qemu's direct kernel boot.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
arch=amd64 out="$repo/dist/image" deb="" rootfree=""
while getopts a:o:d:f: opt; do
	case $opt in
	a) arch=$OPTARG ;;
	o) out=$OPTARG ;;
	d) deb=$OPTARG ;;
	f) rootfree=$OPTARG ;;
	*) exit 2 ;;
	esac
done
case $arch in
amd64) efiname=BOOTX64.EFI sdboot=systemd-bootx64.efi ;;
arm64) efiname=BOOTAA64.EFI sdboot=systemd-bootaa64.efi ;;
*) echo "build-image.sh: $arch not supported (amd64, arm64)" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "build-image.sh: needs root (chroot, file ownership)" >&2; exit 1; }

need="mmdebstrap eatmydata e2fsprogs dosfstools mtools fdisk zstd"
[ "$arch" = amd64 ] || need="$need qemu-user-static binfmt-support"
missing=""
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing build tools:$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ "$arch" != "$(dpkg --print-architecture)" ]; then
	# Foreign chroot: the maintainer scripts run under qemu-user.
	mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
		{ echo "build-image.sh: cannot mount binfmt_misc (a container needs it from its host)" >&2; exit 1; }
	update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
	[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] ||
		{ echo "build-image.sh: cannot run arm64 programs (binfmt_misc, qemu-user-static)" >&2; exit 1; }
fi

start=$(date +%s)
mkdir -p "$out"
# Room: the root tree, the partition images and the disk image (about
# 1.5 GiB for arm64) in TMPDIR, the outputs (raw, zst, kernel) in OUTDIR.
avail() { df -Pm "$1" | awk 'NR == 2 { print $4 }'; }
[ "$(avail "${TMPDIR:-/tmp}")" -ge 2048 ] || { echo "build-image.sh: less than 2 GiB free in ${TMPDIR:-/tmp} (set TMPDIR)" >&2; exit 1; }
[ "$(avail "$out")" -ge 1024 ] || { echo "build-image.sh: less than 1 GiB free in $out" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/praxisgate-image.XXXXXX")
# --one-file-system: never into /dev or /proc should mmdebstrap have left
# them mounted in the tree after a failure.
trap 'rm -rf --one-file-system "$work"' EXIT

if [ -z "$deb" ]; then
	deb=$("$here/build-deb.sh" -a "$arch" -o "$work" -n | tail -n1)
fi
cp "$deb" "$work/praxisgate.deb"

# The image's apt sources are the host's bookworm sources (main, updates,
# security), so the mirror is whatever this machine is configured with.
sources=$work/sources
: >"$sources"
for f in /etc/apt/sources.list.d/*.sources; do
	[ -e "$f" ] || continue
	cat "$f" >>"$sources"
	echo >>"$sources"
done
if [ -e /etc/apt/sources.list ]; then
	grep -E '^deb ' /etc/apt/sources.list >>"$sources" || true
fi
grep -q bookworm "$sources" || { echo "build-image.sh: the host's apt sources name no bookworm suite" >&2; exit 1; }

set -f # the patterns below are for dpkg, not for this shell
# Kernel drivers a gateway box never needs (graphics, sound, cameras,
# wireless, Bluetooth, InfiniBand, ISDN, staging): about half of
# linux-image-amd64. The exclusions stay in the image, so kernel security
# updates are installed the same way.
excl=()
for d in drivers/gpu sound drivers/media drivers/net/wireless net/wireless net/mac80211 \
	drivers/bluetooth net/bluetooth drivers/infiniband drivers/isdn drivers/staging \
	drivers/iio drivers/input/joystick drivers/input/touchscreen drivers/net/can net/can \
	drivers/hwmon/pmbus drivers/mtd drivers/nfc net/nfc drivers/net/ethernet/mellanox \
	drivers/net/ethernet/chelsio drivers/net/ethernet/qlogic drivers/scsi/qla2xxx \
	drivers/scsi/lpfc drivers/scsi/mpt3sas drivers/scsi/be2iscsi drivers/scsi/bfa \
	drivers/target fs/ocfs2 fs/gfs2 fs/xfs fs/btrfs fs/ceph fs/nfs fs/nfsd fs/smb fs/cifs \
	fs/f2fs fs/jfs fs/reiserfs fs/nilfs2 fs/ubifs drivers/md/bcache drivers/accel \
	drivers/thunderbolt drivers/video/fbdev drivers/usb/gadget drivers/scsi/* \
	drivers/net/ethernet/intel/ice drivers/net/ethernet/intel/i40e drivers/net/ethernet/intel/iavf \
	drivers/net/ethernet/broadcom/bnx2x drivers/net/ethernet/broadcom/bnxt drivers/net/ethernet/cavium \
	drivers/net/ethernet/huawei drivers/net/ethernet/emulex drivers/net/ethernet/sfc \
	drivers/net/ethernet/netronome drivers/net/ethernet/marvell/octeontx2 drivers/net/ethernet/marvell/prestera \
	drivers/net/ethernet/pensando drivers/net/ethernet/amazon drivers/net/ethernet/cisco \
	drivers/net/ethernet/brocade drivers/net/ethernet/google drivers/net/ethernet/fungible \
	drivers/net/ethernet/microsoft drivers/net/ethernet/ibm drivers/net/ethernet/mscc arch/x86/kvm virt \
	drivers/net/ethernet net/netfilter net/ipv4/netfilter net/ipv6/netfilter net/bridge/netfilter \
	net/sched net/sunrpc net/ceph net/sctp net/tipc net/atm drivers/atm drivers/comedi drivers/md \
	fs/afs net/rxrpc drivers/block/drbd drivers/message drivers/platform/chrome drivers/platform/surface \
	drivers/platform/mellanox; do
	excl+=("--dpkgopt=path-exclude=/lib/modules/*/kernel/$d/*")
done
# ... but the wired network chips of mini-PCs stay (Intel, Realtek,
# Broadcom tg3, Aquantia), and USB network adapters.
for d in intel realtek broadcom/tg3.ko aquantia; do
	case $d in
	*.ko) excl+=("--dpkgopt=path-include=/lib/modules/*/kernel/drivers/net/ethernet/$d") ;;
	*) excl+=("--dpkgopt=path-include=/lib/modules/*/kernel/drivers/net/ethernet/$d/*") ;;
	esac
done
for d in intel/ice intel/i40e intel/iavf; do
	excl+=("--dpkgopt=path-exclude=/lib/modules/*/kernel/drivers/net/ethernet/$d/*")
done
# udev's hardware database names vendors and maps keyboards: not needed.
excl+=("--dpkgopt=path-exclude=/usr/lib/udev/hwdb.d/*" "--dpkgopt=path-exclude=/lib/udev/hwdb.d/*")
# The kernel's symbol map is for debugging (5 MB per kernel update).
excl+=("--dpkgopt=path-exclude=/boot/System.map-*")
# glibc's iconv converters for legacy character sets (9 MB): the box
# speaks UTF-8 only; the Unicode ones stay.
excl+=("--dpkgopt=path-exclude=/usr/lib/*/gconv/*.so")
for c in UTF-16 UTF-32 UTF-7 UNICODE; do
	excl+=("--dpkgopt=path-include=/usr/lib/*/gconv/$c.so")
done

set +f

pkgs=usr-is-merged,systemd,systemd-sysv,systemd-resolved,systemd-timesyncd,udev,dbus,kmod
pkgs=$pkgs,linux-image-$arch,initramfs-tools,zstd,systemd-boot-efi
pkgs=$pkgs,avahi-daemon,libnss-mdns,unattended-upgrades,ca-certificates,iproute2,iputils-ping

echo "== mmdebstrap bookworm $arch"
# The initramfs is made once at the end, not at every trigger of the
# install (update-initramfs is diverted meanwhile).
# eatmydata: no fsync while unpacking into a directory that is copied
# into a file system image afterwards anyway.
mmdebstrap --variant=minbase --arch="$arch" --include="$pkgs" \
	--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-include=/usr/share/locale/locale.alias' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	"${excl[@]}" \
	--essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" && printf "MODULES=most\nCOMPRESS=zstd\n" >"$1/etc/initramfs-tools/conf.d/praxisgate"' \
	--essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs && printf "#!/bin/sh\nexit 0\n" >"$1/usr/sbin/update-initramfs" && chmod 755 "$1/usr/sbin/update-initramfs"' \
	--customize-hook='rm "$1/usr/sbin/update-initramfs" && chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs && chroot "$1" update-initramfs -c -k all' \
	--customize-hook="copy-in $work/praxisgate.deb /tmp" \
	--customize-hook='chroot "$1" dpkg -i /tmp/praxisgate.deb && rm "$1/tmp/praxisgate.deb"' \
	--customize-hook="$here/drop-perl.sh \"\$1\"" \
	--customize-hook="copy-in $here/rootfs/. /" \
	--customize-hook="$here/customize.sh \"\$1\"" \
	bookworm "$work/rootfs" - <"$sources" ||
	{ echo "build-image.sh: mmdebstrap failed (is the host's Debian mirror reachable? see above)" >&2; exit 1; }

root=$work/rootfs
# One copy of the binary: the package provisioned /usr/bin/praxisgate into
# /var/lib/praxisgate/versions/<v>/ (the data partition), which the service
# runs. The root keeps a link to the current version instead of a second
# copy (23 MB); the box has no login that would run it, and a later
# package install puts the file back before its postinst needs it.
bin=$root/usr/bin/praxisgate cur=$root/var/lib/praxisgate/current/praxisgate
cmp -s "$bin" "$cur" || { echo "build-image.sh: the provisioned binary is not the package's /usr/bin/praxisgate" >&2; exit 1; }
ln -sfn /var/lib/praxisgate/current/praxisgate "$bin"
# Split: the kernel and initrd go to the ESP, the writable state to /data.
kver=$(ls "$root/lib/modules" | sort -V | tail -n1)
cp "$root/boot/vmlinuz-$kver" "$out/praxisgate-$arch.vmlinuz"
cp "$root/boot/initrd.img-$kver" "$out/praxisgate-$arch.initrd"
data=$work/data
mkdir -p "$data"
for pair in praxisgate:var/lib/praxisgate etc-praxisgate:etc/praxisgate systemd:var/lib/systemd \
	apt-lists:var/lib/apt/lists apt-cache:var/cache/apt; do
	name=${pair%%:*} path=${pair#*:}
	mkdir -p "$data/$name"
	cp -a "$root/$path/." "$data/$name/"
	find "$root/$path" -mindepth 1 -delete
	chown --reference="$root/$path" "$data/$name"
	chmod --reference="$root/$path" "$data/$name"
done

# The ESP holds the kernel and initrd the box boots, so the root does not
# keep a second copy (the kernel hook writes new ones to both).
rm -f "$root/boot/vmlinuz-$kver" "$root/boot/initrd.img-$kver"
# arm64's kernel is an uncompressed Image (33 MB): its ESP is bigger.
esp=$work/esp.img espmb=40
[ "$arch" = arm64 ] && espmb=112
mkfs.vfat -n PGESP -F 32 -C "$esp" $((espmb * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries ::/praxisgate
mcopy -i "$esp" "$root/usr/lib/systemd/boot/efi/$sdboot" "::/EFI/BOOT/$efiname"
mcopy -i "$esp" "$out/praxisgate-$arch.vmlinuz" ::/praxisgate/vmlinuz
mcopy -i "$esp" "$out/praxisgate-$arch.initrd" ::/praxisgate/initrd
printf 'default praxisgate.conf\ntimeout 0\n' >"$work/loader.conf"
mcopy -i "$esp" "$work/loader.conf" ::/loader/loader.conf
# The serial console is the last, so the primary one: systemd's status
# lines go there (a technician's serial cable, qemu's boot test).
console="console=tty0 console=ttyS0,115200"
[ "$arch" = arm64 ] && console="console=tty0 console=ttyAMA0,115200"
printf 'title praxisgate\nlinux /praxisgate/vmlinuz\ninitrd /praxisgate/initrd\noptions root=LABEL=pgroot ro rootwait %s\n' "$console" >"$work/entry.conf"
mcopy -i "$esp" "$work/entry.conf" ::/loader/entries/praxisgate.conf

# Root: the content plus ROOT_FREE MiB. A kernel update unpacks the new
# kernel's modules uncompressed (about 100 MiB after the exclusions above)
# and its kernel next to the old kernel, which stays until the next boot;
# apt's lists and downloads are on the data partition. Made twice: the
# first file system measures ext4's overhead, the second has the size.
kernelmb=$(( ($(stat -c %s "$out/praxisgate-$arch.vmlinuz") + 1048575) / 1048576 ))
[ -n "$rootfree" ] || rootfree=$((120 + kernelmb))
inodes=$(( $(find "$root" -xdev | wc -l) * 2 + 8192 ))
mkroot() { # mkroot MIB
	rm -f "$work/root.img"
	mkfs.ext4 -q -L pgroot -m 0 -N "$inodes" -J size=4 -d "$root" "$work/root.img" "${1}M"
}
freemb() { # freemb IMAGE: its file system's free MiB
	dumpe2fs -h "$1" 2>/dev/null |
		awk -F: '/^Free blocks/ { f = $2 } /^Block size/ { b = $2 } END { print int(f * b / 1048576) }'
}
rootmb=$(( $(du -sm "$root" | cut -f1) + rootfree + 32 ))
mkroot "$rootmb"
rootmb=$(( rootmb - $(freemb "$work/root.img") + rootfree + 2 ))
mkroot "$rootmb"
rootfreemb=$(freemb "$work/root.img")
[ "$rootfreemb" -ge "$rootfree" ] || { echo "build-image.sh: root has $rootfreemb MiB free, want $rootfree" >&2; exit 1; }
# The data partition holds the provisioned binary (versions/<v>/) and the
# config. It grows to the disk at the first boot (systemd-repart, then
# x-systemd.growfs when /data is mounted), before anything but systemd's
# own state is written to it, so it keeps only $datafree MiB free. Its
# journal is 4 MiB, mke2fs's default for the 40 MiB it had before (the
# journal keeps its size when the file system grows; smaller ones would get
# 1 MiB). -T default: for a file system this small mke2fs picks its "small"
# type (1 KiB blocks, an inode per 4 KiB), which the groups added by
# growing keep: 5.5 % of the disk in inode tables (docs/image.md). With
# 4 KiB blocks and an inode per 16 KiB of the first size they take under
# 0.5 % of a grown disk. Made twice like the root.
datafree=4
mkdata() { # mkdata MIB
	rm -f "$work/data.img"
	mkfs.ext4 -q -L pgdata -m 0 -T default -J size=4 -d "$data" "$work/data.img" "${1}M"
}
datamb=$(( $(du -sm "$data" | cut -f1) + datafree + 16 ))
mkdata "$datamb"
datamb=$(( datamb - $(freemb "$work/data.img") + datafree + 1 ))
mkdata "$datamb"
datafreemb=$(freemb "$work/data.img")
[ "$datafreemb" -ge "$datafree" ] || { echo "build-image.sh: data has $datafreemb MiB free, want $datafree" >&2; exit 1; }

img=$out/praxisgate-$arch.img
rm -f "$img"
total=$((1 + espmb + rootmb + datamb + 1))
truncate -s "${total}M" "$img"
s=2048
sfdisk -q "$img" <<SF
label: gpt
unit: sectors
start=$s, size=$((espmb * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="esp"
start=$((s + espmb * 2048)), size=$((rootmb * 2048)), type=$( [ "$arch" = amd64 ] && echo 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 || echo B921B045-1DF0-41C3-AF44-4C6F280D3FAE ), name="root"
start=$((s + (espmb + rootmb) * 2048)), size=$((datamb * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="data"
SF
dd if="$esp" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$work/root.img" of="$img" bs=1M seek=$((1 + espmb)) conv=notrunc,sparse status=none
dd if="$work/data.img" of="$img" bs=1M seek=$((1 + espmb + rootmb)) conv=notrunc,sparse status=none

zstd -q -T0 -10 -f "$img" -o "$img.zst"
raw=$(stat -c %s "$img") zst=$(stat -c %s "$img.zst")
echo "== $img: $((raw / 1000000)) MB raw ($((raw / 1048576)) MiB; $(du -m "$img" | cut -f1) MiB allocated), $((zst / 1000000)) MB zstd; kernel $kver; root ${rootmb} MiB with ${rootfreemb} MiB free; data ${datamb} MiB with ${datafreemb} MiB free; built in $(( $(date +%s) - start )) s"
# The issue's limits are for the amd64 mini-PC image (decimal MB).
if [ "$arch" = amd64 ] && { [ "$raw" -gt 400000000 ] || [ "$zst" -gt 150000000 ]; }; then
	echo "build-image.sh: WARNING: over the size limits (400 MB raw, 150 MB compressed)" >&2
fi

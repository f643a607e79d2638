#!/bin/bash
# Boot test of the appliance image: boots praxisgate-ARCH.img in qemu
# (software emulation), with user-mode networking restricted to two
# forwards: the guest's 10.0.2.100:1883 leads to a Mosquitto this test starts
# on the host's loopback, and the host's loopback port WEB leads to the
# guest's 443. Nothing else leaves the guest. Checks:
#   1. the gateway publishes status "online" (prints boot-to-first-publish),
#   2. systemd saw its readiness (Type=notify: a probe ExecStartPost, which
#      systemd runs only after READY=1, prints to the console),
#   3. the web page answers through the forwarded port,
#   4. the data partition grew into the rest of the (enlarged) disk,
#   5. the root file system has at least 120 MiB free for OS updates,
#   6. an OS update goes through the box's own path on the read-only root:
#      apt-daily and apt-daily-upgrade (started with systemd.wants= on the
#      kernel command line) make the root writable, unattended-upgrades
#      installs a newer package from a local repository on the data
#      partition (os-update-fixture.sh), and the root is read-only again;
#      after a clean ACPI shutdown the update is on the root file system,
#      which e2fsck finds clean.
# Kernel messages are kept off the console (loglevel=3) so they cannot split
# systemd's status lines, and the console's getty is masked: systemd prints
# no status lines while a process holds the console, and on a slow guest the
# login prompt comes before praxisgate's readiness (its root login is locked
# anyway). Time-bounded (TIMEOUT, default 300 s). Prints "N passed, M failed".
#
#   image/test-image.sh [-a amd64|arm64] [-i IMAGEDIR] [-t TIMEOUT] [-u]
# -u boots through the firmware and systemd-boot (UEFI, slower) instead of
#    qemu's direct kernel boot; the OS update check (6) needs the direct
#    boot's kernel command line and is left out.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
arch=amd64 dir="$repo/dist/image" timeout=300 uefi=0
while getopts a:i:t:u opt; do
	case $opt in
	a) arch=$OPTARG ;;
	i) dir=$OPTARG ;;
	t) timeout=$OPTARG ;;
	u) uefi=1 ;;
	*) exit 2 ;;
	esac
done
img=$dir/praxisgate-$arch.img
for f in "$img" "$dir/praxisgate-$arch.vmlinuz" "$dir/praxisgate-$arch.initrd"; do
	[ -f "$f" ] || { echo "test-image.sh: $f missing: run 'make image' (image/build-image.sh) first" >&2; exit 1; }
done
case $arch in
amd64) qemu=qemu-system-x86_64 qpkg=qemu-system-x86 fw=/usr/share/OVMF/OVMF_CODE.fd
	machine="-machine q35 -cpu max" console=ttyS0 ;;
arm64) qemu=qemu-system-aarch64 qpkg=qemu-system-arm fw=/usr/share/AAVMF/AAVMF_CODE.fd
	machine="-machine virt -cpu cortex-a57" console=ttyAMA0 ;;
*) echo "test-image.sh: $arch not supported" >&2; exit 2 ;;
esac
missing=""
for bin in $qemu:$qpkg mosquitto:mosquitto mosquitto_sub:mosquitto-clients socat:socat curl:curl debugfs:e2fsprogs \
	sfdisk:fdisk dpkg-deb:dpkg python3:python3; do
	command -v "${bin%%:*}" >/dev/null 2>&1 || missing="$missing ${bin#*:}"
done
if [ "$uefi" = 1 ]; then
	[ "$arch" = amd64 ] && { [ -f "$fw" ] || missing="$missing ovmf"; }
	[ "$arch" = arm64 ] && { [ -f "$fw" ] || missing="$missing qemu-efi-aarch64"; }
fi
if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
			{ echo "test-image.sh: cannot install$missing" >&2; exit 1; }
	else
		echo "test-image.sh: missing$missing ('make image-test' as root installs them)" >&2
		exit 1
	fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/praxisgate-imgtest.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -f "$work/disk.img" "$work/data.img" "$work/root.img" "$work/vars.fd"
	if [ "${fail:-0}" = 0 ]; then
		rm -rf "$work"
	else
		echo "logs kept in $work (console.log, mqtt.log, mosquitto.log)" >&2
	fi
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
mqtt_port=$(free_port) web_port=$(free_port)

# The test's config goes onto a copy of the image's data partition.
cp --sparse=always "$img" "$work/disk.img"
# A bigger disk than the image, as on a real SSD: the data partition must
# grow into the rest at the first boot (systemd-repart, x-systemd.growfs).
truncate -s +256M "$work/disk.img"
part() { # part NAME: "start size" of the partition in sectors
	sfdisk -d "$work/disk.img" | grep "name=\"$1\"" |
		sed -n 's/.*start= *\([0-9]*\), *size= *\([0-9]*\).*/\1 \2/p'
}
read -r dstart dsize <<<"$(part data)"
read -r rstart rsize <<<"$(part root)"
[ -n "$dsize" ] && [ -n "$rsize" ] || { echo "test-image.sh: no root or data partition in $img" >&2; exit 1; }
dd if="$work/disk.img" of="$work/data.img" bs=512 skip="$dstart" count="$dsize" status=none
dd if="$work/disk.img" of="$work/root.img" bs=512 skip="$rstart" count="$rsize" conv=sparse status=none

pass=0 fail=0
ok() { echo "ok:   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }

# Room for OS updates on the read-only root (a kernel update: docs/image.md).
rootfree=$(dumpe2fs -h "$work/root.img" 2>/dev/null |
	awk -F: '/^Free blocks/ { f = $2 } /^Block size/ { b = $2 } END { print int(f * b / 1048576) }')
if [ "${rootfree:-0}" -ge 120 ]; then
	ok "root file system has $rootfree MiB free for OS updates"
else
	bad "root file system has ${rootfree:-?} MiB free, want >= 120 MiB for OS updates"
fi
cat >"$work/praxisgate.yaml" <<CFG
site: image-test
gateway: qemu-1
uplink:
  broker: tcp://10.0.2.100:1883
  backoff_max: 5s
self:
  interval: 10s
CFG
gid=$(debugfs -R 'stat /etc-praxisgate' "$work/data.img" 2>/dev/null | sed -n 's/.*Group: *\([0-9]*\).*/\1/p' | head -n1)
debugfs -w -f - "$work/data.img" >/dev/null 2>&1 <<DBG
cd /etc-praxisgate
rm praxisgate.yaml
write $work/praxisgate.yaml praxisgate.yaml
sif praxisgate.yaml uid 0
sif praxisgate.yaml gid ${gid:-0}
sif praxisgate.yaml mode 0100640
DBG
# (Read whole first: under pipefail a grep -q that stops early fails the
# pipeline with SIGPIPE.)
grep -q 'qemu-1' <<<"$(debugfs -R 'cat /etc-praxisgate/praxisgate.yaml' "$work/data.img" 2>/dev/null)" ||
	{ echo "test-image.sh: could not write the test config into the data partition" >&2; exit 1; }
# Readiness probe: systemd runs ExecStartPost only after the daemon's
# READY=1 (Type=notify). systemd's own "Started" status line is not enough:
# it is not printed while a process holds the console, and on the slow
# arm64 guest it was missing although the daemon ran.
# DevicePolicy=closed holds for "+" commands too, hence the DeviceAllow;
# "-": a failing probe fails this check, not the unit. The probe also runs
# /usr/bin/praxisgate, in the image a link to the provisioned current
# binary, and prints its version before the ready line ($$: a literal $
# for systemd).
printf '%s\n' '[Service]' 'DeviceAllow=/dev/console w' \
	"ExecStartPost=-+/bin/sh -c 'v=\$\$(/usr/bin/praxisgate version 2>&1 | head -n1); echo \"imgtest: usr-bin \$\$v\" >/dev/console; echo \"imgtest: praxisgate.service ready\" >/dev/console'" >"$work/ready.conf"
debugfs -w -f - "$work/root.img" >/dev/null 2>&1 <<DBG
mkdir /etc/systemd/system/praxisgate.service.d
write $work/ready.conf /etc/systemd/system/praxisgate.service.d/zz-imgtest.conf
sif /etc/systemd/system/praxisgate.service.d/zz-imgtest.conf mode 0100644
sif /etc/systemd/system/praxisgate.service.d/zz-imgtest.conf uid 0
sif /etc/systemd/system/praxisgate.service.d/zz-imgtest.conf gid 0
DBG
grep -q 'imgtest' <<<"$(debugfs -R 'cat /etc/systemd/system/praxisgate.service.d/zz-imgtest.conf' "$work/root.img" 2>/dev/null)" ||
	{ echo "test-image.sh: could not write the readiness probe into the root" >&2; exit 1; }
update=""
if [ "$uefi" = 0 ]; then
	update=$("$here/os-update-fixture.sh" "$work" "$work/root.img" "$work/data.img" | tail -n1) ||
		{ echo "test-image.sh: could not prepare the OS update" >&2; exit 1; }
fi
dd if="$work/root.img" of="$work/disk.img" bs=512 seek="$rstart" conv=notrunc,sparse status=none
dd if="$work/data.img" of="$work/disk.img" bs=512 seek="$dstart" conv=notrunc status=none

printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$mqtt_port" >"$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$mqtt_port") 2>/dev/null && break
	sleep 0.1
done
mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -t 'praxisgate/v1/image-test/qemu-1/#' -v >"$work/mqtt.log" 2>&1 &
pids+=($!)
sleep 0.5

boot=(-kernel "$dir/praxisgate-$arch.vmlinuz" -initrd "$dir/praxisgate-$arch.initrd"
	-append "root=LABEL=pgroot ro rootwait console=$console,115200 loglevel=3 systemd.show_status=1 systemd.wants=apt-daily.service systemd.wants=apt-daily-upgrade.service systemd.mask=serial-getty@$console.service")
if [ "$uefi" = 1 ]; then
	boot=(-drive "if=pflash,format=raw,readonly=on,file=$fw")
	if [ "$arch" = arm64 ]; then
		# The virt machine's second flash holds the UEFI variables.
		cp "${fw%_CODE.fd}_VARS.fd" "$work/vars.fd"
		boot+=(-drive "if=pflash,format=raw,file=$work/vars.fd")
	fi
fi
net="user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$web_port-:443"
net="$net,guestfwd=tcp:10.0.2.100:1883-cmd:socat - TCP:127.0.0.1:$mqtt_port"
t0=$(date +%s.%N)
# shellcheck disable=SC2086
$qemu $machine -m 1024 -smp 2 -nographic -no-reboot -serial "file:$work/console.log" \
	-monitor "unix:$work/monitor,server=on,wait=off" \
	-drive "file=$work/disk.img,format=raw,if=virtio" "${boot[@]}" \
	-netdev "$net" -device virtio-net-pci,netdev=n0 >"$work/qemu.log" 2>&1 &
qpid=$!
pids+=("$qpid")
echo "== booting $img in $qemu (TCG; mqtt :$mqtt_port, web :$web_port, timeout ${timeout}s)"

deadline=$(( $(date +%s) + timeout ))
published=""
while [ "$(date +%s)" -lt "$deadline" ]; do
	if grep -q '/status .*"state":"online"' "$work/mqtt.log"; then
		published=$(date +%s.%N)
		break
	fi
	kill -0 "$qpid" 2>/dev/null || break
	sleep 0.5
done
if [ -n "$published" ]; then
	ok "status online published: $(awk -v a="$t0" -v b="$published" 'BEGIN { printf "%.1f", b - a }') s from qemu start to first publish"
	grep -m1 '/status ' "$work/mqtt.log"
else
	bad "no status online within ${timeout}s"
fi
ready=""
ready_by=$(( $(date +%s) + 90 ))
[ "$ready_by" -lt "$deadline" ] || ready_by=$deadline
while [ -n "$published" ] && [ "$(date +%s)" -lt "$ready_by" ]; do
	if grep -a -q 'imgtest: praxisgate.service ready' "$work/console.log"; then ready=1; break; fi
	if grep -q 'Failed to start .*praxisgate\|praxisgate.service: start operation timed out' "$work/console.log"; then break; fi
	sleep 1
done
if [ -n "$ready" ]; then
	ok "systemd: praxisgate.service ready (sd_notify READY; ExecStartPost ran)"
else
	bad "systemd never saw praxisgate's READY (Type=notify): the daemon must call update.NotifyReady()"
fi
# The root keeps no copy of the binary: /usr/bin/praxisgate must run the
# version the daemon runs (it published it in its status).
usrbin=$(grep -a -m1 -o 'imgtest: usr-bin .*' "$work/console.log" | tr -d '\r' | cut -d' ' -f3-)
running=$(grep -m1 -o '"version":"[^"]*"' "$work/mqtt.log" | cut -d'"' -f4)
if [ -n "$running" ] && [ "$usrbin" = "praxisgate $running" ]; then
	ok "/usr/bin/praxisgate (a link to the current version) runs: $usrbin"
else
	bad "/usr/bin/praxisgate printed \"$usrbin\", want \"praxisgate $running\" (the daemon's version)"
fi
code=""
while [ -n "$published" ] && [ "$(date +%s)" -lt "$deadline" ]; do
	code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 10 "https://127.0.0.1:$web_port/" 2>/dev/null)
	case $code in [1-5][0-9][0-9]) break ;; esac
	code=""
	sleep 2
done
if [ -n "$code" ]; then
	ok "web page answers through the forwarded port (HTTP $code)"
else
	bad "web page did not answer on https://127.0.0.1:$web_port/ (guest :443)"
fi
# The box's own telemetry reports the size of the state directory's file
# system; 24 MiB in the image, about 280 MB once grown.
size=""
while [ -n "$published" ] && [ "$(date +%s)" -lt "$deadline" ]; do
	size=$(grep -o '"name":"disk.size","value":[0-9.e+]*' "$work/mqtt.log" | tail -n1 | sed 's/.*"value"://')
	[ -n "$size" ] && break
	sleep 2
done
if [ -n "$size" ] && awk -v s="$size" 'BEGIN { exit !(s > 200 * 1024 * 1024) }'; then
	ok "data partition grew to the disk: $(awk -v s="$size" 'BEGIN { printf "%.0f", s / 1048576 }') MiB"
else
	bad "data partition did not grow (disk.size ${size:-not reported}, want > 200 MiB)"
fi
if [ -n "$update" ]; then
	ended=""
	while [ -n "$published" ] && [ "$(date +%s)" -lt "$deadline" ]; do
		ended=$(grep -a -o 'imgtest: apt-daily-upgrade ended.*' "$work/console.log" | head -n1)
		[ -n "$ended" ] && break
		kill -0 "$qpid" 2>/dev/null || break
		sleep 2
	done
	started=$(grep -a -o 'imgtest: apt-daily-upgrade starts.*' "$work/console.log" | head -n1)
	echo "${started:-no apt-daily-upgrade start seen}"
	echo "${ended:-no apt-daily-upgrade end seen}"
	if [[ $started == *"/ is rw"* ]] && [[ $ended == *"(success), / is ro"* ]]; then
		ok "apt-daily-upgrade ran with the root writable and left it read-only"
	else
		bad "apt-daily-upgrade: root not writable while it ran, or not read-only after, or the unit failed"
	fi
fi
# A clean ACPI shutdown, so that the root can be read back (and must be clean).
down=""
if kill -0 "$qpid" 2>/dev/null; then
	printf 'system_powerdown\n' | socat - "UNIX-CONNECT:$work/monitor" >/dev/null 2>&1
	down_by=$(( $(date +%s) + 120 ))
	while kill -0 "$qpid" 2>/dev/null && [ "$(date +%s)" -lt "$down_by" ]; do sleep 1; done
	kill -0 "$qpid" 2>/dev/null || down=1
fi
if [ -n "$update" ]; then
	dd if="$work/disk.img" of="$work/root.img" bs=512 skip="$rstart" count="$rsize" conv=sparse status=none
	got=$(debugfs -R 'cat /var/lib/dpkg/status' "$work/root.img" 2>/dev/null |
		awk '/^Package: /{ p = $2 } p == "usr-is-merged" && /^Version: /{ print $2 }')
	marker=$(debugfs -R 'cat /usr/share/praxisgate-imgtest/updated' "$work/root.img" 2>/dev/null)
	if [ -z "$down" ]; then
		bad "the guest did not power off within 120 s of the ACPI power button"
	elif [ "$got" = "$update" ] && [ -n "$marker" ] && e2fsck -fn "$work/root.img" >"$work/e2fsck.log" 2>&1; then
		ok "OS update installed on the read-only root ($got), root file system clean after shutdown"
	else
		bad "OS update not on the root after shutdown (usr-is-merged ${got:-?}, want $update; marker ${marker:+present}${marker:-missing}) or e2fsck found errors ($work/e2fsck.log)"
	fi
fi
if [ "$fail" != 0 ]; then
	echo "---- console (last 60 lines)" >&2
	tail -n 60 "$work/console.log" >&2
	echo "---- qemu" >&2
	tail -n 5 "$work/qemu.log" >&2
fi
echo "image test took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s"
echo "image: $pass passed, $fail failed"
[ "$fail" = 0 ]

# praxisgate — build, demo, tests and benchmarks.
# `make demo` needs nothing but Go. `make test` installs the real test peers
# (Debian packages) when run as root and missing, then runs vet and the race
# detector over everything.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
PKG       := ./cmd/praxisgate
DIST      := dist

# Debian packages the tests start as real peers, and the C toolchain the
# race detector needs (found by running `make check` in a fresh Debian 12
# chroot).
TEST_PEERS := gcc libc6-dev mosquitto mosquitto-clients snmpd snmp nut-server nut-client socat arp-scan nmap iproute2 util-linux dcmtk python3 python3-pymodbus python3-serial python3-serial-asyncio curl nats-server chromium e2fsprogs libxml2-utils poppler-utils prometheus zabbix-agent2 zabbix-proxy-sqlite3

# Debian packages the appliance tests use (the image scripts install their
# own build tools, mmdebstrap and lintian among them, when missing).
APPLIANCE_PEERS := qemu-system-x86 qemu-system-arm ovmf qemu-efi-aarch64 e2fsprogs fdisk xz-utils

# Packages holding tests that run inside a light qemu guest (image/vmtest,
# docs/image.md "Light VM tests"): every package with a `//go:build vmtest`
# test file. Their Debian packages are in APPLIANCE_PEERS (qemu-system-x86,
# e2fsprogs, xz-utils); the guests' kernel package is fetched with
# `apt-get download` into the user cache on first use.
VM_TEST_PKGS = $(shell grep -rl --include='*_test.go' '^//go:build vmtest' . | xargs -r -n1 dirname | sort -u)
# Packages whose guest-only USB HID tests (`//go:build uhidvm`, no host
# half) run inside a guest through image/vmtest/cmd/vmrun, with uhid and
# hid-generic loaded and the HID test data copied in.
UHID_VM_PKGS = $(shell grep -rl --include='*_test.go' '^//go:build uhidvm' . | xargs -r -n1 dirname | sort -u)
# What those guests get: the modules, the HID recordings, and Mosquitto
# with its libraries (and passwd/group, which it reads as root) for the
# tests through the whole gateway (gateway/upshid_uhidvm_test.go).
UHID_VM_FLAGS = -modules uhid,hid_generic -programs /usr/sbin/mosquitto \
	-files drivers/testdata/third_party/hid,/etc/passwd,/etc/group

.PHONY: all build build-amd64 build-arm64 demo test test-short test-peers appliance-peers install-missing check vet bench fuzz clean security package package-test image image-test image-arm64 image-test-arm64 vm-test powercut-soak ups-bench

all: build

build: build-amd64 build-arm64
	@ls -l $(DIST)/

build-amd64:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/praxisgate-linux-amd64 $(PKG)

build-arm64:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/praxisgate-linux-arm64 $(PKG)

demo:
	$(GO) run -ldflags '-X main.version=$(VERSION)' $(PKG) demo $(DEMO_FLAGS)

# Install the test peers that are missing (only as root; otherwise the
# tests fail with a message naming the missing program).
test-peers:
	@$(MAKE) --no-print-directory install-missing PEERS='$(TEST_PEERS)'

appliance-peers:
	@$(MAKE) --no-print-directory install-missing PEERS='$(APPLIANCE_PEERS)'

install-missing:
	@missing=""; for p in $(PEERS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing test peers:$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else \
			echo "missing test peers:$$missing (run 'make test' as root or apt-get install them)"; \
		fi; \
	fi

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

test: test-peers vet
	$(GO) test -race -timeout 30m ./...

# The contributors' fast tier: no root, no peers, no race detector. Unit
# tests, fuzz seeds, the simulators and the in-memory queue; every test that
# needs a real peer, root or a network namespace skips itself under -short
# (testpeer.SkipShort) and runs in `make test`.
test-short: vet
	$(GO) test -short -timeout 10m ./...

# Everything CI runs: the Go tests, the tests in light qemu guests (uhid,
# power cuts; a few minutes), then the appliance: the Debian package
# installed, upgraded and purged in a chroot, and the amd64 image built and
# booted in qemu until its gateway publishes (about 10-20 minutes more).
check: test appliance-peers vm-test package-test image-test

# Tests that boot Debian's kernel in qemu guests (TCG, no KVM, no root
# needed but for what the tests do inside the guest). Not part of
# `make test`: they are built only with the vmtest tag, and the power-cut
# night with the appliance in a guest (cmd/praxisgate) with the nightvm
# tag; that one also needs the test peers (Mosquitto, snmpd on the host).
vm-test: appliance-peers test-peers
	$(GO) vet -tags vmtest $(VM_TEST_PKGS)
	$(GO) vet -tags nightvm ./cmd/praxisgate
	@start=$$(date +%s); rc=0; \
	$(GO) test -tags vmtest -race -count=1 -timeout 30m $(VM_TEST_PKGS) || rc=1; \
	$(GO) test -tags nightvm -race -count=1 -timeout 30m -run '^TestPowerCutNightUSB$$' ./cmd/praxisgate || rc=1; \
	for p in $(UHID_VM_PKGS); do \
		log=$$(mktemp); \
		$(GO) run ./image/vmtest/cmd/vmrun -race -tags uhidvm $(UHID_VM_FLAGS) $$p -test.run UHID >$$log 2>&1 \
			&& tail -1 $$log || { rc=1; cat $$log; }; \
		rm -f $$log; \
	done; \
	echo "vm-test: $$(( $$(date +%s) - start )) s wall time"; exit $$rc

# The USB/serial UPS figures of issue 16, printed: mains loss to the event
# at a Mosquitto subscriber and re-enumeration to the reading back (uhid
# in a qemu guest, the whole gateway, Mosquitto in the guest), the
# driver-only halves of both, and a fresh APC on protocol auto (host,
# pseudo-terminal at 2400 baud). About 10 minutes under TCG.
UPS_BENCH_N ?= 100
ups-bench: appliance-peers
	$(GO) run ./image/vmtest/cmd/vmrun -tags uhidvm $(UHID_VM_FLAGS) -timeout 40m ./gateway \
		-test.run '^$$' -test.bench UHID -test.benchtime $(UPS_BENCH_N)x | grep -E 'Benchmark|ms|vmrun:'
	$(GO) run ./image/vmtest/cmd/vmrun -tags uhidvm $(UHID_VM_FLAGS) -timeout 20m ./drivers/upshid \
		-test.run '^$$' -test.bench UHID -test.benchtime 20x | grep -E 'Benchmark|vmrun:'
	$(GO) test -run '^$$' -bench APCPowerUpFirstReading -benchtime 10x ./drivers/ups | grep Benchmark

# The power-cut soak: 200 cuts (qemu killed, or sysrq b in the guest) while
# eight goroutines append to the buffer and the uplink publishes it to a
# Mosquitto on the host; prints cuts, acknowledged records and losses.
# About 10-40 s a cut under emulation (35 minutes to 2.5 hours).
powercut-soak: appliance-peers
	VMTEST_BUFFER_CUTS=200 $(GO) test -tags vmtest -count=1 -timeout 120m -v -run '^TestPowerCutBuffer$$' ./image/vmtest | grep -E 'power cuts|^(ok|FAIL|---)'

bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./... | tee bench.out

fuzz:
	@for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for t in $$(grep -h '^func Fuzz' $$f/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "== $$f $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime 30s $$f || exit 1; \
		done; \
	done

# The appliance (image/, docs/image.md). These need root and Debian's
# mmdebstrap, lintian and qemu (the scripts install what is missing); the
# image build takes minutes, so they are part of `make check`, not of
# `make test`. The arm64 image takes about half an hour under emulation and
# is built and booted by hand (docs/image.md).
security:
	image/security.sh

package:
	image/build-deb.sh -a amd64 -o $(DIST)
	image/build-deb.sh -a arm64 -o $(DIST)

package-test:
	image/test-package.sh -a amd64

image:
	image/build-image.sh -a amd64 -o $(DIST)/image

image-test: image
	image/test-image.sh -a amd64 -i $(DIST)/image

image-arm64:
	image/build-image.sh -a arm64 -o $(DIST)/image

image-test-arm64: image-arm64
	image/test-image.sh -a arm64 -i $(DIST)/image -t 900

clean:
	rm -rf $(DIST) bench.out

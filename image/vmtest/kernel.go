package vmtest

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// KernelPackage is the Debian metapackage whose kernel the guests boot. It
// is resolved to the versioned package (linux-image-6.1.0-NN-amd64) with
// apt-cache, so the guests follow the host's apt sources like the
// appliance image does.
const KernelPackage = "linux-image-amd64"

// kernel is an unpacked Debian kernel in the cache: the bzImage and the
// dependency index of its modules. Module files are unpacked on demand.
type kernel struct {
	dir     string // <cache>/<package>
	deb     string
	vmlinuz string // the compressed bzImage from the package
	vmlinux string // the same kernel unpacked, if xz could unpack it
	index   moduleIndex
}

// moduleIndex maps a module name (dashes as underscores) to its file in the
// package and its dependencies, read from each module's .modinfo section:
// the package ships no modules.dep (depmod makes it at install time).
type moduleIndex struct {
	Release string              `json:"release"`
	Path    map[string]string   `json:"path"`
	Depends map[string][]string `json:"depends"`
	Builtin map[string]bool     `json:"builtin"`
}

// cacheDir is where kernels are kept between runs:
// $PRAXISGATE_VMTEST_CACHE, else the user cache dir.
func cacheDir() (string, error) {
	if d := os.Getenv("PRAXISGATE_VMTEST_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("vmtest: no cache directory (set PRAXISGATE_VMTEST_CACHE): %w", err)
	}
	return filepath.Join(d, "praxisgate-vmtest"), nil
}

// lock takes an exclusive lock on file, so parallel test binaries do not
// download or unpack the same kernel at once.
func lock(file string) (func(), error) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("vmtest: lock %s: %w", file, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("vmtest: lock %s: %w", file, err)
	}
	return func() { f.Close() }, nil
}

// resolveKernelPackage names the versioned kernel package that
// linux-image-amd64 depends on, e.g. linux-image-6.1.0-57-amd64.
func resolveKernelPackage() (string, error) {
	out, err := exec.Command("apt-cache", "depends", KernelPackage).Output()
	if err != nil {
		return "", fmt.Errorf("vmtest: apt-cache depends %s (needs Debian's apt and current lists, apt-get update): %w", KernelPackage, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("vmtest: apt-cache depends %s names no linux-image-* package:\n%s", KernelPackage, out)
}

// loadKernel returns the cached kernel, downloading its package with
// `apt-get download` (no root needed, nothing installed) on first use.
// PRAXISGATE_VMTEST_KERNEL_DEB names a .deb to use instead.
func loadKernel() (*kernel, error) {
	cache, err := cacheDir()
	if err != nil {
		return nil, err
	}
	debs := filepath.Join(cache, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	unlock, err := lock(filepath.Join(cache, "lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	deb := os.Getenv("PRAXISGATE_VMTEST_KERNEL_DEB")
	if deb == "" {
		pkg, err := resolveKernelPackage()
		if err != nil {
			return nil, err
		}
		matches, _ := filepath.Glob(filepath.Join(debs, pkg+"_*.deb"))
		if len(matches) == 0 {
			cmd := exec.Command("apt-get", "download", pkg)
			cmd.Dir = debs
			if out, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("vmtest: apt-get download %s failed (the guests boot Debian's kernel package %s; put its .deb into %s or set PRAXISGATE_VMTEST_KERNEL_DEB): %w\n%s",
					pkg, pkg, debs, err, out)
			}
			matches, _ = filepath.Glob(filepath.Join(debs, pkg+"_*.deb"))
			if len(matches) == 0 {
				return nil, fmt.Errorf("vmtest: apt-get download %s left no .deb in %s", pkg, debs)
			}
		}
		deb = matches[len(matches)-1]
	}
	k := &kernel{deb: deb, dir: filepath.Join(cache, strings.TrimSuffix(filepath.Base(deb), ".deb"))}
	k.vmlinuz = filepath.Join(k.dir, "vmlinuz")
	indexFile := filepath.Join(k.dir, "modules.json")
	if b, err := os.ReadFile(indexFile); err != nil || json.Unmarshal(b, &k.index) != nil || !fileExists(k.vmlinuz) {
		if err := k.unpackIndex(indexFile); err != nil {
			return nil, err
		}
	}
	k.vmlinux = filepath.Join(k.dir, "vmlinux")
	if !fileExists(k.vmlinux) {
		if err := unpackVmlinux(k.vmlinuz, k.vmlinux); err != nil {
			k.vmlinux = ""
		}
	}
	return k, nil
}

// bootImage is what qemu loads: the unpacked ELF kernel, which qemu starts
// through its PVH entry point (Debian builds CONFIG_PVH), else the bzImage.
// Under TCG the bzImage's own xz decompressor alone takes 15-20 s on a
// loaded 2-core machine; the unpacked kernel skips it.
func (k *kernel) bootImage() string {
	if k.vmlinux != "" {
		return k.vmlinux
	}
	return k.vmlinuz
}

// unpackVmlinux finds the xz stream inside a bzImage and unpacks it with
// xz (xz-utils), as the kernel's scripts/extract-vmlinux does.
func unpackVmlinux(bzImage, dst string) error {
	b, err := os.ReadFile(bzImage)
	if err != nil {
		return err
	}
	off := bytes.Index(b, []byte("\xfd7zXZ\x00"))
	if off < 0 {
		return errors.New("no xz stream in the kernel image")
	}
	var out bytes.Buffer
	cmd := exec.Command("xz", "-dc", "--single-stream")
	cmd.Stdin = bytes.NewReader(b[off:])
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("xz (Debian package xz-utils): %w", err)
	}
	if !bytes.HasPrefix(out.Bytes(), []byte("\x7fELF")) {
		return errors.New("the unpacked kernel is not an ELF file")
	}
	return writeFileAtomic(dst, &out)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// walkDeb streams the data archive of the .deb through fn.
func walkDeb(deb string, fn func(h *tar.Header, r io.Reader) error) error {
	cmd := exec.Command("dpkg-deb", "--fsys-tarfile", deb)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("vmtest: dpkg-deb (Debian package dpkg): %w", err)
	}
	tr := tar.NewReader(out)
	var walkErr error
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			walkErr = fmt.Errorf("vmtest: read %s: %w", deb, err)
			break
		}
		if err := fn(h, tr); err != nil {
			walkErr = err
			break
		}
	}
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil && walkErr == nil {
		walkErr = fmt.Errorf("vmtest: dpkg-deb --fsys-tarfile %s: %w: %s", deb, err, stderr.Bytes())
	}
	return walkErr
}

// unpackIndex reads the package once: the kernel image and every module's
// .modinfo.
func (k *kernel) unpackIndex(indexFile string) error {
	if err := os.MkdirAll(k.dir, 0o755); err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	idx := moduleIndex{Path: map[string]string{}, Depends: map[string][]string{}, Builtin: map[string]bool{}}
	err := walkDeb(k.deb, func(h *tar.Header, r io.Reader) error {
		name := strings.TrimPrefix(h.Name, "./")
		switch {
		case strings.HasPrefix(name, "boot/vmlinuz-"):
			return writeFileAtomic(k.vmlinuz, r)
		case strings.HasPrefix(name, "lib/modules/") && strings.HasSuffix(name, "/modules.builtin"):
			b, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			for _, l := range strings.Fields(string(b)) {
				idx.Builtin[modName(l)] = true
			}
		case strings.HasPrefix(name, "lib/modules/") && strings.HasSuffix(name, ".ko"):
			rel := strings.SplitN(strings.TrimPrefix(name, "lib/modules/"), "/", 2)
			idx.Release = rel[0]
			b, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			deps, err := modDepends(b)
			if err != nil {
				return fmt.Errorf("vmtest: %s in %s: %w", name, k.deb, err)
			}
			idx.Path[modName(name)] = name
			idx.Depends[modName(name)] = deps
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !fileExists(k.vmlinuz) || len(idx.Path) == 0 {
		return fmt.Errorf("vmtest: %s holds no boot/vmlinuz-* or no modules", k.deb)
	}
	k.index = idx
	b, _ := json.Marshal(idx)
	return writeFileAtomic(indexFile, bytes.NewReader(b))
}

func writeFileAtomic(name string, r io.Reader) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-*")
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("vmtest: write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("vmtest: write %s: %w", name, err)
	}
	return os.Rename(f.Name(), name)
}

// modName is the kernel's name for a module file: base name without
// suffix, dashes as underscores.
func modName(file string) string {
	b := path.Base(file)
	b = strings.TrimSuffix(b, ".ko")
	return strings.ReplaceAll(b, "-", "_")
}

// modDepends reads the depends= field of a module's .modinfo section.
func modDepends(ko []byte) ([]string, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil, fmt.Errorf("not an ELF module: %w", err)
	}
	s := f.Section(".modinfo")
	if s == nil {
		return nil, errors.New("no .modinfo section")
	}
	b, err := s.Data()
	if err != nil {
		return nil, fmt.Errorf("read .modinfo: %w", err)
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			var deps []string
			for _, d := range strings.Split(string(v), ",") {
				if d != "" {
					deps = append(deps, modName(d))
				}
			}
			return deps, nil
		}
	}
	return nil, nil
}

// modules returns the files of the named modules and everything they
// depend on, dependencies first, unpacking missing ones into the cache.
// Built-in modules are left out.
func (k *kernel) modules(names []string) ([]string, error) {
	var order []string
	seen := map[string]bool{}
	var visit func(n string, chain []string) error
	visit = func(n string, chain []string) error {
		n = modName(n)
		if seen[n] || k.index.Builtin[n] {
			return nil
		}
		p, ok := k.index.Path[n]
		if !ok {
			return fmt.Errorf("vmtest: kernel module %q is neither built into nor shipped in %s (wanted by %v)", n, filepath.Base(k.deb), chain)
		}
		seen[n] = true
		for _, d := range k.index.Depends[n] {
			if err := visit(d, append(chain, n)); err != nil {
				return err
			}
		}
		order = append(order, p)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	var missing []string
	for _, p := range order {
		if !fileExists(filepath.Join(k.dir, p)) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		if err := k.unpack(missing); err != nil {
			return nil, err
		}
	}
	files := make([]string, len(order))
	for i, p := range order {
		files[i] = filepath.Join(k.dir, p)
	}
	return files, nil
}

// unpack extracts the given package paths into the cache.
func (k *kernel) unpack(paths []string) error {
	cache, err := cacheDir()
	if err != nil {
		return err
	}
	unlock, err := lock(filepath.Join(cache, "lock"))
	if err != nil {
		return err
	}
	defer unlock()
	want := map[string]bool{}
	for _, p := range paths {
		want[p] = true
	}
	err = walkDeb(k.deb, func(h *tar.Header, r io.Reader) error {
		name := strings.TrimPrefix(h.Name, "./")
		if !want[name] {
			return nil
		}
		delete(want, name)
		dst := filepath.Join(k.dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("vmtest: %w", err)
		}
		return writeFileAtomic(dst, r)
	})
	if err != nil {
		return err
	}
	if len(want) > 0 {
		return fmt.Errorf("vmtest: %s lacks %v", k.deb, sortedKeys(want))
	}
	return nil
}

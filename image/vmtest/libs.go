package vmtest

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
)

// libDirs are where Debian's amd64 loader finds libraries.
var libDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// sharedDeps returns the dynamic loader and the shared libraries a binary
// needs (transitively), as host paths. A static binary needs none. A test
// binary built with the race detector or cgo is dynamic, and the guest has
// no root file system but the initramfs, so these go in beside it, under
// the same paths.
func sharedDeps(bin string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	var walk func(file string, top bool) error
	walk = func(file string, top bool) error {
		f, err := elf.Open(file)
		if err != nil {
			return fmt.Errorf("vmtest: read %s: %w", file, err)
		}
		defer f.Close()
		if top {
			for _, p := range f.Progs {
				if p.Type != elf.PT_INTERP {
					continue
				}
				b := make([]byte, p.Filesz)
				if _, err := p.ReadAt(b, 0); err != nil {
					return fmt.Errorf("vmtest: read interpreter of %s: %w", file, err)
				}
				interp := string(b[:len(b)-1])
				if !seen[interp] {
					seen[interp] = true
					out = append(out, interp)
				}
			}
		}
		libs, err := f.ImportedLibraries()
		if err != nil {
			return nil // static
		}
		for _, lib := range libs {
			if seen[lib] {
				continue
			}
			seen[lib] = true
			found := ""
			for _, d := range libDirs {
				p := filepath.Join(d, lib)
				if _, err := os.Stat(p); err == nil {
					found = p
					break
				}
			}
			if found == "" {
				return fmt.Errorf("vmtest: %s needs %s, not found in %v", file, lib, libDirs)
			}
			out = append(out, found)
			if err := walk(found, false); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(bin, true); err != nil {
		return nil, err
	}
	return out, nil
}

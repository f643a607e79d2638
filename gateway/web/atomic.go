package web

import (
	"fmt"
	"os"
	"path/filepath"
)

// writeFileAtomic replaces path with data so that a power cut leaves either
// the old or the new content, never a torn file: temp file in the same
// directory, fsync, rename, fsync of the directory.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// replaceKeepingOld writes path atomically and keeps the previous content
// as path.bak (itself replaced atomically), so a technician's edit that
// turns out wrong can be undone by hand.
func replaceKeepingOld(path string, data []byte, perm os.FileMode) error {
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := writeFileAtomic(path+".bak", old, perm); err != nil {
			return fmt.Errorf("keep old copy: %w", err)
		}
	case !os.IsNotExist(err):
		return fmt.Errorf("read old copy: %w", err)
	}
	return writeFileAtomic(path, data, perm)
}

package vmtest

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// cpioWriter writes the "newc" cpio format, the only one the kernel
// unpacks into its initramfs. It is written here rather than with the
// cpio tool so that device nodes (/dev/console) need no root: they are
// just headers in the archive.
type cpioWriter struct {
	w    io.Writer
	ino  uint32
	dirs map[string]bool
	err  error
}

func newCPIO(w io.Writer) *cpioWriter {
	return &cpioWriter{w: w, ino: 1, dirs: map[string]bool{"": true, ".": true, "/": true}}
}

const (
	modeDir  = 0o040000
	modeFile = 0o100000
	modeChr  = 0o020000
	modeLink = 0o120000
)

func (c *cpioWriter) header(name string, mode uint32, size int, major, minor uint32) {
	if c.err != nil {
		return
	}
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	nlink := uint32(1)
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, major, minor, len(name)+1, 0)
	c.ino++
	c.write([]byte(hdr))
	c.write([]byte(name + "\x00"))
	c.pad(len(hdr) + len(name) + 1)
}

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	_, c.err = c.w.Write(b)
}

func (c *cpioWriter) pad(n int) {
	if r := n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// mkdirAll adds every missing parent directory of name.
func (c *cpioWriter) mkdirAll(dir string) {
	dir = path.Clean("/" + dir)
	if c.dirs[dir] {
		return
	}
	c.mkdirAll(path.Dir(dir))
	c.dirs[dir] = true
	c.header(dir, modeDir|0o755, 0, 0, 0)
}

// file adds a regular file with its parents.
func (c *cpioWriter) file(name string, perm uint32, data []byte) {
	c.mkdirAll(path.Dir(name))
	c.header(name, modeFile|perm, len(data), 0, 0)
	c.write(data)
	c.pad(len(data))
}

// chardev adds a character device node.
func (c *cpioWriter) chardev(name string, major, minor uint32) {
	c.mkdirAll(path.Dir(name))
	c.header(name, modeChr|0o600, 0, major, minor)
}

// close writes the trailer.
func (c *cpioWriter) close() error {
	c.header("TRAILER!!!", 0, 0, 0, 0)
	return c.err
}

// sortedKeys returns m's keys in order, so archives are reproducible.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

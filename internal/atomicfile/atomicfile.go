// Package atomicfile writes a file so that a reader sees the whole of it or
// nothing: into a temporary file in the same folder, synced, renamed over
// the destination, and the folder synced so the rename survives a crash.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// TempGlob matches the temporary files Write makes (".NAME.tmp-RANDOM"):
// one left by a process that died midway can be removed once no live
// process can still be writing it.
const TempGlob = ".*.tmp-*"

// Write creates path with mode 0600 from what fill writes, unbuffered (fill
// buffers as it needs). On any error the destination is left as it was and
// the temporary file is removed.
func Write(path string, fill func(w io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	err = fill(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	SyncDir(dir)
	return nil
}

// SyncDir makes a rename in dir durable, where the system allows it.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

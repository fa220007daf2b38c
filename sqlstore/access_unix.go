//go:build unix

package sqlstore

import "syscall"

// canWrite asks the system whether this process may write path (EACCES,
// EROFS on a read-only file system).
func canWrite(path string) error {
	return syscall.Access(path, 0x2) // W_OK
}

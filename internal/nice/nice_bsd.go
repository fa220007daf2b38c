//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package nice

import "syscall"

// These systems keep one nice value for the whole process.
func atLeast(n int) error {
	cur, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil || cur >= n {
		return err
	}
	return syscall.Setpriority(syscall.PRIO_PROCESS, 0, n)
}

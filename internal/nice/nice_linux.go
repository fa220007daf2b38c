package nice

import (
	"errors"
	"os"
	"strconv"
	"syscall"
)

// Linux keeps a nice value per thread, and a new thread takes its
// creator's. So every thread of the process is lowered, again until a pass
// finds none left: a thread started during a pass by one not yet lowered
// shows up in the next, and once all are lowered every later one is too.
func atLeast(n int) error {
	for range maxPasses {
		lowered, err := lowerThreads(n)
		if err != nil || lowered == 0 {
			return err
		}
	}
	return nil
}

// maxPasses bounds the passes; the second pass finds nothing unless the
// runtime started threads during the first.
const maxPasses = 8

func lowerThreads(n int) (lowered int, err error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		cur, err := threadNice(tid)
		if errors.Is(err, syscall.ESRCH) {
			continue // the thread has exited
		}
		if err != nil {
			return lowered, err
		}
		if cur >= n {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil && !errors.Is(err, syscall.ESRCH) {
			return lowered, err
		}
		lowered++
	}
	return lowered, nil
}

// threadNice returns the nice value of thread tid (0: the calling thread).
func threadNice(tid int) (int, error) {
	// The system call answers 20 - nice, so that no value is negative.
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	return 20 - p, err
}

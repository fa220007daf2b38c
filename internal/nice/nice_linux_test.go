package nice

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The child runs in a process of its own: lowering this test binary's
// threads would slow every test after it.
const childEnv = "CALLBILL_NICE_TEST_CHILD"

func TestMain(m *testing.M) {
	if steps := os.Getenv(childEnv); steps != "" {
		os.Exit(child(steps))
	}
	os.Exit(m.Run())
}

// child applies AtLeast with each value of steps ("15,10"), starts threads
// afterwards, and prints the nice value of every thread, one per line.
func child(steps string) int {
	for _, s := range strings.Split(steps, ",") {
		n, err := strconv.Atoi(s)
		if err == nil {
			err = AtLeast(n)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	// Threads started after the call: goroutines locked to their threads
	// make the runtime start new ones.
	var started, release sync.WaitGroup
	release.Add(1)
	for range 4 {
		started.Add(1)
		go func() {
			runtime.LockOSThread()
			started.Done()
			release.Wait()
		}()
	}
	started.Wait()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, t := range tasks {
		tid, _ := strconv.Atoi(t.Name())
		n, err := threadNice(tid)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(n)
	}
	release.Done()
	return 0
}

func threadsAfter(t *testing.T, steps string) []int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+steps)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child %s: %v", steps, err)
	}
	var nices []int
	for _, line := range strings.Fields(string(out)) {
		n, err := strconv.Atoi(line)
		if err != nil {
			t.Fatalf("child %s printed %q", steps, out)
		}
		nices = append(nices, n)
	}
	if len(nices) < 5 {
		t.Fatalf("child %s saw %d threads, want the 4 it started and more", steps, len(nices))
	}
	return nices
}

// startNice is the nice value the child starts at: this test's, which a
// niced test run (nice go test) raises. AtLeast never lowers it.
func startNice(t *testing.T) int {
	t.Helper()
	n, err := threadNice(0)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEveryThreadLowered(t *testing.T) {
	want := max(startNice(t), Background)
	for _, n := range threadsAfter(t, strconv.Itoa(Background)) {
		if n != want {
			t.Fatalf("a thread at nice %d after AtLeast(%d), want %d", n, Background, want)
		}
	}
}

func TestLowerPriorityKept(t *testing.T) {
	want := max(startNice(t), 15)
	for _, n := range threadsAfter(t, "15,"+strconv.Itoa(Background)) {
		if n != want {
			t.Fatalf("a thread at nice %d: AtLeast(%d) after AtLeast(15) must keep %d", n, Background, want)
		}
	}
}

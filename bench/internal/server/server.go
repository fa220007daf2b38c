// Package server starts a real `callbill serve` on loopback for the
// benchmark programs (bench/load, bench/stream).
package server

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
)

// Options say how to start the server.
type Options struct {
	Bin         string    // the callbill binary
	DSN         string    // its store
	Exports     string    // its export folder
	OperatorKey string    // the operator key it takes
	CPUProfile  string    // when set, the server writes its CPU profile there
	Stderr      io.Writer // where its log goes (nil: nowhere)
}

// Start starts the server on 127.0.0.1 and returns its base URL and a stop
// function that interrupts it and waits for it to exit (and its profile to
// be written).
func Start(o Options) (base string, stop func(), err error) {
	args := []string{"--db", o.DSN}
	if o.CPUProfile != "" {
		args = append(args, "--cpuprofile", o.CPUProfile)
	}
	srv := exec.Command(o.Bin, append(args, "serve", "--addr", "127.0.0.1:0", "--auto-close=false", "--exports", o.Exports)...)
	srv.Env = append(os.Environ(), "CALLBILL_OPERATOR_KEY="+o.OperatorKey)
	out, err := srv.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	srv.Stderr = o.Stderr
	if err := srv.Start(); err != nil {
		return "", nil, err
	}
	stop = func() { srv.Process.Signal(os.Interrupt); srv.Wait() }
	sc := bufio.NewScanner(out)
	re := regexp.MustCompile(`serving on (http://\S+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	go io.Copy(io.Discard, out)
	if base == "" {
		stop()
		return "", nil, fmt.Errorf("the server did not start")
	}
	return base, stop, nil
}

// Package nice lowers the CPU priority of the running process, so that a
// bulk job (a file import) yields the cores to a server on the same
// machine: the scheduler gives a niced process only what the others leave,
// so on an idle machine it loses nothing.
package nice

// Background is the nice value of background work: a tenth of a normal
// process's share of a busy core (the kernel's weights fall about 1.25×
// per step).
const Background = 10

// AtLeast makes the process's nice value at least n, on every thread, and
// never raises a priority that is already lower (an operator's `nice -n
// 19 callbill import` keeps its 19).
func AtLeast(n int) error { return atLeast(n) }

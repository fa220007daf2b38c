package main

import "testing"

func TestPostgresTicks(t *testing.T) {
	for _, c := range []struct {
		stat  string
		ticks int64
		ok    bool
	}{
		// utime 7, stime 3, cutime 250, cstime 40: the postmaster, with the
		// time of its exited backends.
		{"1765 (postgres) S 1 1765 1765 0 -1 4194560 100 2000 0 0 7 3 250 40 20 0 1 0 100 221924 8159", 300, true},
		{"19700 (cat) R 19691 19691 1205 0 -1 4194304 124 0 0 0 5 6 7 8 20 0 1 0 301519 3133440 356", 0, false},
		// A name holding parentheses and spaces is read up to the last ')'.
		{"42 (a) postgres (x) S 1 1 1 0 -1 0 0 0 0 0 9 9 9 9 20 0 1 0 1 1 1", 0, false},
		{"43 (postgres) S 1 1 1 0 -1 0 0 0 0 0 1 2", 0, false},         // cut short
		{"44 (postgres) S 1 1 1 0 -1 0 0 0 0 0 1 2 x 4 20", 0, false},  // not a number
		{"45 (postgres) S 1 1 1 0 -1 0 0 0 0 0 1 2 -1 4 20", 0, false}, // negative
		{"postgres", 0, false},
	} {
		ticks, ok := postgresTicks(c.stat)
		if ticks != c.ticks || ok != c.ok {
			t.Errorf("postgresTicks(%q) = %d, %v; want %d, %v", c.stat, ticks, ok, c.ticks, c.ok)
		}
	}
}

func TestLocalHost(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://postgres@127.0.0.1:55432/bench?sslmode=disable": true,
		"postgres://localhost/bench":                                true,
		"postgres://[::1]:5432/bench":                               true,
		"postgres:///bench?host=/var/run/postgresql":                true,
		"postgres://db.example.com/bench":                           false,
		"postgres://10.0.0.7:5432/bench":                            false,
	} {
		if got := localHost(dsn); got != want {
			t.Errorf("localHost(%q) = %v, want %v", dsn, got, want)
		}
	}
}

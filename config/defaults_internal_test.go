package config

import "testing"

// TestBuiltInDefaultsRead: every setting's built-in default reads as its
// value, so that Load never reports one.
func TestBuiltInDefaultsRead(t *testing.T) {
	var ps problems
	defaults(&ps)
	if ps.count != 0 {
		t.Fatalf("built-in defaults that do not read: %v", ps.list())
	}
	// A default that does not read is a problem of its key, not a panic.
	saved := defs
	defer func() { defs = saved }()
	defs = append(append([]def(nil), saved...), with(value("serve.broken", func(c *Config) *Setting[string] { return &c.Serve.Addr }, parseAddr, plain), "", "", "no port"))
	ps = problems{}
	defaults(&ps)
	if ps.count != 1 || ps.list()[0].Path != "serve.broken" {
		t.Fatalf("a broken default: %v", ps.list())
	}
}

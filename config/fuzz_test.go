package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/config"
)

// FuzzConfig feeds Parse arbitrary bytes (a file is at most 1 MiB): it must
// not panic, must finish quickly, must list at most MaxProblems+1 problems,
// each with a message that is clean, bounded text; a file it takes shows
// every setting, and nothing of a key's text. The seeds are under
// testdata/fuzz/FuzzConfig.
func FuzzConfig(f *testing.F) {
	f.Add([]byte("db: x.db\nserve:\n  addr: :8080\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > config.MaxFileBytes {
			data = data[:config.MaxFileBytes]
		}
		start := time.Now()
		c, err := config.Parse(data, "f.yaml")
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("Parse took %v on %d bytes", took, len(data))
		}
		if err != nil {
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("not a configuration error: %v", err)
			}
			if len(ce.Problems) == 0 || len(ce.Problems) > callbill.MaxProblems+1 {
				t.Fatalf("%d problems", len(ce.Problems))
			}
			for _, p := range ce.Problems {
				if s := ce.Line(p); p.Message == "" || !clean(s) || len(s) > 2000 {
					t.Fatalf("problem without a message, not clean or too long (%d bytes): %q", len(s), s)
				}
			}
			return
		}
		entries := c.Entries()
		if len(entries) != len(config.Keys()) {
			t.Fatalf("%d entries for %d settings", len(entries), len(config.Keys()))
		}
		for _, e := range entries {
			if e.Secret && e.Value != "set" && e.Value != "not set" {
				t.Fatalf("%s shows %q", e.Key, e.Value)
			}
			if !clean(e.Value) {
				t.Fatalf("%s: not clean: %q", e.Key, e.Value)
			}
		}
		// What is shown does not depend on a key's text.
		other := *c
		for _, k := range []*config.Secret{&other.OperatorKey, &other.MasterKey} {
			if k.Text != "" {
				k.Text = "another key"
			}
		}
		for i, e := range other.Entries() {
			if e != entries[i] {
				t.Fatalf("%s shows something of a key's text: %q", e.Key, entries[i].Value)
			}
		}
	})
}

// clean is valid UTF-8 without control characters.
func clean(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' })
}

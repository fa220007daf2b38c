package world

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/callbill/callbill"
)

// FuzzParse feeds Parse arbitrary bytes: it must not panic, must finish
// (the alias budget holds), must list at most maxProblems+1 problems, each
// with a message, and a World it returns holds only clean, bounded text.
// The seeds are under testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(designExample))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Request bodies are bounded before they reach Parse; 64 KiB keeps
		// each run short.
		if len(data) > 64<<10 {
			data = data[:64<<10]
		}
		start := time.Now()
		w, probs := Parse(data)
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("Parse took %v on %d bytes", took, len(data))
		}
		if len(probs) > maxProblems+1 {
			t.Fatalf("%d problems", len(probs))
		}
		for _, p := range probs {
			if p.Message == "" {
				t.Fatalf("problem at %q without a message", p.Path)
			}
			if s := p.String(); !clean(s) || len(s) > 4000 {
				t.Fatalf("problem not clean or too long (%d bytes): %q", len(s), s)
			}
		}
		if len(probs) > 0 {
			// A world with problems carries them, so that it is never
			// applied; what it holds is still clean, bounded text.
			if w != nil {
				if len(w.Problems) != len(probs) {
					t.Fatalf("the world carries %d problems, Parse returned %d", len(w.Problems), len(probs))
				}
				checkWorld(t, w)
			}
			for _, p := range probs {
				if p.More == 0 && p.Line == 0 && p.Path != "" {
					t.Fatalf("problem at %q without a line", p.Path)
				}
			}
			return
		}
		if w == nil {
			t.Fatal("no world and no problems")
		}
		checkWorld(t, w)
	})
}

// clean is valid UTF-8 without NUL.
func clean(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

func checkWorld(t *testing.T, w *callbill.World) {
	t.Helper()
	text := func(what, s string, max int) {
		t.Helper()
		if !clean(s) || len(s) > max {
			t.Fatalf("%s %q: not clean or longer than %d bytes", what, s, max)
		}
	}
	text("timezone", w.Timezone, maxIDLen)
	if w.MaxCallSeconds < 0 || w.MaxCallSeconds > callbill.MaxCallSecondsLimit {
		t.Fatalf("max_call_seconds %d", w.MaxCallSeconds)
	}
	for _, p := range w.Prices {
		text("price path", p.Path, 64)
		for _, tier := range p.Tiers {
			if tier.Price.IsNegative() || tier.Price.GreaterThan(callbill.MaxPrice) {
				t.Fatalf("price %s", tier.Price)
			}
		}
	}
	accounts := append(append([]callbill.Account(nil), w.Accounts...), w.Unread.Accounts...)
	for _, a := range accounts {
		text("uid", a.UID, maxIDLen)
		text("account path", a.Path, 64)
		text("name", a.Name, maxNameLen)
		if a.CreditLine.GreaterThan(callbill.MaxAmount) || a.Allowance.GreaterThan(callbill.MaxAmount) {
			t.Fatalf("account %s: credit line %s, allowance %s", a.UID, a.CreditLine, a.Allowance)
		}
		for _, in := range a.Instances {
			text("instance id", in.ID, maxIDLen)
			for _, n := range in.Numbers {
				text("number", n.Number, maxIDLen)
				text("tier", n.Tier, maxIDLen)
			}
		}
	}
	for _, tu := range append(append([]callbill.TopUp(nil), w.TopUps...), w.Unread.TopUps...) {
		text("top-up id", tu.ID, maxIDLen)
		text("top-up account", tu.Account, maxIDLen)
		if tu.Amount.IsNegative() || tu.Amount.GreaterThan(callbill.MaxAmount) {
			t.Fatalf("top-up amount %s", tu.Amount)
		}
	}
	for _, tu := range w.TopUps {
		if !tu.Amount.IsPositive() {
			t.Fatalf("top-up amount %s", tu.Amount)
		}
	}
	for _, pu := range append(append([]callbill.Purchase(nil), w.Purchases...), w.Unread.Purchases...) {
		text("purchase id", pu.ID, maxIDLen)
		text("purchase account", pu.Account, maxIDLen)
		text("purchase instance", pu.Instance, maxIDLen)
		text("purchase number", pu.Number, maxIDLen)
	}
	for path := range w.Positions {
		text("position path", path, 4000)
	}
}

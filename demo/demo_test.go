package demo

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/cdr"
	"github.com/callbill/callbill/provision"
	"github.com/callbill/callbill/world"
)

var october = callbill.NewCycle(2026, time.October)

func parseWorld(t testing.TB, o Options) *callbill.World {
	t.Helper()
	w, probs := world.Parse(World(o))
	if len(probs) > 0 {
		t.Fatalf("World(%+v) has problems:\n%v", o, probs)
	}
	return w
}

// combo is what decides how a call is charged.
type combo struct {
	source callbill.NumberSource
	kind   callbill.NumberKind
	mode   callbill.Mode
	dir    callbill.Direction
}

// allowedCombos are the source × kind × mode × direction combinations the
// world's number types allow: CCC, third-party and own fixed lines in and
// out, CCC 400 in only, each on both modes.
func allowedCombos() map[combo]bool {
	out := map[combo]bool{}
	for _, m := range []callbill.Mode{callbill.ModePayg, callbill.ModeSubscription} {
		for _, d := range []callbill.Direction{callbill.Inbound, callbill.Outbound} {
			for _, s := range []callbill.NumberSource{callbill.SourceCCC, callbill.SourceThirdParty, callbill.SourceOwn} {
				out[combo{s, callbill.NumberFixed, m, d}] = true
			}
		}
		out[combo{callbill.SourceCCC, callbill.Number400, m, callbill.Inbound}] = true
	}
	return out
}

var uid16 = regexp.MustCompile(`^1[0-9]{15}$`)

func TestWorldParses(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	book := callbill.NewPriceBook(nil)
	for _, n := range []int{1, 4, 1000} {
		o := Options{Cycle: october, Accounts: n, Calls: 40_000, Seed: 1}
		src := World(o)
		w := parseWorld(t, o)
		if len(w.Accounts) != n {
			t.Fatalf("%d accounts: got %d", n, len(w.Accounts))
		}
		if w.Timezone != "Asia/Shanghai" {
			t.Errorf("timezone %q", w.Timezone)
		}
		for _, line := range strings.Split(string(src), "\n") {
			if strings.Contains(line, "T0") && !strings.Contains(line, "+08:00") {
				t.Errorf("time not in +08:00: %s", line)
			}
		}
		accts := map[string]*callbill.Account{}
		modes := map[callbill.Mode]int{}
		contracts, credit, individuals := 0, 0, 0
		sourcesKinds := map[[2]string]bool{}
		for i := range w.Accounts {
			a := &w.Accounts[i]
			accts[a.UID] = a
			if !uid16.MatchString(a.UID) {
				t.Errorf("uid %q is not 16 digits", a.UID)
			}
			if a.Contract != nil {
				contracts++
				if !a.Contract.Discount.Equal(decimal.RequireFromString("0.9")) ||
					!a.Contract.Items[callbill.ItemFixedLineOutbound].Equal(decimal.RequireFromString("0.85")) {
					t.Errorf("contract of %s: %+v", a.UID, a.Contract)
				}
			}
			if a.CreditLine.IsPositive() {
				credit++
			}
			if a.Kind == callbill.AccountIndividual {
				individuals++
			}
			if len(a.Instances) < 1 || len(a.Instances) > 2 {
				t.Errorf("%s has %d instances", a.UID, len(a.Instances))
			}
			for _, in := range a.Instances {
				modes[in.Mode]++
				if !strings.HasPrefix(in.ID, "ccc-") {
					t.Errorf("instance id %q", in.ID)
				}
				if len(in.Numbers) < 2 || len(in.Numbers) > 5 {
					t.Errorf("%s has %d numbers", in.ID, len(in.Numbers))
				}
				fixed := false
				for _, nm := range in.Numbers {
					fixed = fixed || nm.Kind == callbill.NumberFixed
					sourcesKinds[[2]string{string(nm.Source), string(nm.Kind)}] = true
				}
				if !fixed {
					t.Errorf("%s has no fixed number to call out on", in.ID)
				}
			}
		}
		if contracts != 1 {
			t.Errorf("%d accounts: %d contracts, want 1", n, contracts)
		}
		if want := min(n-1, 1); credit != want {
			t.Errorf("%d accounts: %d credit lines, want %d", n, credit, want)
		}
		if n >= 4 && individuals == 0 {
			t.Errorf("%d accounts: no individual", n)
		}
		if len(sourcesKinds) != 4 {
			t.Errorf("%d accounts: number types %v, want ccc fixed, ccc 400, third_party fixed, own fixed", n, sourcesKinds)
		}
		if n == 1000 {
			ratio := float64(modes[callbill.ModePayg]) / float64(modes[callbill.ModeSubscription])
			if ratio < 2.4 || ratio > 4 {
				t.Errorf("payg:subscription = %v, want about 3:1", modes)
			}
		}

		// Cash: replay top-ups and purchases as applying the file does.
		moves := provision.ReplayOrder(w)
		cash := map[string]decimal.Decimal{}
		packages := 0
		for _, m := range moves {
			if callbill.CycleOf(m.At, loc) != october {
				t.Errorf("movement at %v outside the cycle", m.At)
			}
			if m.TopUp != nil {
				cash[m.TopUp.Account] = cash[m.TopUp.Account].Add(m.TopUp.Amount)
				continue
			}
			p := m.Purchase
			a := accts[p.Account]
			if a == nil {
				t.Fatalf("purchase %s of unknown account %s", p.ID, p.Account)
			}
			mode := callbill.ModePayg
			switch p.Kind {
			case callbill.PurchaseVoicePackage:
				packages++
			case callbill.PurchaseSeats, callbill.PurchaseSipLine:
				in := findInstance(a, p.Instance)
				if in == nil {
					t.Fatalf("purchase %s: instance %s not of account %s", p.ID, p.Instance, a.UID)
				}
				if p.Kind == callbill.PurchaseSeats && in.Mode != callbill.ModeSubscription {
					t.Errorf("purchase %s: seats on payg instance %s", p.ID, in.ID)
				}
				if p.Kind == callbill.PurchaseSeats && (p.Count < 10 || p.Count > 120 || p.Months != 1) {
					t.Errorf("purchase %s: %d seats for %d months", p.ID, p.Count, p.Months)
				}
				mode = in.Mode
			case callbill.PurchaseNumberRent:
				nm, in := findNumber(a, p.Number)
				if nm == nil || nm.Kind != callbill.NumberFixed || nm.Source != callbill.SourceCCC {
					t.Fatalf("purchase %s: rent on %s, not a CCC fixed number of the account", p.ID, p.Number)
				}
				p.Instance, mode = in.ID, in.Mode
			}
			line, err := callbill.SettlePurchase(p, a, mode, book, loc)
			if err != nil {
				t.Fatalf("purchase %s: %v", p.ID, err)
			}
			if cash[a.UID].LessThan(line.Payable) {
				t.Errorf("purchase %s: cash %s < payable %s", p.ID, cash[a.UID], line.Payable)
			}
			cash[a.UID] = cash[a.UID].Sub(line.Payable)
		}
		if packages == 0 {
			t.Errorf("%d accounts: no voice package", n)
		}
	}
}

func findInstance(a *callbill.Account, id string) *callbill.Instance {
	for i := range a.Instances {
		if a.Instances[i].ID == id {
			return &a.Instances[i]
		}
	}
	return nil
}

func findNumber(a *callbill.Account, digits string) (*callbill.Number, *callbill.Instance) {
	for i := range a.Instances {
		for j := range a.Instances[i].Numbers {
			if a.Instances[i].Numbers[j].Number == digits {
				return &a.Instances[i].Numbers[j], &a.Instances[i]
			}
		}
	}
	return nil, nil
}

// callStats is what checkCalls finds in a CDR file.
type callStats struct {
	n, inbound, short, recorded, exact60, long int
	weekdayPeak, weekend, night                int
	combos                                     map[combo]int
	perAccount                                 map[string]int
	sources                                    map[callbill.NumberSource]bool
	modes                                      map[callbill.Mode]bool
	directions                                 map[callbill.Direction]bool
	maxSeconds                                 int64
	firstStart, lastStart                      int64
}

// checkCalls decodes a CDR file with the cdr package and checks every row
// against the world: start in the cycle and in order, contact ids unique per
// instance, the service number registered on the call's instance, no
// outbound call on a 400 number.
func checkCalls(t *testing.T, o Options, data []byte) *callStats {
	t.Helper()
	w := parseWorld(t, o)
	type reg struct {
		mode    callbill.Mode
		account string
		numbers map[string]callbill.Number
	}
	insts := map[string]reg{}
	for _, a := range w.Accounts {
		for _, in := range a.Instances {
			r := reg{mode: in.Mode, account: a.UID, numbers: map[string]callbill.Number{}}
			for _, nm := range in.Numbers {
				r.numbers[nm.Number] = nm
			}
			insts[in.ID] = r
		}
	}
	dec, err := cdr.NewDecoder(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	from, to := o.Cycle.Start(zone).Unix(), o.Cycle.End(zone).Unix()
	s := &callStats{combos: map[combo]int{}, perAccount: map[string]int{},
		sources: map[callbill.NumberSource]bool{}, modes: map[callbill.Mode]bool{}, directions: map[callbill.Direction]bool{}}
	seen := map[[2]string]bool{}
	prev := int64(0)
	for {
		rec, err := dec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		c := rec.CDR
		s.n++
		if c.Start < from || c.Start >= to {
			t.Fatalf("line %d: start %d outside %s", rec.Line, c.Start, o.Cycle)
		}
		if c.Start < prev {
			t.Fatalf("line %d: start %d before the previous row's %d", rec.Line, c.Start, prev)
		}
		if s.n == 1 {
			s.firstStart = c.Start
		}
		prev, s.lastStart = c.Start, c.Start
		id := [2]string{c.InstanceID, c.ContactID}
		if seen[id] {
			t.Fatalf("line %d: contact %s twice on %s", rec.Line, c.ContactID, c.InstanceID)
		}
		seen[id] = true
		r, ok := insts[c.InstanceID]
		if !ok {
			t.Fatalf("line %d: unknown instance %s", rec.Line, c.InstanceID)
		}
		service, far := c.Callee, c.Caller
		if c.Direction == callbill.Outbound {
			service, far = c.Caller, c.Callee
		}
		nm, ok := r.numbers[service]
		if !ok {
			t.Fatalf("line %d: service number %s not registered on %s", rec.Line, service, c.InstanceID)
		}
		if nm.Kind == callbill.Number400 && c.Direction == callbill.Outbound {
			t.Fatalf("line %d: outbound call on 400 number %s", rec.Line, service)
		}
		if len(far) != 11 || far[0] != '1' {
			t.Fatalf("line %d: far end %q is not a mobile number", rec.Line, far)
		}
		sec := c.End - c.Start
		if sec < 0 {
			t.Fatalf("line %d: negative duration", rec.Line)
		}
		if c.RecordingSeconds > sec {
			t.Fatalf("line %d: recording %d s longer than the call %d s", rec.Line, c.RecordingSeconds, sec)
		}
		s.combos[combo{nm.Source, nm.Kind, r.mode, c.Direction}]++
		s.sources[nm.Source] = true
		s.modes[r.mode] = true
		s.directions[c.Direction] = true
		s.perAccount[r.account]++
		if c.Direction == callbill.Inbound {
			s.inbound++
		}
		if sec <= 20 {
			s.short++
		}
		if sec >= 60 && sec%60 == 0 {
			s.exact60++
		}
		if sec >= 30*60 {
			s.long++
		}
		s.maxSeconds = max(s.maxSeconds, sec)
		if c.RecordingSeconds > 0 {
			s.recorded++
		}
		lt := time.Unix(c.Start, 0).In(zone)
		hm := lt.Hour()*60 + lt.Minute()
		switch {
		case lt.Weekday() == time.Saturday || lt.Weekday() == time.Sunday:
			s.weekend++
		case hm >= 9*60 && hm < 12*60 || hm >= 13*60+30 && hm < 18*60:
			s.weekdayPeak++
		case hm < 7*60 || hm >= 22*60:
			s.night++
		}
	}
	return s
}

func TestWriteCalls(t *testing.T) {
	o := Options{Cycle: october, Accounts: 4, Calls: 20_000, Seed: 7}
	var buf bytes.Buffer
	n, err := WriteCalls(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), Header+"\n") {
		t.Fatalf("header: %q", buf.String()[:80])
	}
	s := checkCalls(t, o, buf.Bytes())
	if n != o.Calls || s.n != o.Calls {
		t.Fatalf("WriteCalls returned %d, decoded %d, want %d", n, s.n, o.Calls)
	}
	if len(s.sources) != 3 || len(s.modes) != 2 || len(s.directions) != 2 {
		t.Errorf("sources %v, modes %v, directions %v", s.sources, s.modes, s.directions)
	}
	for c := range allowedCombos() {
		if s.combos[c] == 0 {
			t.Errorf("no call of %+v", c)
		}
	}
	for c := range s.combos {
		if !allowedCombos()[c] {
			t.Errorf("calls of unexpected kind %+v", c)
		}
	}
	frac := func(k int) float64 { return float64(k) / float64(s.n) }
	within := func(what string, got, lo, hi float64) {
		t.Helper()
		if got < lo || got > hi {
			t.Errorf("%s = %.3f, want %.2f–%.2f", what, got, lo, hi)
		}
	}
	within("inbound share", frac(s.inbound), 0.57, 0.63)
	within("short (≤20 s) share", frac(s.short), 0.08, 0.13)
	within("recorded share", frac(s.recorded), 0.65, 0.75)
	within("weekday peak-hours share", frac(s.weekdayPeak), 0.55, 0.85)
	within("weekend share", frac(s.weekend), 0.03, 0.15)
	within("night share", frac(s.night), 0.005, 0.05)
	within("exact-minute share", frac(s.exact60), 0.02, 0.10)
	if s.long == 0 || s.maxSeconds < 30*60 {
		t.Errorf("no call of 30 minutes or more (longest %d s)", s.maxSeconds)
	}
	// Skew: account 1 is the biggest tenant.
	first := s.perAccount["1000000000000001"]
	for uid, k := range s.perAccount {
		if k > first {
			t.Errorf("account %s has %d calls, more than account 1's %d", uid, k, first)
		}
	}
	if len(s.perAccount) != 4 {
		t.Errorf("calls on %d accounts, want 4", len(s.perAccount))
	}
	// The month is covered from its first to its last days.
	from := o.Cycle.Start(zone).Unix()
	if s.firstStart-from > 86400 || o.Cycle.End(zone).Unix()-s.lastStart > 86400 {
		t.Errorf("calls span %d–%d, not the whole cycle", s.firstStart, s.lastStart)
	}
}

func TestOneAccountCoversAllCombos(t *testing.T) {
	o := Options{Cycle: callbill.NewCycle(2027, time.February), Accounts: 1, Calls: 5000, Seed: 3}
	var buf bytes.Buffer
	if _, err := WriteCalls(&buf, o); err != nil {
		t.Fatal(err)
	}
	s := checkCalls(t, o, buf.Bytes())
	for c := range allowedCombos() {
		if s.combos[c] == 0 {
			t.Errorf("no call of %+v", c)
		}
	}
}

func TestManyAccounts(t *testing.T) {
	o := Options{Cycle: october, Accounts: 1000, Calls: 30_000, Seed: 11}
	var buf bytes.Buffer
	n, err := WriteCalls(&buf, o)
	if err != nil || n != o.Calls {
		t.Fatalf("WriteCalls = %d, %v", n, err)
	}
	s := checkCalls(t, o, buf.Bytes())
	if len(s.perAccount) < 500 {
		t.Errorf("calls on only %d of 1000 accounts", len(s.perAccount))
	}
	if k := s.perAccount["1000000000000001"]; k < s.n/20 {
		t.Errorf("the biggest tenant has %d of %d calls", k, s.n)
	}
}

func TestSmallAndEdgeOptions(t *testing.T) {
	for _, o := range []Options{
		{Cycle: october, Accounts: 4, Calls: 0, Seed: 1},
		{Cycle: october, Accounts: 4, Calls: 1, Seed: 1},
		{Cycle: october, Accounts: 0, Calls: 7, Seed: -5},
		{Cycle: callbill.NewCycle(2028, time.February), Accounts: 3, Calls: 100, Seed: 2},
	} {
		var buf bytes.Buffer
		n, err := WriteCalls(&buf, o)
		if err != nil {
			t.Fatal(err)
		}
		if n != o.Calls {
			t.Errorf("%+v: wrote %d", o, n)
		}
		if s := checkCalls(t, o, buf.Bytes()); s.n != o.Calls {
			t.Errorf("%+v: decoded %d", o, s.n)
		}
	}
}

func TestDeterministic(t *testing.T) {
	o := Options{Cycle: october, Accounts: 20, Calls: 10_000, Seed: 42}
	gen := func(o Options) []byte {
		var b bytes.Buffer
		if _, err := WriteCalls(&b, o); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	if !bytes.Equal(World(o), World(o)) {
		t.Error("World differs for the same options")
	}
	if !bytes.Equal(gen(o), gen(o)) {
		t.Error("WriteCalls differs for the same options")
	}
	other := o
	other.Seed++
	if bytes.Equal(World(o), World(other)) || bytes.Equal(gen(o), gen(other)) {
		t.Error("another seed gives the same output")
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	_, err := WriteCalls(&failWriter{n: 1 << 20}, Options{Cycle: october, Accounts: 4, Calls: 100_000, Seed: 1})
	if err == nil || err.Error() != "disk full" {
		t.Fatalf("err = %v, want disk full", err)
	}
}

func BenchmarkWriteCalls(b *testing.B) {
	o := Options{Cycle: october, Accounts: 1000, Calls: 1_000_000, Seed: 1}
	calls := 0
	for b.Loop() {
		n, err := WriteCalls(io.Discard, o)
		if err != nil {
			b.Fatal(err)
		}
		calls += n
	}
	b.ReportMetric(float64(calls)/b.Elapsed().Seconds(), "calls/s")
}

func BenchmarkWorld(b *testing.B) {
	o := Options{Cycle: october, Accounts: 1000, Calls: 1_000_000, Seed: 1}
	for b.Loop() {
		World(o)
	}
}

// TestProvider: the demo's provider block is one the operator could set.
func TestProvider(t *testing.T) {
	p := Provider()
	p.Normalize()
	if err := p.CheckProvider(); err != nil || p != Provider() {
		t.Errorf("the demo provider %+v: %v", p, err)
	}
}

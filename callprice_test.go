package callbill

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// oneAccount is a snapshot of account "A" with a payg instance "p" and a
// subscription instance "s", each with a CCC fixed number (01), a 400
// number (02) and a third-party number (03), built at now.
func oneAccount(cash string, a *AuthAccount, now time.Time) *AuthSnapshot {
	nums := func(inst string) map[string]*AuthNumber {
		return map[string]*AuthNumber{
			"01": {Number: Number{Number: "01", Instance: inst, Kind: NumberFixed, Source: SourceCCC}},
			"02": {Number: Number{Number: "02", Instance: inst, Kind: Number400, Source: SourceCCC, Tier: "普通"}},
			"03": {Number: Number{Number: "03", Instance: inst, Kind: NumberFixed, Source: SourceThirdParty}},
		}
	}
	if a == nil {
		a = &AuthAccount{}
	}
	return &AuthSnapshot{
		Instances: map[string]*AuthInstance{
			"p": {Account: "A", Mode: ModePayg, Numbers: nums("p")},
			"s": {Account: "A", Mode: ModeSubscription, Numbers: nums("s")},
		},
		Standing: map[string]*Standing{"A": {Cash: MustDecimal(cash), CreditLine: decimal.Zero, Outstanding: decimal.Zero, Allowance: decimal.Zero}},
		Accounts: map[string]*AuthAccount{"A": a},
		Loc:      time.UTC,
		Built:    now,
	}
}

var authNow = time.Date(2026, 11, 10, 10, 0, 0, 0, time.UTC)

func maxSeconds(t *testing.T, s *AuthSnapshot, inst, num string, dir Direction) int64 {
	t.Helper()
	s.Prepare()
	d := s.Authorize(inst, num, dir, authNow)
	if d.Allow != (d.MaxSeconds > 0) {
		t.Fatalf("%s %s %s: %+v", inst, num, dir, d)
	}
	return d.MaxSeconds
}

// TestMaxSecondsEdges: the whole minutes the money pays for, at the edges
// the issue names (figures in docs/authorization.md).
func TestMaxSecondsEdges(t *testing.T) {
	for _, c := range []struct {
		name      string
		cash      string
		acct      *AuthAccount
		inst, num string
		dir       Direction
		want      int64
	}{
		// FixedLineOutbound payg 0.15 a minute: 1.50 pays for exactly 10.
		{"exactly 10 minutes", "1.50", nil, "p", "01", Outbound, 600},
		{"a fen short of 10", "1.49", nil, "p", "01", Outbound, 540},
		{"less than a minute", "0.14", nil, "p", "01", Outbound, 0},
		// Platform fee: 199,998 minutes used, so 2 at 0.0499 then 0.0449:
		// 0.46 pays 0.0998 + 8 × 0.0449 = 0.4590 → 10 minutes (9 at 0.0499).
		{"band crossing", "0.46", &AuthAccount{PlatformUsed: 199_998}, "p", "03", Outbound, 600},
		{"first band only", "0.46", nil, "p", "03", Outbound, 540},
		// 5 package minutes left, then 0.15: 0.30 pays 2 more.
		{"package minutes partly left", "0.30", &AuthAccount{Packages: []VoicePackage{{ID: "P", Type: PackageFixedOutbound,
			Minutes: 10_000, Remaining: 5, From: authNow.AddDate(0, -1, 0), Until: authNow.AddDate(0, 2, 0)}}}, "p", "01", Outbound, 420},
		{"a package of another type does not cover", "0.30", &AuthAccount{Packages: []VoicePackage{{ID: "P", Type: PackageFixedInbound,
			Minutes: 10_000, Remaining: 5, From: authNow.AddDate(0, -1, 0), Until: authNow.AddDate(0, 2, 0)}}}, "p", "01", Outbound, 120},
		{"package minutes with no money", "0", &AuthAccount{Packages: []VoicePackage{{ID: "P", Type: PackageFixedOutbound,
			Minutes: 10_000, Remaining: 5, From: authNow.AddDate(0, -1, 0), Until: authNow.AddDate(0, 2, 0)}}}, "p", "01", Outbound, 300},
		// A contract at 0.8 makes it 0.12 a minute.
		{"contract discount", "1.20", &AuthAccount{Contract: &Contract{Discount: MustDecimal("0.8")}}, "p", "01", Outbound, 600},
		{"per-item rate", "1.20", &AuthAccount{Contract: &Contract{Discount: MustDecimal("0.8"),
			Items: map[Item]decimal.Decimal{ItemFixedLineOutbound: MustDecimal("0.5")}}}, "p", "01", Outbound, 960},
		// The open cycles' spend and live reservations come off the headroom.
		{"spend", "3.00", &AuthAccount{Spend: MustDecimal("1.5")}, "p", "01", Outbound, 600},
		{"reservations", "3.00", &AuthAccount{Reservations: []Reservation{{Amount: MustDecimal("1.5"), ExpiresAt: authNow.Add(time.Minute)},
			{Amount: MustDecimal("100"), ExpiresAt: authNow}}}, "p", "01", Outbound, 600},
		{"subscription → cap", "0", nil, "s", "01", Outbound, DefaultMaxCallSeconds},
		{"400 inbound at 0.20", "1.00", nil, "p", "02", Inbound, 300},
		{"enough for the cap", "1000000", nil, "p", "01", Outbound, DefaultMaxCallSeconds},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := maxSeconds(t, oneAccount(c.cash, c.acct, authNow), c.inst, c.num, c.dir); got != c.want {
				t.Errorf("max_seconds %d, want %d", got, c.want)
			}
		})
	}
}

func TestMaxSecondsStoppedCapAndFree(t *testing.T) {
	s := oneAccount("-10", nil, authNow)
	s.Prepare()
	if d := s.Authorize("p", "01", Outbound, authNow); d.Allow || d.MaxSeconds != 0 || !strings.Contains(d.Reason, "stopped for arrears") {
		t.Errorf("stopped: %+v", d)
	}
	if d := s.Authorize("s", "01", Outbound, authNow); !d.Allow || d.MaxSeconds != DefaultMaxCallSeconds {
		t.Errorf("a stopped account's seats keep working: %+v", d)
	}
	// Overdue within the grace period: not stopped, but nothing to pay with.
	s = oneAccount("-1", nil, authNow)
	s.Standing["A"].GraceDays = 3
	s.Prepare()
	if d := s.Authorize("p", "01", Outbound, authNow); d.Allow || !strings.Contains(d.Reason, "cannot pay for one minute") ||
		!strings.Contains(d.Reason, "is -1 yuan, the first minute costs 0.15") {
		t.Errorf("overdue: %+v", d)
	}
	// The allowance is headroom.
	s.Standing["A"].Allowance = MustDecimal("2.5")
	s.Prepare()
	if d := s.Authorize("p", "01", Outbound, authNow); !d.Allow || d.MaxSeconds != 600 {
		t.Errorf("allowance: %+v", d)
	}
	// A configured cap, not a whole number of minutes: 100 s bill 2 minutes.
	s = oneAccount("0.30", nil, authNow)
	s.Cap = 100
	if got := maxSeconds(t, s, "p", "01", Outbound); got != 100 {
		t.Errorf("cap 100: %d", got)
	}
	s = oneAccount("0.29", nil, authNow)
	s.Cap = 100
	if got := maxSeconds(t, s, "p", "01", Outbound); got != 60 {
		t.Errorf("cap 100, 1 minute paid: %d", got)
	}
	// A price of 0 costs nothing per minute: the cap, whatever the money.
	s = oneAccount("0", nil, authNow)
	s.Book = NewPriceBook([]Price{{Item: ItemFixedLineOutbound, Mode: ModePayg, Tiers: []Tier{{Price: decimal.Zero}}}})
	if got := maxSeconds(t, s, "p", "01", Outbound); got != DefaultMaxCallSeconds {
		t.Errorf("free: %d", got)
	}
}

// TestMaxSecondsHorizon: prices are worked out again when a price version,
// a package's end or the next cycle comes.
func TestMaxSecondsHorizon(t *testing.T) {
	s := oneAccount("1.50", &AuthAccount{Packages: []VoicePackage{{ID: "P", Type: PackageFixedOutbound, Minutes: 10_000, Remaining: 5,
		From: authNow.AddDate(0, -1, 0), Until: authNow.Add(time.Hour)}}}, authNow)
	s.Prepare()
	if h := s.Horizon(); !h.Equal(authNow.Add(time.Hour)) {
		t.Errorf("horizon %v, want the package's end", h)
	}
	s = oneAccount("1.50", nil, authNow)
	change := authNow.Add(2 * time.Hour)
	s.Book = NewPriceBook([]Price{{Item: ItemFixedLineOutbound, Mode: ModePayg, From: change, Tiers: []Tier{{Price: MustDecimal("0.30")}}}})
	s.Prepare()
	if h := s.Horizon(); !h.Equal(change) {
		t.Errorf("horizon %v, want the price change", h)
	}
	s.Built = change
	s.Prepare()
	if d := s.Authorize("p", "01", Outbound, change); d.MaxSeconds != 300 {
		t.Errorf("at the new price: %+v", d)
	}
	if h := s.Horizon(); !h.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("horizon %v, want the next cycle", h)
	}
}

func TestReserveGrantsAndPrices(t *testing.T) {
	s := oneAccount("1.50", nil, authNow)
	s.Prepare()
	r, err := s.Reserve(ReserveRequest{Instance: "p", ContactID: "c1", Number: "01", Direction: Outbound, Seconds: 61}, authNow)
	if err != nil || r.Seconds != 61 || !r.Amount.Equal(MustDecimal("0.30")) || !r.ExpiresAt.Equal(authNow.Add(61*time.Second+ReservationMargin)) {
		t.Fatalf("61 s: %+v %v", r, err)
	}
	r, err = s.Reserve(ReserveRequest{Instance: "p", ContactID: "c1", Number: "01", Direction: Outbound}, authNow)
	if err != nil || r.Seconds != 600 || !r.Amount.Equal(MustDecimal("1.5")) {
		t.Fatalf("as long as authorized: %+v %v", r, err)
	}
	r, err = s.Reserve(ReserveRequest{Instance: "p", ContactID: "c1", Number: "01", Direction: Outbound, Seconds: 3600}, authNow)
	if err != nil || r.Seconds != 600 {
		t.Fatalf("more than authorized is granted what is: %+v %v", r, err)
	}
	s.Accounts["A"].Reservations = []Reservation{*r}
	s.Prepare()
	if _, err := s.Reserve(ReserveRequest{Instance: "p", ContactID: "c2", Number: "01", Direction: Outbound}, authNow); ErrorCode(err) != EREFUSED ||
		!strings.Contains(err.Error(), "cannot pay for one minute") {
		t.Fatalf("nothing left: %v", err)
	}
	// Seats are granted the cap and hold what the telecom minutes cost.
	r, err = s.Reserve(ReserveRequest{Instance: "s", ContactID: "c3", Number: "01", Direction: Outbound, Seconds: 600}, authNow)
	if err != nil || r.Seconds != 600 || !r.Amount.Equal(MustDecimal("1.1")) {
		t.Fatalf("subscription: %+v %v", r, err)
	}
}

package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestWebhookCommands runs add, list, log, replay and disable through the
// built binary: a top-up leaves a pending delivery in the endpoint's log.
func TestWebhookCommands(t *testing.T) {
	dir := copyScenario(t)
	must := func(want int, args ...string) result {
		t.Helper()
		r := runCLI(t, dir, args...)
		if r.code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, r.code, want, r.stdout, r.stderr)
		}
		return r
	}
	must(0, "apply", "-f", "world.yaml")
	r := must(0, "webhook", "add", "--url", "http://127.0.0.1:9/hook", "--events", "topup.received,bill.closed", "--json")
	var w struct{ ID, Secret, URL string }
	if err := json.Unmarshal([]byte(r.stdout), &w); err != nil || !strings.HasPrefix(w.ID, "wh_") || !strings.HasPrefix(w.Secret, "whsec_") {
		t.Fatalf("add: %s %v", r.stdout, err)
	}
	r = must(0, "webhook", "add", "--url", "https://example.com/all", "--account", "1000000000000001")
	if !strings.Contains(r.stdout, "secret:") || !strings.Contains(r.stdout, "shown this once") {
		t.Errorf("add: %s", r.stdout)
	}
	must(exitUsage, "webhook", "add", "--url", "http://x/y", "--events", "bill.opened")
	must(exitUsage, "webhook", "add")
	must(exitError, "webhook", "add", "--url", "mailto:x@y")
	must(0, "topup", "--account", "1000000000000001", "--amount", "10.00", "--key", "k1")

	r = must(0, "webhook", "list")
	if !strings.Contains(r.stdout, w.ID+"  http://127.0.0.1:9/hook  (every account; topup.received,bill.closed)  enabled  pending 1, delivered 0, failed 0") ||
		!strings.Contains(r.stdout, "(1000000000000001; every event)") || strings.Contains(r.stdout, w.Secret) {
		t.Errorf("list:\n%s", r.stdout)
	}
	r = must(0, "webhook", "log", w.ID, "--json")
	var log []struct{ Event, Kind, Status, Delivery string }
	if err := json.Unmarshal([]byte(r.stdout), &log); err != nil || len(log) != 1 || log[0].Kind != "topup.received" ||
		log[0].Status != "pending" || log[0].Delivery != w.ID+":"+log[0].Event {
		t.Fatalf("log: %s %v", r.stdout, err)
	}
	r = must(0, "webhook", "log", w.ID)
	if !strings.Contains(r.stdout, log[0].Event) || !strings.Contains(r.stdout, "topup.received  account 1000000000000001  pending (next attempt ") {
		t.Errorf("log:\n%s", r.stdout)
	}
	r = must(0, "webhook", "replay", w.ID, "--event", log[0].Event)
	if !strings.HasPrefix(r.stdout, "replayed 1 deliveries") {
		t.Errorf("replay: %s", r.stdout)
	}
	must(exitError, "webhook", "replay", w.ID, "--event", "evt_nope")
	must(0, "webhook", "disable", w.ID)
	must(exitError, "webhook", "disable", w.ID)
	if r = must(0, "webhook", "list"); !strings.Contains(r.stdout, "disabled ") {
		t.Errorf("list after disable:\n%s", r.stdout)
	}
	must(exitError, "webhook", "log", "wh_nope")
	must(exitUsage, "webhook", "frobnicate")
}

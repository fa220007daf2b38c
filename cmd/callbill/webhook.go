package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/events"
	"github.com/callbill/callbill/sqlstore"
)

// The webhook commands manage webhook endpoints: add, list, log, replay,
// disable (docs/webhooks.md). The deliveries themselves are sent by serve.

func (a *app) webhookJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func (a *app) webhookAdd(fs *flag.FlagSet) runner {
	url := fs.String("url", "", "the receiver's http:// or https:// `URL`")
	acct := fs.String("account", "", "only the events of the account `UID` (default: every account's)")
	kindList := fs.String("events", "", "only these event kinds, `KIND,…` (default: every kind): "+strings.Join(callbill.WebhookEventKinds, ","))
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, pos []string) error {
		if *url == "" || len(pos) > 0 {
			return usagef("webhook add needs --url URL [--account UID] [--events KIND,…]")
		}
		kinds, bad := callbill.ParseWebhookEvents(*kindList)
		if bad != "" {
			return usagef("unknown event kind %q (kinds: %s)", bad, strings.Join(callbill.WebhookEventKinds, ", "))
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		w, err := (&events.Service{Store: s}).Add(ctx, events.AddInput{URL: *url, Account: *acct, AllAccounts: *acct == "", Events: kinds})
		if err != nil {
			return err
		}
		if *asJSON {
			return a.webhookJSON(api.ToWebhookJSON(w))
		}
		fmt.Fprintf(a.stdout, "webhook ID: %s\nsecret:     %s\n(the secret is shown this once; it is stored sealed under the master key)\n", w.ID, w.Secret)
		return nil
	}
}

func (a *app) webhookList(fs *flag.FlagSet) runner {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return usagef("webhook list takes no arguments")
		}
		s, err := a.open(ctx, sqlstore.Read)
		if err != nil {
			return err
		}
		defer s.Close()
		eps, err := (&events.Service{Store: s}).List(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			out := []api.WebhookJSON{}
			for i := range eps {
				out = append(out, api.ToWebhookJSON(&eps[i]))
			}
			return a.webhookJSON(out)
		}
		for _, w := range eps {
			acct, kinds, state := w.Account, strings.Join(w.Events, ","), "enabled"
			if acct == "" {
				acct = "every account"
			}
			if kinds == "" {
				kinds = "every event"
			}
			if !w.DisabledAt.IsZero() {
				state = "disabled " + w.DisabledAt.UTC().Format("2006-01-02T15:04:05Z")
			}
			fmt.Fprintf(a.stdout, "%s  %s  (%s; %s)  %s  pending %d, delivered %d, failed %d\n",
				w.ID, w.URL, acct, kinds, state, w.Pending, w.Delivered, w.Failed)
		}
		return nil
	}
}

func (a *app) webhookLog(fs *flag.FlagSet) runner {
	asJSON := fs.Bool("json", false, "print JSON")
	limit := fs.Int("limit", 100, "at most `N` events, newest first")
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("webhook log needs one webhook ID")
		}
		s, err := a.open(ctx, sqlstore.Read)
		if err != nil {
			return err
		}
		defer s.Close()
		ds, err := (&events.Service{Store: s}).Deliveries(ctx, events.DeliveriesInput{Endpoint: pos[0], Limit: *limit})
		if err != nil {
			return err
		}
		if *asJSON {
			out := []api.DeliveryJSON{}
			for i := range ds {
				out = append(out, api.ToDeliveryJSON(&ds[i]))
			}
			return a.webhookJSON(out)
		}
		for i := range ds {
			d := api.ToDeliveryJSON(&ds[i])
			state := d.Status
			switch {
			case d.Status == callbill.DeliveryPending && d.NextAt != "":
				state += " (next attempt " + d.NextAt + ")"
			case d.DeliveredAt != "":
				state += " " + d.DeliveredAt
			}
			fmt.Fprintf(a.stdout, "%s  %s  %s  account %s  %s\n", d.Event, d.At, d.Kind, d.Account, state)
			for _, at := range d.Log {
				outcome := fmt.Sprintf("HTTP %d", at.Code)
				if at.Error != "" {
					outcome = at.Error
				}
				fmt.Fprintf(a.stdout, "  #%d  %s  %s  %d ms  %s\n", at.N, at.At, at.Node, at.DurationMS, outcome)
			}
		}
		return nil
	}
}

func (a *app) webhookReplay(fs *flag.FlagSet) runner {
	event := fs.String("event", "", "replay only the event `EVENT_ID` (even if delivered); default: every failed delivery")
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("webhook replay needs one webhook ID [--event EVENT_ID]")
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		n, err := (&events.Service{Store: s}).Replay(ctx, events.ReplayInput{Endpoint: pos[0], Event: *event, AllFailed: *event == ""})
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "replayed %d deliveries of %s: due now, sent by a running `callbill serve`\n", n, pos[0])
		return nil
	}
}

func (a *app) webhookDisable(fs *flag.FlagSet) runner {
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("webhook disable needs one webhook ID")
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := (&events.Service{Store: s}).Disable(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "disabled %s\n", pos[0])
		return nil
	}
}

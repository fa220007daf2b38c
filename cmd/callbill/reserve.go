package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/authz"
	"github.com/callbill/callbill/sqlstore"
)

// Call authorization and reservations (docs/authorization.md).

// authorizeJSON is what authorize --json prints.
type authorizeJSON struct {
	Allow       bool                 `json:"allow"`
	Reason      string               `json:"reason,omitempty"`
	MaxSeconds  int64                `json:"max_seconds"`
	Reservation *api.ReservationJSON `json:"reservation,omitempty"`
}

func (a *app) authorize(fs *flag.FlagSet) runner {
	inst := fs.String("instance", "", "the instance `ID`")
	num := fs.String("number", "", "the service `NUMBER`")
	dir := fs.String("direction", "", "the call's direction, `inbound|outbound`")
	reserve := fs.String("reserve", "", "also hold the call's price: the started call's `CONTACT_ID`")
	seconds := fs.Int64("seconds", 0, "with --reserve: hold this many `SECONDS` (0: as long as authorized)")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, pos []string) error {
		d := callbill.Direction(strings.ToLower(*dir))
		if *inst == "" || *num == "" || !d.Valid() || len(pos) > 0 {
			return usagef("authorize needs --instance ID --number N --direction inbound|outbound")
		}
		if *seconds != 0 && *reserve == "" {
			return usagef("--seconds goes with --reserve CONTACT_ID")
		}
		access := sqlstore.Read
		if *reserve != "" {
			access = sqlstore.Write
		}
		s, err := a.open(ctx, access)
		if err != nil {
			return err
		}
		defer s.Close()
		svc := &authz.Service{Store: s, Node: "cli"}
		var out authorizeJSON
		if *reserve == "" {
			dec, err := svc.Authorize(ctx, authz.AuthorizeInput{Instance: *inst, Number: *num, Direction: d})
			if err != nil {
				return err
			}
			out = authorizeJSON{Allow: dec.Allow, Reason: dec.Reason, MaxSeconds: dec.MaxSeconds}
		} else {
			r, replayed, err := svc.Reserve(ctx, callbill.ReserveRequest{Instance: *inst, ContactID: *reserve, Number: *num, Direction: d, Seconds: *seconds})
			switch code := callbill.ErrorCode(err); {
			case code == callbill.EREFUSED:
				out = authorizeJSON{Reason: callbill.ErrorMessage(err)}
			case err != nil:
				return err
			default:
				loc, err := s.Location(ctx)
				if err != nil {
					return err
				}
				j := api.Reservation(r, loc)
				j.Replayed = replayed
				out = authorizeJSON{Allow: true, MaxSeconds: r.Seconds, Reservation: &j}
			}
		}
		if *asJSON {
			if err := a.printJSON(out); err != nil {
				return err
			}
		} else if out.Allow {
			fmt.Fprintf(a.stdout, "allow, max_seconds %d\n", out.MaxSeconds)
			if r := out.Reservation; r != nil {
				again := ""
				if r.Replayed {
					again = " (held before)"
				}
				fmt.Fprintf(a.stdout, "reserved %d s of call %s: %s yuan held until %s%s\n", r.Seconds, r.ContactID, r.Amount, r.ExpiresAt, again)
			}
		} else {
			fmt.Fprintf(a.stdout, "deny: %s\n", out.Reason)
		}
		if !out.Allow {
			return exitCode(exitDenied)
		}
		return nil
	}
}

func (a *app) reservationList(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "only this account's (`UID`); default every account's")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return usagef("reservation list takes no arguments")
		}
		s, err := a.open(ctx, sqlstore.Read)
		if err != nil {
			return err
		}
		defer s.Close()
		rs, err := (&authz.Service{Store: s}).List(ctx, authz.ListInput{Account: *acct, AllAccounts: *acct == ""})
		if err != nil {
			return err
		}
		loc, err := s.Location(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			out := []api.ReservationJSON{}
			for i := range rs {
				out = append(out, api.Reservation(&rs[i], loc))
			}
			return a.printJSON(out)
		}
		t := newTable(left("账户"), left("实例"), left("通话"), left("号码"), left("方向"), right("秒数"), right("预留金额"), left("到期"), left("节点"))
		for _, r := range rs {
			t.row(r.Account, r.Instance, r.ContactID, r.Number, string(r.Direction), fmt.Sprint(r.Seconds), callbill.FormatRoundDown(r.Amount),
				r.ExpiresAt.In(loc).Format(time.DateTime), r.Node)
		}
		return t.write(a.stdout)
	}
}

func (a *app) reservationRelease(fs *flag.FlagSet) runner {
	inst := fs.String("instance", "", "the call's instance `ID`")
	return func(ctx context.Context, pos []string) error {
		if *inst == "" || len(pos) != 1 {
			return usagef("reservation release needs --instance ID and the call's CONTACT_ID")
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		released, err := (&authz.Service{Store: s}).Release(ctx, authz.ReleaseInput{Instance: *inst, ContactID: pos[0]})
		if err != nil {
			return err
		}
		if released {
			fmt.Fprintf(a.stdout, "released the reservation of call %s on %s\n", pos[0], *inst)
		} else {
			fmt.Fprintf(a.stdout, "call %s on %s holds no reservation\n", pos[0], *inst)
		}
		return nil
	}
}

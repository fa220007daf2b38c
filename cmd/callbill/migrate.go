package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/callbill/callbill/sqlstore"
)

func (a *app) migrateStatus(flags *flag.FlagSet) runner {
	asJSON := flags.Bool("json", false, "print JSON: {applied, pending, unknown}")
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return usagef("migrate status takes no arguments")
		}
		s, err := a.open(ctx, sqlstore.Inspect)
		if err != nil {
			return err
		}
		defer s.Close()
		st, err := s.Migrations(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return a.printJSON(struct {
				Applied []string `json:"applied"`
				Pending []string `json:"pending"`
				Unknown []string `json:"unknown"`
			}{nonNil(st.Applied), nonNil(st.Pending), nonNil(st.Unknown)})
		}
		unknown := map[string]bool{}
		for _, n := range st.Unknown {
			unknown[n] = true
		}
		fmt.Fprintf(a.stdout, "database %s\n", s.Where())
		for _, n := range st.Applied {
			if unknown[n] {
				fmt.Fprintf(a.stdout, "  applied  %s  (from a newer release: this one refuses the database)\n", n)
			} else {
				fmt.Fprintf(a.stdout, "  applied  %s\n", n)
			}
		}
		for _, n := range st.Pending {
			fmt.Fprintf(a.stdout, "  pending  %s\n", n)
		}
		switch {
		case len(st.Unknown) > 0:
			fmt.Fprintln(a.stdout, "a newer release migrated this database: run that release or a later one")
		case len(st.Pending) > 0:
			fmt.Fprintf(a.stdout, "%d pending: 'callbill migrate up' applies them (any command would); back up first\n", len(st.Pending))
		default:
			fmt.Fprintln(a.stdout, "up to date")
		}
		return nil
	}
}

func (a *app) migrateUp(flags *flag.FlagSet) runner {
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return usagef("migrate up takes no arguments")
		}
		s, err := a.open(ctx, sqlstore.Write) // applies them
		if err != nil {
			return err
		}
		defer s.Close()
		// What this process applied: another node may have applied some
		// of them meanwhile.
		applied := s.Migrated()
		if len(applied) == 0 {
			fmt.Fprintln(a.stdout, "up to date; nothing applied")
			return nil
		}
		for _, n := range applied {
			fmt.Fprintf(a.stdout, "applied %s\n", n)
		}
		return nil
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

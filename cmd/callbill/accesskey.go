package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
)

func (a *app) accessKey(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("accesskey needs a subcommand: create or revoke")
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("accesskey create", flag.ContinueOnError)
		acct := fs.String("account", "", "account UID")
		asJSON := fs.Bool("json", false, "print JSON")
		pos, err := parseFlags(fs, args[1:])
		if err != nil {
			return err
		}
		if *acct == "" || len(pos) > 0 {
			return usagef("accesskey create needs --account UID")
		}
		s, err := a.open(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		k, err := s.CreateAccessKey(ctx, *acct)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(a.stdout).Encode(map[string]string{"access_key_id": k.ID, "access_key_secret": k.Secret, "account": k.Account})
		}
		fmt.Fprintf(a.stdout, "AccessKey ID:     %s\nAccessKey secret: %s\n(the secret is shown this once; it is stored sealed under the master key)\n", k.ID, k.Secret)
		return nil
	case "revoke":
		fs := flag.NewFlagSet("accesskey revoke", flag.ContinueOnError)
		pos, err := parseFlags(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("accesskey revoke needs one AccessKey ID")
		}
		s, err := a.open(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := s.RevokeAccessKey(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "revoked %s\n", pos[0])
		return nil
	}
	return usagef("unknown accesskey subcommand %q", args[0])
}

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/callbill/callbill/sqlstore"
)

func (a *app) accessKeyCreate(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the account's `UID`")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, pos []string) error {
		if *acct == "" || len(pos) > 0 {
			return usagef("accesskey create needs --account UID")
		}
		s, err := a.open(ctx, sqlstore.Write)
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
	}
}

func (a *app) accessKeyRevoke(fs *flag.FlagSet) runner {
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("accesskey revoke needs one AccessKey ID")
		}
		s, err := a.open(ctx, sqlstore.Write)
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
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/sqlstore"
)

// backup and restore copy a SQLite deployment's database (docs/operations.md,
// "Backup and restore"); the store does the copying.

func (a *app) backup(flags *flag.FlagSet) runner {
	force := flags.Bool("force", false, "replace an existing FILE")
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("backup needs one FILE to write")
		}
		if sqlstore.IsPostgres(a.dsn) {
			return a.refusePostgres("backup")
		}
		// As it is: a backup taken before an upgrade must not be upgraded.
		s, err := a.open(ctx, sqlstore.Inspect)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := s.Backup(ctx, pos[0], *force); err != nil {
			return err
		}
		abs, _ := filepath.Abs(pos[0])
		fmt.Fprintf(a.stdout, "backed up %s to %s\n", s.Where(), abs)
		fmt.Fprintf(a.stderr, "callbill: keep with it %s\n", a.besides())
		return nil
	}
}

func (a *app) restore(flags *flag.FlagSet) runner {
	force := flags.Bool("force", false, "replace an existing database (no process may have it open)")
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("restore needs one backup FILE")
		}
		if sqlstore.IsPostgres(a.dsn) {
			return a.refusePostgres("restore")
		}
		if err := sqlstore.Restore(ctx, pos[0], a.dsn, *force); err != nil {
			return err
		}
		abs, _ := filepath.Abs(pos[0])
		fmt.Fprintf(a.stdout, "restored %s from %s\n", a.where(), abs)
		key := a.cfg.MasterKeyFile(a.dsn)
		if _, err := os.Stat(key); errors.Is(err, fs.ErrNotExist) && a.cfg.MasterKey.Text == "" {
			// Without it, the first command needing the key would make a
			// new one, which opens none of the stored access key secrets.
			fmt.Fprintf(a.stderr, "callbill: warning: there is no master key at %s: copy the backed-up deployment's key there "+
				"before running serve, or its access keys cannot be checked\n", key)
		}
		fmt.Fprintf(a.stderr, "callbill: restore with it %s\n", a.besides())
		return nil
	}
}

// besides names what a backup of the database does not hold.
func (a *app) besides() string {
	key := "the master key " + a.cfg.MasterKeyFile(a.dsn)
	if k := a.cfg.MasterKey; k.Text != "" {
		key = "the master key (master_key, " + k.From.String() + ")"
	}
	return key + " (it seals the access key secrets) and serve's export folder " + a.cfg.Serve.Exports.Value + " (serve.exports, --exports)"
}

// refusePostgres says how a PostgreSQL deployment is backed up instead.
func (a *app) refusePostgres(cmd string) error {
	return callbill.Errorf(callbill.EREFUSED, "callbill %s copies SQLite databases only; %s; besides the database, copy %s",
		cmd, sqlstore.PostgresBackupHint, a.besides())
}

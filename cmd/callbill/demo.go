package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/demo"
	"github.com/callbill/callbill/sqlstore"
)

// demo builds a demo world in a fresh store, generates a month of calls,
// imports them, closes the month and prints the bills.
func (a *app) demo(fs *flag.FlagSet) runner {
	calls := fs.Int("calls", 40_000, "generate `N` calls")
	accounts := fs.Int("accounts", 4, "make `N` tenant accounts")
	dir := fs.String("dir", "", "the `DIR` for the demo's database and files (default: a new temporary folder)")
	addr := fs.String("addr", "127.0.0.1:8080", "serve the demo's console at `HOST:PORT`")
	noServe := fs.Bool("no-serve", false, "print the bills and exit instead of serving the console")
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return usagef("demo takes no arguments")
		}
		return a.runDemo(ctx, *calls, *accounts, *dir, *addr, *noServe)
	}
}

func (a *app) runDemo(ctx context.Context, calls, accounts int, dir, addr string, noServe bool) error {
	var err error
	if dir == "" {
		if dir, err = os.MkdirTemp("", "callbill-demo-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	loc, err := time.LoadLocation(callbill.DefaultTimezone)
	if err != nil {
		return err
	}
	cycle := callbill.CycleOf(time.Now(), loc) - 1 // the last month that has ended
	o := demo.Options{Cycle: cycle, Accounts: accounts, Calls: calls, Seed: 1}

	worldPath := filepath.Join(dir, "world.yaml")
	if err := os.WriteFile(worldPath, demo.World(o), 0o644); err != nil {
		return err
	}
	callsPath := filepath.Join(dir, "calls.csv")
	f, err := os.Create(callsPath)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	n, err := demo.WriteCalls(bw, o)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	a.dsn = filepath.Join(dir, "callbill.db")
	fmt.Fprintf(a.stdout, "demo folder %s: %d accounts, %d calls in %s\n\n", dir, accounts, n, cycle)

	fmt.Fprintf(a.stdout, "$ callbill apply -f %s\n", worldPath)
	if err := a.call(ctx, "apply", "-f", worldPath); err != nil {
		return err
	}
	// The provider side of e-contracts: without it a contract cannot be
	// confirmed, and the demo's contracts should be.
	p := demo.Provider()
	fmt.Fprintf(a.stdout, "$ callbill contract provider --name %s …\n", p.Name)
	if err := a.setDemoProvider(ctx, p); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "$ callbill import %s\n", callsPath)
	if err := a.call(ctx, "import", callsPath); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "$ callbill bill close %s\n", cycle)
	if err := a.call(ctx, "bill close", cycle.String()); err != nil {
		return err
	}
	s, err := a.open(ctx, sqlstore.Read)
	if err != nil {
		return err
	}
	uids, err := s.AccountUIDs(ctx)
	s.Close()
	if err != nil {
		return err
	}
	for i, uid := range uids {
		if i >= 2 {
			fmt.Fprintf(a.stdout, "\n… %d more accounts: callbill --db %s bill show --account UID --cycle %s\n", len(uids)-i, a.dsn, cycle)
			break
		}
		fmt.Fprintf(a.stdout, "\n$ callbill bill show --account %s --cycle %s\n", uid, cycle)
		if err := a.call(ctx, "bill show", "--account", uid, "--cycle", cycle.String()); err != nil {
			return err
		}
	}
	// A budget for the biggest tenant, so that its 预算 page and the
	// current cycle's overview show one (docs/budgets.md).
	fmt.Fprintf(a.stdout, "\n$ callbill budget set --account %s --amount 1000.00\n", uids[0])
	if err := a.call(ctx, "budget set", "--account", uids[0], "--amount", "1000.00"); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\nTry: callbill --db %s bill show --account %s --cycle %s --by instance --period day\n", a.dsn, uids[0], cycle)
	if noServe {
		return nil
	}
	return a.demoConsole(ctx, uids[0], addr)
}

// setDemoProvider sets the demo's provider side of contracts.
func (a *app) setDemoProvider(ctx context.Context, p callbill.ContractParty) error {
	s, err := a.open(ctx, sqlstore.Write)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.SetContractProvider(ctx, p)
}

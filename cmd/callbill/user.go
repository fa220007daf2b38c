package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/callbill/callbill"
	"golang.org/x/term"
)

// user manages the web console's users (docs/console.md):
//
//	callbill user add NAME (--account UID | --operator) [--password-stdin]
//	callbill user passwd NAME [--password-stdin]
//	callbill user remove NAME
//	callbill user list
func (a *app) user(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("user needs a subcommand: add, passwd, remove or list")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	acct := fs.String("account", "", "the tenant account the user belongs to")
	operator := fs.Bool("operator", false, "an operator user (every account, the operator's pages)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch sub {
	case "add", "passwd":
		if len(pos) != 1 {
			return usagef("user %s needs one user name", sub)
		}
		if sub == "add" && (*acct == "") == !*operator {
			return usagef("user add needs either --account UID or --operator")
		}
		pass, err := a.readPassword(*fromStdin)
		if err != nil {
			return err
		}
		s, err := a.open(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		if sub == "passwd" {
			if err := s.SetConsolePassword(ctx, pos[0], pass); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "password of %s changed; its sessions ended\n", pos[0])
			return nil
		}
		if err := s.CreateConsoleUser(ctx, callbill.NewConsoleUser{Name: pos[0], Account: *acct, Password: pass}); err != nil {
			return err
		}
		who := "operator"
		if *acct != "" {
			who = "account " + *acct
		}
		fmt.Fprintf(a.stdout, "console user %s added (%s)\n", pos[0], who)
		return nil
	case "remove":
		if len(pos) != 1 {
			return usagef("user remove needs one user name")
		}
		s, err := a.open(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := s.RemoveConsoleUser(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "console user %s removed; its sessions ended\n", pos[0])
		return nil
	case "list":
		s, err := a.open(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		us, err := s.ConsoleUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tACCOUNT\tCREATED")
		for _, u := range us {
			acct := u.Account
			if u.Operator() {
				acct = "(operator)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, acct, u.CreatedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	}
	return usagef("unknown user subcommand %q", sub)
}

// readPassword reads a new password: from stdin's first line, or asked
// twice on the terminal without echo.
func (a *app) readPassword(fromStdin bool) (string, error) {
	f, isFile := a.stdin.(*os.File)
	if !fromStdin && isFile && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.stderr, "password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(a.stderr, "again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", callbill.Errorf(callbill.EINVALID, "the passwords differ")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// Demo console login: `callbill demo` makes this user for the biggest demo
// tenant, prints it with the console's address, and serves.
const (
	demoUser     = "demo"
	demoPassword = "callbill-demo"
)

// demoConsole adds the demo login for uid (again on a rerun: it is replaced)
// and serves the API and the console on addr until interrupted.
func (a *app) demoConsole(ctx context.Context, uid, addr string) error {
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	s.RemoveConsoleUser(ctx, demoUser)
	err = s.CreateConsoleUser(ctx, callbill.NewConsoleUser{Name: demoUser, Account: uid, Password: demoPassword})
	s.Close()
	if err != nil {
		return err
	}
	// A busy port must not end the demo: take a free one instead.
	where := "http://" + addr + "/console/"
	if ln, err := net.Listen("tcp", addr); err != nil {
		fmt.Fprintf(a.stdout, "\n%s is busy: the console takes a free port instead (its address is printed below).\n", addr)
		addr, where = "127.0.0.1:0", "/console/ at the address below"
	} else {
		ln.Close()
	}
	fmt.Fprintf(a.stdout, "\nconsole: %s   sign in as %s / %s (tenant %s),\n"+
		"or with the operator key printed below (the operator's pages). Ctrl-C stops it.\n\n", where, demoUser, demoPassword, uid)
	return a.serve(ctx, []string{"--addr", addr, "--exports", filepath.Join(filepath.Dir(a.dsn), "exports"), "--auto-close=false"})
}

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
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/sqlstore"
	"golang.org/x/term"
)

// The user commands manage the web console's users (docs/console.md).

func (a *app) userAdd(fs *flag.FlagSet) runner {
	acct := fs.String("account", "", "the tenant account (`UID`) the user belongs to")
	operator := fs.Bool("operator", false, "an operator user (every account, the operator's pages)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("user add needs one user name")
		}
		if (*acct == "") == !*operator {
			return usagef("user add needs either --account UID or --operator")
		}
		pass, err := a.readPassword(*fromStdin)
		if err != nil {
			return err
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := s.CreateConsoleUser(ctx, callbill.NewConsoleUser{Name: pos[0], Account: *acct, Password: pass}); err != nil {
			return err
		}
		who := "operator"
		if *acct != "" {
			who = "account " + *acct
		}
		fmt.Fprintf(a.stdout, "console user %s added (%s)\n", pos[0], who)
		return nil
	}
}

func (a *app) userPasswd(fs *flag.FlagSet) runner {
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("user passwd needs one user name")
		}
		pass, err := a.readPassword(*fromStdin)
		if err != nil {
			return err
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := s.SetConsolePassword(ctx, pos[0], pass); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "password of %s changed; its sessions ended\n", pos[0])
		return nil
	}
}

func (a *app) userRemove(fs *flag.FlagSet) runner {
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("user remove needs one user name")
		}
		s, err := a.open(ctx, sqlstore.Write)
		if err != nil {
			return err
		}
		defer s.Close()
		if err := s.RemoveConsoleUser(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "console user %s removed; its sessions ended\n", pos[0])
		return nil
	}
}

func (a *app) userList(fs *flag.FlagSet) runner {
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return usagef("user list takes no arguments")
		}
		s, err := a.open(ctx, sqlstore.Read)
		if err != nil {
			return err
		}
		defer s.Close()
		us, err := s.ConsoleUsers(ctx)
		if err != nil {
			return err
		}
		t := newTable(left("NAME"), left("ACCOUNT"), left("CREATED"))
		for _, u := range us {
			acct := u.Account
			if u.Operator() {
				acct = "(operator)"
			}
			t.row(u.Name, acct, u.CreatedAt.UTC().Format(time.RFC3339))
		}
		return t.write(a.stdout)
	}
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
	s, err := a.open(ctx, sqlstore.Write)
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
	return a.call(ctx, "serve", "--addr", addr, "--exports", filepath.Join(filepath.Dir(a.dsn), "exports"), "--auto-close=false")
}

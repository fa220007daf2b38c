package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runIn runs the CLI in this process with args.
func runIn(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return result{stdout.String(), stderr.String(), code}
}

// flagsOf declares c's flags on a new flag set.
func flagsOf(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.setup(&app{}, fs)
	return fs
}

// mentions reports whether text names the flag f as people type it:
// --name or -n, followed by a space, "=", a bracket or the end.
func mentions(text, f string) bool {
	return regexp.MustCompile(`(^|[\s\[(|])` + regexp.QuoteMeta(flagName(f)) + `($|[\s\]=)|])`).MatchString(text)
}

// TestEveryCommandHasHelp: `callbill X --help`, `-h` and `callbill help X`
// print, on stdout with exit 0, the command's synopsis, what it does and
// every flag it defines with its value's name; the synopsis names every
// flag too, so that the one-line usage is complete.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			if c.summary == "" || len(c.about) < 20 {
				t.Errorf("no summary or about")
			}
			words := strings.Fields(c.name)
			var outs []string
			for _, args := range [][]string{append(append([]string{}, words...), "--help"), append(append([]string{}, words...), "-h"),
				append([]string{"help"}, words...)} {
				r := runIn(t, args...)
				if r.code != exitOK || r.stderr != "" {
					t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
				}
				outs = append(outs, r.stdout)
			}
			if outs[0] != outs[1] || outs[0] != outs[2] {
				t.Errorf("--help, -h and help differ:\n%s\n%s\n%s", outs[0], outs[1], outs[2])
			}
			help := outs[0]
			if !strings.HasPrefix(help, "usage: callbill [--db DSN] "+c.name) || !strings.Contains(help, strings.Fields(c.about)[0]) {
				t.Errorf("help:\n%s", help)
			}
			fs := flagsOf(c)
			fs.VisitAll(func(f *flag.Flag) {
				name, _ := flag.UnquoteUsage(f)
				if !mentions(help[strings.Index(help, "flags:"):], f.Name) {
					t.Errorf("the help lists no %s:\n%s", flagName(f.Name), help)
				}
				if !mentions(c.args, f.Name) {
					t.Errorf("the synopsis %q lacks %s", c.args, flagName(f.Name))
				}
				if !isBoolFlag(f) && (name == "string" || name == "int" || name == "duration" || name == "value") {
					t.Errorf("%s names its value only %q: give it a `NAME` in its usage", flagName(f.Name), name)
				}
				if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "0s" && !strings.Contains(strings.Join(strings.Fields(help), " "), "(default "+d+")") {
					t.Errorf("the help does not give %s's default %s", flagName(f.Name), d)
				}
			})
		})
	}
}

// TestGroupsAndGlobalUsage: the global usage lists every command on one
// line with its summary (stdout, exit 0 for --help, -h and help); a group
// asked for help lists its subcommands.
func TestGroupsAndGlobalUsage(t *testing.T) {
	var outs []string
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		r := runIn(t, args...)
		if r.code != exitOK || r.stderr != "" {
			t.Fatalf("%v: exit %d %q", args, r.code, r.stderr)
		}
		outs = append(outs, r.stdout)
	}
	if outs[0] != outs[1] || outs[0] != outs[2] {
		t.Errorf("--help, -h and help differ")
	}
	for _, c := range commands {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(c.name) + ` +` + regexp.QuoteMeta(c.summary) + `$`).MatchString(outs[0]) {
			t.Errorf("the usage has no line for %s:\n%s", c.name, outs[0])
		}
	}
	for group, subs := range map[string][]string{"bill": {"close", "show"}, "invoice": {"apply", "list", "title"}, "invoice title": {"add", "list", "delete"},
		"user": {"add", "passwd", "remove", "list"}} {
		r := runIn(t, append(strings.Fields(group), "--help")...)
		h := runIn(t, append([]string{"help"}, strings.Fields(group)...)...)
		if r.code != exitOK || r.stdout != h.stdout || !strings.HasPrefix(r.stdout, "usage: callbill [--db DSN] "+group+" SUBCOMMAND") {
			t.Errorf("%s --help: exit %d\n%s", group, r.code, r.stdout)
		}
		for _, s := range subs {
			if !regexp.MustCompile(`(?m)^  ` + s + ` `).MatchString(r.stdout) {
				t.Errorf("%s --help lacks %s:\n%s", group, s, r.stdout)
			}
		}
	}
}

// TestUsageErrors: a mistake in the command line is one line naming it and
// one saying where the usage is, on stderr, exit 2, nothing on stdout.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	for _, c := range []struct {
		args      []string
		problem   string
		helpOfCmd string
	}{
		{[]string{"bill", "show", "--bogus"}, "bill show: flag provided but not defined: -bogus", "bill show"},
		{[]string{"bill", "show", "--account", "1"}, "bill show needs --account UID and --cycle YYYY-MM", "bill show"},
		{[]string{"bill", "show", "--account", "1", "--cycle", "2026-10", "--by", "day"}, "--by must be item or instance", "bill show"},
		{[]string{"bill", "close", "October"}, `billing cycle "October" must be YYYY-MM`, "bill close"},
		{[]string{"bill"}, "bill needs a subcommand: close or show", "bill"},
		{[]string{"bill", "frob"}, `unknown bill subcommand "frob" (close or show)`, "bill"},
		{[]string{"invoice", "title"}, "invoice title needs a subcommand: add, list or delete", "invoice title"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, ""},
		{[]string{"--nope", "apply"}, "flag provided but not defined: -nope", ""},
		{[]string{"apply"}, "apply needs -f FILE", "apply"},
		{[]string{"import"}, "import needs at least one FILE (or - for stdin)", "import"},
		{[]string{"demo", "--calls", "many"}, `demo: invalid value "many" for flag -calls: parse error`, "demo"},
		{[]string{"serve", "now"}, "serve takes no arguments", "serve"},
		{[]string{"usage", "export", "--account", "1"}, "usage export needs --cycle YYYY-MM, or --from and --to", "usage export"},
		{[]string{"help", "frob"}, `no command "frob"; run 'callbill help' for the list`, "help"},
	} {
		r := runIn(t, append([]string{"--db", db}, c.args...)...)
		where := "callbill --help"
		if c.helpOfCmd != "" {
			where = "callbill " + c.helpOfCmd + " --help"
		}
		want := "callbill: " + c.problem + "\nrun '" + where + "' for usage\n"
		if r.code != exitUsage || r.stderr != want || r.stdout != "" {
			t.Errorf("%v: exit %d\nstderr %q\nwant   %q\nstdout %q", c.args, r.code, r.stderr, want, r.stdout)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a usage error created the database")
	}
}

// TestREADMECommandsAndFlags: every command line of the README's CLI
// section names a command, and every flag it shows is one that command
// (or callbill itself) defines; every command is in the README.
func TestREADMECommandsAndFlags(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "## Using it")
	if start < 0 {
		t.Fatal("README has no '## Using it' section")
	}
	block := readme[start:]
	block = block[strings.Index(block, "```")+3:]
	block = block[:strings.Index(block, "```")]
	seen := map[string]bool{}
	flagRE := regexp.MustCompile(`(?:^|[\s\[(|])(--?[a-z][a-z0-9-]*)`)
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		rest, ok := strings.CutPrefix(line, "callbill ")
		if !ok {
			t.Errorf("README CLI line is not a callbill command: %q", line)
			continue
		}
		rest = strings.TrimPrefix(rest, "[--db DSN] ")
		if i := strings.Index(rest, "  #"); i >= 0 {
			rest = rest[:i]
		}
		c, _, _ := resolve(strings.Fields(rest))
		if c == nil {
			t.Errorf("README names no command: %q", line)
			continue
		}
		seen[c.name] = true
		fs := flagsOf(c)
		for _, m := range flagRE.FindAllStringSubmatch(rest, -1) {
			name := strings.TrimLeft(m[1], "-")
			if fs.Lookup(name) == nil {
				t.Errorf("README: %s has no flag %s (%q)", c.name, m[1], line)
			} else if m[1] != flagName(name) {
				t.Errorf("README writes %s as %s", flagName(name), m[1])
			}
		}
	}
	for _, c := range commands {
		if !seen[c.name] && c.name != "help" {
			t.Errorf("README's CLI section lacks %s", c.name)
		}
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/callbill/callbill/export"
)

// runner runs a command with its positional arguments, once its flags are
// parsed.
type runner func(ctx context.Context, pos []string) error

// command is one callbill command: what its help says, its flags and what
// it runs. Every command has its own help (callbill X --help), built from
// this and its flags.
type command struct {
	name    string // the words after callbill: "bill close"
	args    string // the synopsis after the name: every flag and argument
	summary string // one line, for the list of commands
	about   string // what it does, for its help
	// setup declares the command's flags on fs and returns what runs it.
	setup func(a *app, fs *flag.FlagSet) runner
	// ownConfig: the command runs without a usable configuration (help,
	// and config check, which reports why it is not).
	ownConfig bool
}

// commands lists every command, in the order the usage shows them.
var commands []*command

func init() {
	commands = []*command{
		{name: "apply", args: "-f FILE", setup: (*app).apply,
			summary: "apply a world file: accounts, instances, numbers, prices, top-ups, purchases",
			about: "Applies a world file (YAML, docs/design.md §4.1) as one idempotent upsert: applying the same file again changes nothing. " +
				"A file with any problem is refused whole, every problem listed with its YAML path. " +
				"apply creates the database when it does not exist yet: it is how a deployment starts."},
		{name: "import", args: "[--strict] [--batch N] [--priority background|normal] [-q] FILE...", setup: (*app).importCmd,
			summary: "import call detail records (CSV or CCC JSON; - for stdin)",
			about: "Rates and stores the calls of each FILE (CSV with a header row, or CCC JSON; - reads stdin). " +
				"Rejected rows go, with their line and reason, to FILE.rejects.csv (stdin.rejects.csv for stdin), and the import exits 3; " +
				"duplicates are counted, not rejected. A one-line summary ends on stderr, after the import's record id: every import is recorded, " +
				"and import list and import undo show and take it back. The import runs at a background CPU priority (nice 10), so that a " +
				"server on the same machine keeps its cores; --priority normal keeps yours. The database must exist: apply a world file first."},
		{name: "import list", args: "[--limit N] [--before ID] [--json]", setup: (*app).importList,
			summary: "list imports, newest first: files, counts, who, when, undone",
			about: "Lists the import records, newest first: each `callbill import` (its files) and each POST /api/v1/imports request, with " +
				"its counts, who ran it and when, its status (running, done, failed, undone) and, once undone, who undid it and what the undo " +
				"did (docs/imports.md). To import a file named list, write ./list."},
		{name: "import undo", args: "ID [--json]", setup: (*app).importUndo,
			summary: "undo an import: its calls leave the open cycles, later calls are rated again",
			about: "Removes the calls of import ID (imp-N, as import list shows it) from the open cycles, with their aggregates, recording bytes, " +
				"voice-package minutes and platform minutes, and rates the calls of the same accounts stored after them again, so that the " +
				"bills are those of a world without the import; its calls can then be imported again. One transaction: a close waits for it. " +
				"An import with a call in a closed cycle is refused whole (a closed bill never changes: correct it with callbill adjust). " +
				"Undoing an undone import changes nothing. To import a file named undo, write ./undo."},
		{name: "pull", setup: (*app).pull,
			args: "--instance ID[,ID…] --state FILE [--since TIME] [--to URL] [--endpoint URL] [--interval DURATION] [--lag DURATION] " +
				"[--overlap DURATION] [--page-size N] [-q]",
			summary: "read new call records from Alibaba CCC (ListCallDetailRecords) and import them",
			about: "Reads each instance's call detail records from Cloud Call Center's ListCallDetailRecords (API 2020-07-01), signed with " +
				"the AccessKey of pull.access_key_id / pull.access_key_secret_file in the configuration (or $ALIBABA_CLOUD_ACCESS_KEY_ID and $ALIBABA_CLOUD_ACCESS_KEY_SECRET), and imports them: posted to the " +
				"callbill server of --to (POST /api/v1/imports, $CALLBILL_OPERATOR_KEY), or without --to straight into --db as import does. " +
				"A pass reads from each instance's cursor in --state, less --overlap (or from --since for an instance without one), up to " +
				"--lag ago, in windows of at most a day, and moves the cursor only once a window is imported whole; duplicates are counted " +
				"once, so reading again is safe. A window larger than CCC pages through (100 pages) is read in halves. With --interval " +
				"it repeats until interrupted, retrying a failed pass with a growing delay; one pass exits 1 on an error and 3 when records " +
				"were rejected (each is named on stderr). See docs/operations.md, Connecting the call platform."},
		{name: "bill close", args: "YYYY-MM", setup: (*app).billClose,
			summary: "close a cycle and every earlier open one (irreversible)",
			about: "Freezes the postpaid bills of the cycle and, oldest first, of every earlier cycle not yet closed, and deducts them " +
				"from the accounts' cash; what cash does not cover is outstanding. Closing is irreversible: a closed bill never changes, " +
				"and a purchase or top-up dated in a closed cycle is refused. A deployment without accounts is not closed; a cycle in which " +
				"no account had a call is closed with a warning on stderr. Closing a closed cycle changes nothing."},
		{name: "bill show", args: "--account UID --cycle YYYY-MM [--by item|instance] [--period cycle|day] [--json]", setup: (*app).billShow,
			summary: "show an account's bill of a cycle (a live preview while it is open)",
			about: "Shows an account's bill: by billing item or by instance, for the cycle or per day, as a table or as JSON (docs/design.md §4.4). " +
				"An open cycle shows what closing it now would give."},
		{name: "usage export", setup: (*app).usageExport,
			args: "--account UID (--cycle YYYY-MM | --from RFC3339 --to RFC3339) [--instance ID] [--item ITEM|none] [--number N] " +
				"[--direction inbound|outbound] [--format csv|xlsx] [--extra COL,…] [-o FILE] [-q]",
			summary: "export an account's per-call usage detail (CSV or XLSX)",
			about: "Writes one row per call (docs/design.md §3.13): the calls billed in --cycle (a late call in its later cycle), " +
				"or those that started in [--from, --to). Extra columns: " + strings.Join(export.ExtraColumns(), ", ") + "."},
		{name: "serve", setup: (*app).serve,
			args: "[--addr HOST:PORT] [--exports DIR] [--node NAME] [--auto-close=false] [--auto-close-grace DURATION] " +
				"[--job-lease DURATION] [--trusted-proxies LIST] [--authorize-cap SECONDS]",
			summary: "run the API, the BSS endpoint, the web console and the background jobs",
			about: "Serves the operator API, Alibaba's BSS endpoint and the web console, and runs this node's background jobs: exports, " +
				"webhook deliveries, account states, number renewals and the automatic close of the previous cycle at 12:00 on the 2nd " +
				"(billing time zone). At start it says on stderr which cycle closes when; a close that is already due (a catch-up) waits " +
				"--auto-close-grace, so that you can stop it first. serve creates the database when it does not exist " +
				"(the world may then come through POST /api/v1/world)."},
		{name: "topup", args: "--account UID --amount AMOUNT --key KEY", setup: (*app).topup,
			summary: "record a top-up: it settles arrears oldest first, the rest stays as cash",
			about:   "Records a top-up. The same --key again moves no money twice; the same key with another amount is an error."},
		{name: "adjust", args: "--account UID --amount ±AMOUNT --reason TEXT --key KEY [--corrects REF]", setup: (*app).adjust,
			summary: "credit or debit an account, with a reason for its statement",
			about:   "Records an adjustment, settled in cash at once (docs/money.md): a positive amount credits, a negative one debits."},
		{name: "account show", args: "UID [--json]", setup: (*app).accountShow,
			summary: "cash, credit, outstanding, available, state, voice packages, numbers, alerts",
			about:   "Shows an account's money and state, its voice packages, numbers and recent state changes and alerts."},
		{name: "ledger", args: "--account UID", setup: (*app).ledger,
			summary: "an account's statement, with running balance",
			about:   "Lists every money movement of the account, oldest first, with the cash balance after it."},
		{name: "ledger verify", args: "[--account UID]", setup: (*app).ledgerVerify,
			summary: "prove that balances and bills reconcile with the ledger",
			about:   "Checks, for one account or all, that cash = Σ ledger and that every bill's paid amount is what the ledger paid toward it; exit 1 when not."},
		{name: "authorize", args: "--instance ID --number N --direction inbound|outbound [--reserve CONTACT_ID [--seconds N]] [--json]",
			setup: (*app).authorize, summary: "may this call be made now, and for how long? (exit 4 when denied)",
			about: "Answers the call platform's question for one call (docs/authorization.md): allow with max_seconds, how long the " +
				"account's headroom pays for (at most the world's billing.max_call_seconds), or deny with the reason (exit 4). " +
				"--reserve holds the started call's price until its CDR is imported or the reservation expires."},
		{name: "reservation list", args: "[--account UID] [--json]", setup: (*app).reservationList,
			summary: "list the live reservations of started calls",
			about:   "Lists the reservations that still hold an amount (docs/authorization.md), soonest expiry first, of one account or every account."},
		{name: "reservation release", args: "--instance ID CONTACT_ID", setup: (*app).reservationRelease,
			summary: "release a started call's reservation",
			about:   "Deletes a call's reservation, so that its amount no longer holds the account's headroom; the import of its CDR does this by itself."},
		{name: "accesskey create", args: "--account UID [--json]", setup: (*app).accessKeyCreate,
			summary: "create an AccessKey for an account's BSS API calls",
			about:   "Creates an AccessKey pair for the account; the secret is shown this once."},
		{name: "accesskey revoke", args: "ID", setup: (*app).accessKeyRevoke,
			summary: "revoke an AccessKey",
			about:   "Revokes an AccessKey: requests signed with it are refused from now on."},
		{name: "webhook add", args: "--url URL [--account UID] [--events KIND,…] [--json]", setup: (*app).webhookAdd,
			summary: "add a webhook endpoint (prints its signing secret once)",
			about:   "Adds an endpoint that receives signed events (docs/webhooks.md), for one account or all, for some event kinds or all."},
		{name: "webhook list", args: "[--json]", setup: (*app).webhookList,
			summary: "list webhook endpoints with their delivery counts",
			about:   "Lists the webhook endpoints with what is pending, delivered and failed."},
		{name: "webhook log", args: "ID [--limit N] [--json]", setup: (*app).webhookLog,
			summary: "an endpoint's deliveries and their attempts, newest first",
			about:   "Lists the endpoint's deliveries, newest first, with every attempt."},
		{name: "webhook replay", args: "ID [--event EVENT_ID]", setup: (*app).webhookReplay,
			summary: "send an endpoint's failed deliveries (or one event) again",
			about:   "Makes the endpoint's failed deliveries, or one event's, due now; a running serve sends them."},
		{name: "webhook disable", args: "ID", setup: (*app).webhookDisable,
			summary: "stop sending to an endpoint",
			about:   "Disables the endpoint: nothing more is sent to it."},
		{name: "budget set", setup: (*app).budgetSet,
			args:    "--account UID [--item ITEM | --instance ID] (--amount AMOUNT [--thresholds PERCENTS] | --minutes N) [--json]",
			summary: "set a budget per cycle (total, item or instance) or a usage trigger on an item's minutes",
			about: "Sets a budget of the account on its postpaid spend in every cycle from this one on (docs/budgets.md): the total payable, " +
				"one billing --item or one --instance, in yuan, with alerts at --thresholds percent of it (default 50,80,100); or, with " +
				"--minutes N, a usage trigger that alerts once the --item's minutes in a cycle exceed N. Each threshold fires a " +
				"budget.threshold webhook once per cycle, at import time. An account has one budget per scope: setting another replaces " +
				"it (its thresholds fire afresh); thresholds the spend so far has crossed fire at once."},
		{name: "budget list", args: "[--account UID] [--json]", setup: (*app).budgetList,
			summary: "list budgets with the cycle's spend, month-end forecast and alerts fired",
			about: "Lists the budgets of one account, or of every account that has any, each with the current cycle's actual spend " +
				"(the live bill's estimate) or minutes, the month-end forecast, the share used and the thresholds fired."},
		{name: "budget remove", args: "--account UID ID [--json]", setup: (*app).budgetRemove,
			summary: "remove a budget (its alerts stay)",
			about:   "Removes one of the account's budgets or usage triggers: it watches no cycle from now on."},
		{name: "invoice title add", setup: (*app).titleAdd,
			args: "--account UID --kind company|person --name NAME [--type general|special] [--tax-id ID] [--bank BANK] " +
				"[--bank-account N] [--address ADDRESS] [--phone PHONE] [--json]",
			summary: "add an invoice title (抬头) to an account",
			about:   "Adds an invoice title; it must match the account's real-name identity (docs/invoices.md)."},
		{name: "invoice title list", args: "--account UID [--json]", setup: (*app).titleList,
			summary: "list an account's invoice titles",
			about:   "Lists the account's invoice titles."},
		{name: "invoice title delete", args: "--account UID ID", setup: (*app).titleDelete,
			summary: "delete an invoice title",
			about:   "Deletes an invoice title; applications keep their copy of it."},
		{name: "invoice apply", args: "--account UID --title ID --amount AMOUNT [--type general|special] [--remark TEXT] [--key KEY] [--json]",
			setup: (*app).invoiceApply, summary: "apply for an invoice, up to the invoiceable amount",
			about: "Applies for an invoice for the account; the amount may not exceed what is invoiceable, and an account in arrears cannot apply."},
		{name: "invoice list", args: "[--account UID] [--status pending|issued|rejected|withdrawn] [--json]", setup: (*app).invoiceList,
			summary: "list invoice applications (with the invoiceable amount for one account)",
			about:   "Lists invoice applications, of one account (with its invoiceable amount) or of every account."},
		{name: "invoice withdraw", args: "--account UID ID [--json]", setup: (*app).invoiceWithdraw,
			summary: "withdraw a pending application (for the tenant)",
			about:   "Withdraws a pending application; its amount is invoiceable again."},
		{name: "invoice issue", args: "ID --number N [--date YYYY-MM-DD] [--json]", setup: (*app).invoiceIssue,
			summary: "record that an application's invoice was issued",
			about:   "Marks a pending application issued, with the invoice's number and date (default today)."},
		{name: "invoice reject", args: "ID --reason TEXT [--json]", setup: (*app).invoiceReject,
			summary: "reject an application, with the reason",
			about:   "Rejects a pending application; the tenant sees the reason."},
		{name: "contract create", setup: (*app).contractCreate,
			args: "--account UID (--purchase ID | --from YYYY-MM --to YYYY-MM) [--key KEY] [--address A] [--contact C] [--phone P] " +
				"[--email E] [--tax-id T] [--bank B] [--bank-account N] [--json]",
			summary: "draft an e-contract for a purchase or for closed cycles",
			about:   "Drafts a purchase contract (one per purchase) or a service contract for the postpaid usage of closed cycles (docs/invoices.md)."},
		{name: "contract edit", setup: (*app).contractEdit,
			args:    "--account UID ID [--address A] [--contact C] [--phone P] [--email E] [--tax-id T] [--bank B] [--bank-account N] [--json]",
			summary: "change the customer's details of a draft",
			about:   "Changes the customer's (甲方) details of a draft contract."},
		{name: "contract list", args: "[--account UID] [--status draft|formal|void|lapsed] [--json]", setup: (*app).contractList,
			summary: "list e-contracts, newest first",
			about:   "Lists e-contracts, of one account or of every account; a stale draft shows lapsed."},
		{name: "contract show", args: "--account UID ID [--json]", setup: (*app).contractShow,
			summary: "show an e-contract",
			about:   "Shows an e-contract with its parties, items and amounts."},
		{name: "contract confirm", args: "--account UID ID [--json]", setup: (*app).contractConfirm,
			summary: "confirm a draft: it becomes formal",
			about:   "Confirms a draft for the tenant: it becomes a formal contract, whose PDF can be written."},
		{name: "contract void", args: "--account UID ID [--reason TEXT] [--json]", setup: (*app).contractVoid,
			summary: "void a contract (a formal one needs a reason)",
			about:   "Voids a contract as the operator; a formal contract needs --reason."},
		{name: "contract pdf", args: "--account UID ID [-o FILE]", setup: (*app).contractPDF,
			summary: "write a formal contract as a PDF",
			about:   "Writes a formal contract as a PDF (default contract-ID.pdf)."},
		{name: "contract provider", args: "[--name N] [--address A] [--contact C] [--phone P] [--email E] [--tax-id T] [--bank B] [--bank-account N] [--json]",
			setup: (*app).contractProvider, summary: "show or set the provider side (乙方) of contracts",
			about: "Shows the provider side of contracts; with flags, sets them first."},
		{name: "user add", args: "NAME (--account UID | --operator) [--password-stdin]", setup: (*app).userAdd,
			summary: "add a web console login, for a tenant account or the operator",
			about:   "Adds a console user; the password is asked twice on a terminal, or read from stdin's first line."},
		{name: "user passwd", args: "NAME [--password-stdin]", setup: (*app).userPasswd,
			summary: "change a console user's password (its sessions end)",
			about:   "Changes a console user's password; its sessions end."},
		{name: "user remove", args: "NAME", setup: (*app).userRemove,
			summary: "remove a console user (its sessions end)",
			about:   "Removes a console user; its sessions end."},
		{name: "user list", args: "", setup: (*app).userList,
			summary: "list console users",
			about:   "Lists the console users."},
		{name: "backup", args: "[--force] FILE", setup: (*app).backup,
			summary: "copy a SQLite database consistently, while serve or an import runs",
			about: "Writes a consistent copy of the SQLite database to FILE (VACUUM INTO, mode 0600) while serve, an import or a close runs: " +
				"each committed import batch or close is in it whole or not at all. The copy is renamed into place once complete; an existing " +
				"FILE is replaced only with --force. Keep the master key and the export folder with it (docs/operations.md). " +
				"A PostgreSQL database is refused: use pg_dump -Fc and pg_restore."},
		{name: "restore", args: "[--force] FILE", setup: (*app).restore,
			summary: "put a backup in place as the SQLite database (every process stopped)",
			about: "Copies the backup FILE into place as the database named by --db, through a temporary file and a rename. " +
				"FILE must be a callbill database from this release or an earlier one. The database is refused while any process has it " +
				"open, and replaced only with --force. Restore the master key and the export folder with it (docs/operations.md). " +
				"A PostgreSQL database is refused: use pg_restore."},
		{name: "migrate status", args: "[--json]", setup: (*app).migrateStatus,
			summary: "show the database's schema migrations: applied, pending, from a newer release",
			about: "Lists the schema migrations the database has had and those this release would apply, without changing anything. " +
				"Every command applies pending migrations when it opens the database (one transaction each); a database a newer " +
				"release migrated is refused (docs/operations.md, Upgrades)."},
		{name: "migrate up", args: "", setup: (*app).migrateUp,
			summary: "apply this release's pending schema migrations now",
			about:   "Applies the pending schema migrations, each in its own transaction, and says which; take a backup first."},
		{name: "config check", args: "[--json]", setup: (*app).configCheck, ownConfig: true,
			summary: "check the configuration and show every effective setting, secrets masked",
			about: "Reads the configuration as every command does — the file (--config FILE, else $CALLBILL_CONFIG, else ./callbill.yaml " +
				"when it exists), then the environment variables, then --db — and checks what it names: the key files and the font can be " +
				"read, the master key file holds a key, the export folder can be written or created, the database DSN is one callbill " +
				"takes. It prints every setting with its value and where it came from (default, file:LINE, env NAME, flag); a key is " +
				"shown only as set. It never opens or creates the database. Exit 1, with every problem and its line and column, when " +
				"the configuration cannot be used (docs/operations.md, Configuration)."},
		{name: "demo", args: "[--calls N] [--accounts N] [--dir DIR] [--addr HOST:PORT] [--no-serve]", setup: (*app).demo,
			summary: "a demo world, a month of calls, a closed bill, then the web console",
			about: "Writes a demo world and a month of realistic calls into --dir (default a new temporary folder), applies, imports and " +
				"closes them in a new database there, prints the bills, then serves the console with the login demo / callbill-demo."},
		{name: "help", args: "[COMMAND]", setup: (*app).helpCmd, ownConfig: true,
			summary: "show the commands, or a command's help",
			about:   "Shows the list of commands, or the help of one command (the same as callbill COMMAND --help)."},
	}
}

// lookup returns the command named name, or nil.
func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// subcommands lists the commands under group ("bill": close, show), nil
// when group is no group.
func subcommands(group string) []*command {
	var out []*command
	for _, c := range commands {
		if rest, ok := strings.CutPrefix(c.name, group+" "); ok && !strings.Contains(rest, " ") {
			out = append(out, c)
		}
	}
	// A group's groups: "invoice" lists "invoice title" too.
	seen := map[string]bool{}
	for _, c := range commands {
		if rest, ok := strings.CutPrefix(c.name, group+" "); ok && strings.Contains(rest, " ") {
			sub := group + " " + strings.SplitN(rest, " ", 2)[0]
			if !seen[sub] && lookup(sub) == nil {
				seen[sub] = true
				out = append(out, &command{name: sub, summary: groupSummary(sub)})
			}
		}
	}
	return out
}

// groupSummary is a group's line in its parent's list.
func groupSummary(group string) string {
	var names []string
	for _, c := range commands {
		if rest, ok := strings.CutPrefix(c.name, group+" "); ok {
			names = append(names, rest)
		}
	}
	return strings.Join(names, ", ")
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "-help" }

// resolve finds the command or group that args start with: the command
// and the rest of args, or the group's name.
func resolve(args []string) (c *command, rest []string, group string) {
	for n := min(3, len(args)); n >= 1; n-- {
		if c := lookup(strings.Join(args[:n], " ")); c != nil {
			return c, args[n:], ""
		}
	}
	for n := min(2, len(args)); n >= 1; n-- {
		if name := strings.Join(args[:n], " "); len(subcommands(name)) > 0 {
			return nil, args[n:], name
		}
	}
	return nil, args, ""
}

// dispatch runs the command args name.
func (a *app) dispatch(ctx context.Context, args []string) error {
	c, rest, group := resolve(args)
	switch {
	case c != nil:
		return a.runCommand(ctx, c, rest)
	case group != "":
		subs := subcommands(group)
		if len(rest) > 0 && isHelp(rest[0]) {
			return printGroupHelp(a.stdout, group, subs)
		}
		names := make([]string, len(subs))
		for i, s := range subs {
			names[i] = strings.TrimPrefix(s.name, group+" ")
		}
		if len(rest) == 0 {
			return &usageError{cmd: group, msg: fmt.Sprintf("%s needs a subcommand: %s", group, orList(names))}
		}
		return &usageError{cmd: group, msg: fmt.Sprintf("unknown %s subcommand %q (%s)", group, rest[0], orList(names))}
	}
	return &usageError{msg: fmt.Sprintf("unknown command %q", args[0])}
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// runCommand parses c's flags from args and runs it; -h or --help anywhere
// prints its help instead.
func (a *app) runCommand(ctx context.Context, c *command, args []string) error {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	run := c.setup(a, fs)
	pos, err := parseFlags(fs, args)
	if errors.Is(err, errHelp) {
		return c.printHelp(a.stdout, fs)
	}
	if err == nil && !c.ownConfig {
		err = a.loadConfig()
	}
	if err == nil {
		err = run(ctx, pos)
	}
	var ue *usageError
	if errors.As(err, &ue) && ue.cmd == "" {
		ue.cmd = c.name
	}
	return err
}

// call runs the command named name with args, as `callbill name args…`
// would (demo runs its steps so).
func (a *app) call(ctx context.Context, name string, args ...string) error {
	return a.runCommand(ctx, lookup(name), args)
}

// helpCmd prints the usage, or the help of the command or group named.
func (a *app) helpCmd(fs *flag.FlagSet) runner {
	return func(ctx context.Context, pos []string) error {
		if len(pos) == 0 {
			_, err := io.WriteString(a.stdout, usageText())
			return err
		}
		c, rest, group := resolve(pos)
		switch {
		case c != nil && len(rest) == 0:
			cfs := flag.NewFlagSet(c.name, flag.ContinueOnError)
			c.setup(a, cfs)
			return c.printHelp(a.stdout, cfs)
		case c == nil && group != "" && len(rest) == 0:
			return printGroupHelp(a.stdout, group, subcommands(group))
		}
		return usagef("no command %q; run 'callbill help' for the list", strings.Join(pos, " "))
	}
}

// synopsis is the command's usage line.
func (c *command) synopsis() string {
	return strings.TrimSpace("callbill [--db DSN] " + c.name + " " + c.args)
}

// printHelp prints c's help: synopsis, what it does, its flags with their
// defaults.
func (c *command) printHelp(w io.Writer, fs *flag.FlagSet) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "usage: %s\n\n%s\n\nflags:\n", hang(wrapWords(synopsisWords(c.synopsis()), 72), "         "), wrap(c.about, 78))
	var rows [][2]string
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		// "`item|instance`: lines by …" names the value up front; the
		// left column shows it already.
		for _, sep := range []string{": ", ", "} {
			usage = strings.TrimPrefix(usage, name+sep)
		}
		left := flagName(f.Name)
		if !isBoolFlag(f) {
			left += " " + name
		}
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "0s" {
			usage += " (default " + d + ")"
		}
		rows = append(rows, [2]string{left, usage})
	})
	rows = append(rows, [2]string{"-h, --help", "show this help"})
	w0 := 0
	for _, r := range rows {
		w0 = max(w0, width.StringWidth(r[0]))
	}
	indent := strings.Repeat(" ", w0+4)
	for _, r := range rows {
		fmt.Fprintf(&sb, "  %s%s  %s\n", r[0], strings.Repeat(" ", w0-width.StringWidth(r[0])), hang(wrap(r[1], max(30, 78-len(indent))), indent))
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// hang indents every line of text but the first.
func hang(text, indent string) string { return strings.ReplaceAll(text, "\n", "\n"+indent) }

// flagName is how a flag is written: -f for one letter, --name otherwise.
func flagName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// printGroupHelp lists a group's subcommands.
func printGroupHelp(w io.Writer, group string, subs []*command) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "usage: callbill [--db DSN] %s SUBCOMMAND …\n\nsubcommands:\n", group)
	listCommands(&sb, subs, group+" ")
	fmt.Fprintf(&sb, "\nrun 'callbill %s SUBCOMMAND --help' for a subcommand's flags.\n", group)
	_, err := io.WriteString(w, sb.String())
	return err
}

// listCommands writes one line per command: its name (without prefix) and
// summary.
func listCommands(sb *strings.Builder, cs []*command, prefix string) {
	w := 0
	for _, c := range cs {
		w = max(w, len(strings.TrimPrefix(c.name, prefix)))
	}
	for _, c := range cs {
		n := strings.TrimPrefix(c.name, prefix)
		fmt.Fprintf(sb, "  %-*s  %s\n", w, n, c.summary)
	}
}

// usageText is the global usage: every command, one line each.
func usageText() string {
	var sb strings.Builder
	sb.WriteString("usage: callbill [--db DSN] COMMAND [FLAGS] [ARGS]\n\ncommands:\n")
	listCommands(&sb, commands, "")
	sb.WriteString(`
global flags (before COMMAND):
  --db DSN           the database: a SQLite file (default $CALLBILL_DB, else db in the configuration,
                     else ./callbill.db), sqlite://PATH, file:PATH?OPTIONS, or PostgreSQL:
                     postgres://USER@HOST:PORT/DB
  --config FILE      the configuration file (default $CALLBILL_CONFIG, else ./callbill.yaml when it
                     exists); environment variables override it, flags override both
  --cpuprofile FILE  write a CPU profile to FILE
  --memprofile FILE  write a profile of the memory allocated to FILE, at the end
  -h, --help         show this list

Only apply, serve and demo create a database; every other command needs one.
run 'callbill COMMAND --help' (or 'callbill help COMMAND') for a command's flags.
exit status: 0 ok, 1 error, 2 usage error, 3 import rejected rows, 4 authorize denied the call.
`)
	return sb.String()
}

// synopsisWords splits a synopsis where a line may break: between its
// arguments, never inside [ ] or ( ).
func synopsisWords(s string) []string {
	var out []string
	depth, cur := 0, ""
	for _, f := range strings.Fields(s) {
		if cur != "" {
			cur += " "
		}
		cur += f
		depth += strings.Count(f, "[") + strings.Count(f, "(") - strings.Count(f, "]") - strings.Count(f, ")")
		if depth <= 0 {
			out, cur, depth = append(out, cur), "", 0
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// wrap breaks text into lines of at most n columns.
func wrap(text string, n int) string { return wrapWords(strings.Fields(text), n) }

// wrapWords joins words into lines of at most n columns (a longer word
// gets a line of its own).
func wrapWords(words []string, n int) string {
	var lines []string
	line := ""
	for _, word := range words {
		if line != "" && width.StringWidth(line)+1+width.StringWidth(word) > n {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// errHelp is a command line asking for help.
var errHelp = errors.New("help requested")

// parseFlags parses a command's flags; extra positional arguments are
// returned, mistakes are usage errors, -h or --help is errHelp.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	// Allow flags after positional arguments, as people type them.
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		if err != nil {
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "-" || !strings.HasPrefix(args[0], "-") {
			pos = append(pos, args[0])
			args = args[1:]
			if len(args) == 0 {
				break
			}
			continue
		}
		pos = append(pos, args...) // after "--"
		break
	}
	return pos, nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/config"
	"github.com/callbill/callbill/sqlstore"
)

// configCheck checks the configuration as every command reads it and
// shows each setting with where it came from (docs/operations.md,
// "Configuration"). It opens no database.
func (a *app) configCheck(fs *flag.FlagSet) runner {
	asJSON := fs.Bool("json", false, "print the file, the settings, notes and problems as one JSON object")
	return func(ctx context.Context, pos []string) error {
		if len(pos) > 0 {
			return usagef("config check takes no arguments")
		}
		err := a.loadConfig()
		var ce *config.Error
		if err != nil && !errors.As(err, &ce) {
			return err // --db given empty: a usage error
		}
		rep := configReport{File: a.cfg.Path, NamedBy: a.cfg.Named}
		if rep.File != "" {
			rep.File = absPath(rep.File)
		}
		problems := callbill.Problems{}
		if ce != nil {
			problems = ce.Problems
		} else {
			for _, e := range a.cfg.Entries() {
				if e.Key == "db" {
					e.Value = a.describeDB(&problems)
				}
				s := settingJSON{Key: e.Key, Value: e.Value, Secret: e.Secret, Source: e.From.String()}
				if e.From.Kind == config.File {
					s.Line = e.From.Line
				}
				rep.Settings = append(rep.Settings, s)
			}
			ps, notes := a.cfg.Check(a.dsn)
			problems = append(problems, ps...)
			rep.Notes = notes
		}
		rep.Valid = len(problems) == 0
		ce = &config.Error{File: rep.File, Problems: problems}
		for _, p := range problems {
			rep.Problems = append(rep.Problems, problemJSON{Key: p.Path, Line: p.Line, Column: p.Column, Message: p.Message, Text: ce.Line(p)})
		}
		if *asJSON {
			enc := json.NewEncoder(a.stdout)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
			if !rep.Valid {
				return exitCode(exitError)
			}
			return nil
		}
		if rep.Settings != nil {
			if err := rep.writeText(a); err != nil {
				return err
			}
		}
		if !rep.Valid {
			return ce
		}
		_, err = fmt.Fprintln(a.stdout, "the configuration is valid")
		return err
	}
}

// configReport is what config check found.
type configReport struct {
	File     string        `json:"file"`               // absolute; "" when none was read
	NamedBy  string        `json:"named_by,omitempty"` // --config, $CALLBILL_CONFIG or ./callbill.yaml
	Valid    bool          `json:"valid"`
	Settings []settingJSON `json:"settings,omitempty"` // none when the file could not be read
	Notes    []string      `json:"notes,omitempty"`
	Problems []problemJSON `json:"problems,omitempty"`
}

type settingJSON struct {
	Key    string `json:"key"`
	Value  string `json:"value"` // a secret's: "set" or "not set"
	Secret bool   `json:"secret,omitempty"`
	Source string `json:"source"` // default, file:LINE, env NAME, flag --NAME
	Line   int    `json:"line,omitempty"`
}

type problemJSON struct {
	Key     string `json:"key,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
	Text    string `json:"text"` // as the text output writes it
}

func (rep *configReport) writeText(a *app) error {
	if rep.File == "" {
		fmt.Fprintf(a.stdout, "configuration file: none (no --config, $%s or ./%s): built-in defaults, environment variables and flags\n\n",
			config.EnvFile, config.FileName)
	} else {
		fmt.Fprintf(a.stdout, "configuration file: %s (%s)\n\n", rep.File, rep.NamedBy)
	}
	t := newTable(left("setting"), left("value"), left("from"))
	for _, s := range rep.Settings {
		t.row(s.Key, s.Value, s.Source)
	}
	if err := t.write(a.stdout); err != nil {
		return err
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(a.stdout, "note: %s\n", n)
	}
	return nil
}

// describeDB shows the database setting without its password and says
// what it names, without opening it; a DSN callbill would refuse is a
// problem.
func (a *app) describeDB(problems *callbill.Problems) string {
	from := a.cfg.DB.From
	info, err := sqlstore.DescribeDSN(a.dsn)
	if err != nil {
		p := callbill.Problem{Path: "db", Message: errorText(err)}
		if from.Kind == config.File {
			p.Line, p.Column = from.Line, from.Column
		} else if from.Kind != config.Default {
			p.Message += " (" + from.String() + ")"
		}
		*problems = append(*problems, p)
		return "(not a DSN callbill takes)"
	}
	switch {
	case info.Postgres:
		return info.Shown + " (PostgreSQL; not contacted)"
	case info.File == "":
		return info.Shown + " (SQLite in memory)"
	}
	if _, err := os.Stat(info.File); errors.Is(err, fs.ErrNotExist) {
		return info.File + " (SQLite; no file yet: apply, serve or demo creates it)"
	}
	return info.File + " (SQLite; the file exists)"
}

// absPath is path made absolute, for messages (as is when that fails).
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

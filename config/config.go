// Package config reads callbill's configuration: one YAML file
// (callbill.yaml) holding every setting, which environment variables and
// then command-line flags override (docs/operations.md, "Configuration").
// It decodes the settings, checks each value and its bounds, and keeps
// where each came from; cmd/callbill applies them.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/internal/yamlsyntax"
)

// FileName is the configuration file looked for in the working folder
// when neither --config nor $CALLBILL_CONFIG names one.
const FileName = "callbill.yaml"

// EnvFile names the environment variable that names the configuration file.
const EnvFile = "CALLBILL_CONFIG"

// MaxFileBytes bounds a configuration file: a larger one is refused
// unread (a real one is a few hundred bytes).
const MaxFileBytes = 1 << 20

// Kind is the layer a setting's value came from; each overrides the ones
// before it.
type Kind int

const (
	Default Kind = iota // built in
	File                // the configuration file
	Env                 // an environment variable
	Flag                // a command-line flag
)

// Source says where a setting's value came from.
type Source struct {
	Kind Kind
	Name string // Env: the variable; Flag: the flag as typed (--addr)
	// File: where the value is written, 1-based.
	Line, Column int
}

func (s Source) String() string {
	switch s.Kind {
	case File:
		return fmt.Sprintf("file:%d", s.Line)
	case Env:
		return "env " + s.Name
	case Flag:
		return "flag " + s.Name
	}
	return "default"
}

// FromFlag is the source of a value given with the flag name (--addr).
func FromFlag(name string) Source { return Source{Kind: Flag, Name: name} }

// Setting is a value and where it came from.
type Setting[T any] struct {
	Value T
	From  Source
}

// Secret is a key given as its text or as the name of a file that holds
// it; the text is never shown.
type Secret struct {
	Text string // the key itself
	File string // or the file holding it
	From Source // Default when set nowhere
}

// Config is the effective configuration.
type Config struct {
	// Path is the configuration file read, "" when none; Named says what
	// named it: "--config", "$CALLBILL_CONFIG", or "./callbill.yaml"
	// (found in the working folder).
	Path, Named string

	DB          Setting[string]
	OperatorKey Secret
	MasterKey   Secret
	CJKFont     Setting[string] // "" the embedded font
	Serve       Serve
	Pull        Pull
}

// Pull holds the settings of `callbill pull`: the AccessKey it signs its
// requests to CCC with (a RAM user's, allowed to read call records).
type Pull struct {
	AccessKeyID     Setting[string]
	AccessKeySecret Secret
}

// Serve holds the settings of `callbill serve`.
type Serve struct {
	Addr            Setting[string]
	Exports         Setting[string]
	ExportKeepDays  Setting[int]
	RejectsKeepDays Setting[int]
	Node            Setting[string] // "" host-pid
	AutoClose       Setting[bool]
	AutoCloseGrace  Setting[time.Duration]
	JobLease        Setting[time.Duration]
	AuthorizeCap    Setting[int64] // seconds; 0 the world's billing.max_call_seconds
	TrustedProxies  Setting[[]netip.Prefix]
	ImportBody      Setting[int64]
	JSONBody        Setting[int64]
	WorldBody       Setting[int64]
}

// BodyLimits bound request bodies, in bytes.
type BodyLimits struct {
	Import int64 // a CDR upload (POST /api/v1/imports)
	JSON   int64 // a JSON request
	World  int64 // a world file (POST /api/v1/world)
}

// DefaultBodyLimits are the limits when none are configured.
var DefaultBodyLimits = BodyLimits{Import: 1 << 30, JSON: 1 << 20, World: 64 << 20}

// OrDefault gives each zero limit its default, so that a server built
// without configuration (in tests) has the usual bounds.
func (l BodyLimits) OrDefault() BodyLimits {
	d := DefaultBodyLimits
	if l.Import > 0 {
		d.Import = l.Import
	}
	if l.JSON > 0 {
		d.JSON = l.JSON
	}
	if l.World > 0 {
		d.World = l.World
	}
	return d
}

// BodyLimits are the request limits set.
func (s *Serve) BodyLimits() BodyLimits {
	return BodyLimits{Import: s.ImportBody.Value, JSON: s.JSONBody.Value, World: s.WorldBody.Value}
}

// Retention is how long serve keeps its files.
func (s *Serve) Retention() callbill.Retention {
	return callbill.Retention{ExportDays: s.ExportKeepDays.Value, RejectsDays: s.RejectsKeepDays.Value}
}

// Defaults is the configuration when nothing is set.
func Defaults() *Config { return defaults(&problems{}) }

// defaults is Defaults, a built-in default that does not read (a mistake in
// defs, which TestBuiltInDefaultsRead catches) added to ps as a problem of
// its key, so that Load refuses it with a message rather than ending the
// process.
func defaults(ps *problems) *Config {
	c := &Config{}
	for _, d := range defs {
		if d.def != "" {
			if err := d.set(c, d.def, Source{}); err != nil {
				ps.add(callbill.Problem{Path: d.key, Message: "the built-in default does not read: " + err.Error()})
			}
		}
	}
	return c
}

// Error is a configuration that cannot be used, with every problem.
type Error struct {
	File     string // the configuration file, "" when none was read
	Problems callbill.Problems
}

func (e *Error) Error() string {
	var sb strings.Builder
	n := e.Problems.Count()
	fmt.Fprintf(&sb, "the configuration has %d problem%s:", n, map[bool]string{true: "", false: "s"}[n == 1])
	for _, p := range e.Problems {
		sb.WriteString("\n  " + e.Line(p))
	}
	return sb.String()
}

// Line is one problem as it is shown: FILE:LINE:COLUMN: key: message for
// a problem in the file.
func (e *Error) Line(p callbill.Problem) string {
	s := ""
	if p.Line > 0 {
		s = fmt.Sprintf("%s:%d:%d: ", e.File, p.Line, p.Column)
	}
	if p.Path != "" {
		s += p.Path + ": "
	}
	return s + p.Message
}

// Unwrap gives the error's code: EINVALID.
func (e *Error) Unwrap() error {
	return &callbill.Error{Code: callbill.EINVALID, Message: e.Error()}
}

// Options say where Load looks.
type Options struct {
	File   string              // named by --config; "" when not given
	Getenv func(string) string // os.Getenv when nil
}

// Load finds the configuration file (--config, else $CALLBILL_CONFIG,
// else ./callbill.yaml when it exists; none is the defaults), reads it
// over the defaults, and the environment variables over it. Command-line
// flags come last (Set, SetFlags). Every problem is in one *Error; the
// configuration returned with it is not to be used.
func Load(o Options) (*Config, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	path, named := o.File, "--config"
	if path == "" {
		path, named = getenv(EnvFile), "$"+EnvFile
	}
	if path == "" {
		if _, err := os.Stat(FileName); err == nil || !errors.Is(err, fs.ErrNotExist) {
			path, named = FileName, "./"+FileName
		}
	}
	var ps problems
	c := defaults(&ps)
	if path != "" {
		c.Path, c.Named = path, named
		if data, msg := readFile(path, named); msg != "" {
			ps.add(callbill.Problem{Message: msg})
		} else {
			c.decode(data, &ps)
		}
	}
	c.applyEnv(getenv, &ps)
	if ps.count > 0 {
		return c, &Error{File: c.Path, Problems: ps.list()}
	}
	return c, nil
}

// Parse reads a configuration file's content over the defaults, without
// the environment: what `config check` and the tests of a file use.
func Parse(data []byte, name string) (*Config, error) {
	var ps problems
	c := defaults(&ps)
	c.Path = name
	c.decode(data, &ps)
	if ps.count > 0 {
		return c, &Error{File: name, Problems: ps.list()}
	}
	return c, nil
}

// readFile reads the configuration file, bounded; msg says why it cannot.
func readFile(path, named string) (data []byte, msg string) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Sprintf("the configuration file %s (named by %s) does not exist", path, named)
		}
		return nil, fmt.Sprintf("cannot read the configuration file %s (named by %s): %v", path, named, unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Sprintf("cannot read the configuration file %s: %v", path, unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Sprintf("the configuration file %s (named by %s) is not a regular file", path, named)
	}
	data, err = io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Sprintf("cannot read the configuration file %s: %v", path, unwrapPath(err))
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Sprintf("the configuration file %s is larger than 1 MiB; it holds a few settings, so it is refused unread", path)
	}
	return data, ""
}

// unwrapPath drops the path an *fs.PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// decode reads the file's settings over c.
func (c *Config) decode(data []byte, ps *problems) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := yamlsyntax.Decode(dec, &doc); err != nil {
		if !errors.Is(err, io.EOF) { // an empty file sets nothing
			ps.add(yamlsyntax.Problem(dec, data, err))
		}
		return
	}
	var extra yaml.Node
	switch err := yamlsyntax.Decode(dec, &extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		ps.add(yamlsyntax.Problem(dec, data, err))
		return
	case len(extra.Content) > 0 && !isNull(extra.Content[0]):
		ps.at(&extra, "", "a configuration file holds one YAML document; remove everything from the second ---")
		return
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		ps.at(root, "", "a configuration file is a mapping of settings (db: …, serve: …), see deploy/callbill.yaml")
		return
	}
	c.walk(root, "", ps)
}

// walk reads one mapping of the file: settings and sections.
func (c *Config) walk(n *yaml.Node, prefix string, ps *problems) {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			ps.at(k, prefix, "a key must be a setting's name")
			continue
		}
		key := prefix + k.Value
		if first, ok := seen[k.Value]; ok {
			ps.at(k, quoteKey(key), "set twice; the first is at line %d", first.Line)
			continue
		}
		seen[k.Value] = k
		if v.Kind == yaml.AliasNode {
			ps.at(v, quoteKey(key), "aliases (*name) are not used in a configuration file: write the value")
			continue
		}
		if isSection(key) {
			switch {
			case isNull(v):
			case v.Kind != yaml.MappingNode:
				ps.at(v, key, "must be a mapping of settings: %s", strings.Join(keysUnder(key+"."), ", "))
			default:
				c.walk(v, key+".", ps)
			}
			continue
		}
		d := lookup(key)
		if d == nil {
			ps.at(k, quoteKey(key), "%s", unknown(key, prefix))
			continue
		}
		if isNull(v) { // "key:" with no value keeps the default
			continue
		}
		raw, ok := d.raw(v, ps)
		if !ok {
			continue
		}
		if err := d.set(c, raw, Source{Kind: File, Line: v.Line, Column: v.Column}); err != nil {
			ps.at(v, key, "%v", err)
		}
	}
}

// raw is a value as text: a scalar's, or a list's items joined by commas
// where the setting takes a list.
func (d *def) raw(v *yaml.Node, ps *problems) (string, bool) {
	switch {
	case v.Kind == yaml.ScalarNode:
		return v.Value, true
	case v.Kind == yaml.SequenceNode && d.list:
		items := make([]string, 0, len(v.Content))
		for _, it := range v.Content {
			if it.Kind != yaml.ScalarNode || strings.Contains(it.Value, ",") {
				ps.at(it, d.key, "each item is one IP address or CIDR prefix")
				return "", false
			}
			items = append(items, it.Value)
		}
		return strings.Join(items, ","), true
	case d.list:
		ps.at(v, d.key, "must be a list of IP addresses or CIDR prefixes")
	default:
		ps.at(v, d.key, "must be a single value, not a list or mapping")
	}
	return "", false
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// unknown says what is wrong with a key no setting has, and what is there.
func unknown(key, prefix string) string {
	name := key[len(prefix):]
	for _, d := range defs {
		if strings.HasSuffix(d.key, "."+name) || (prefix != "" && d.key == name) {
			return fmt.Sprintf("no such setting here; did you mean %s?", d.key)
		}
		if d.env != "" && strings.EqualFold(d.env, name) {
			return fmt.Sprintf("no such setting; the file's name for $%s is %s", d.env, d.key)
		}
	}
	return "no such setting; the settings here are " + strings.Join(keysUnder(prefix), ", ")
}

// quoteKey shows a key from the file: as written when it is a plain name,
// else quoted (bounded, escaped).
func quoteKey(key string) string {
	for _, r := range key {
		if !(r == '.' || r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Sprintf("%q", cut(key, 64))
		}
	}
	return cut(key, 64)
}

// cut cuts s to n bytes and marks the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// applyEnv reads the environment variables over c; an empty variable is
// not set.
func (c *Config) applyEnv(getenv func(string) string, ps *problems) {
	for i := range defs {
		d := &defs[i]
		if d.env == "" {
			continue
		}
		raw := getenv(d.env)
		if raw == "" {
			continue
		}
		if err := d.set(c, raw, Source{Kind: Env, Name: d.env}); err != nil {
			ps.add(callbill.Problem{Path: d.key, Message: fmt.Sprintf("$%s: %v", d.env, err)})
		}
	}
}

// Set sets the setting key from a command-line flag or another source
// that overrides what is set.
func (c *Config) Set(key, raw string, from Source) error {
	d := lookup(key)
	if d == nil {
		return fmt.Errorf("no setting %s", key)
	}
	return d.set(c, raw, from)
}

// FlagFor is the setting a command-line flag sets ("" for none): the
// global --db, serve's flags.
func FlagFor(flag string) string {
	for _, d := range defs {
		if d.flag == flag {
			return d.key
		}
	}
	return ""
}

// problems collects problems in the order found, at most
// callbill.MaxProblems of them.
type problems struct {
	ps    callbill.Problems
	count int
}

func (p *problems) add(q callbill.Problem) {
	p.count++
	if len(p.ps) < callbill.MaxProblems {
		p.ps = append(p.ps, q)
	}
}

// at adds a problem at node n.
func (p *problems) at(n *yaml.Node, key, format string, args ...any) {
	p.add(callbill.Problem{Path: key, Line: n.Line, Column: n.Column, Message: fmt.Sprintf(format, args...)})
}

func (p *problems) list() callbill.Problems {
	out := p.ps
	if more := p.count - len(p.ps); more > 0 {
		out = append(out, callbill.MoreProblems(more))
	}
	return out
}

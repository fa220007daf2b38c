package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/callbill/callbill"
)

// Check looks at what the settings name on this machine: the key files
// and the font can be read, a master key file holds a key, the export
// folder can be written or created. It changes nothing but a probe file it
// creates and removes at once in the export folder (or the folder that
// would hold it). dsn is the database the master key file may sit beside.
// Problems stop serve or a command; notes are for the operator to know.
func (c *Config) Check(dsn string) (problems callbill.Problems, notes []string) {
	add := func(key string, from Source, format string, args ...any) {
		p := callbill.Problem{Path: key, Message: fmt.Sprintf(format, args...)}
		if from.Kind == File {
			p.Line, p.Column = from.Line, from.Column
		} else if from.Kind != Default {
			p.Message += " (" + from.String() + ")"
		}
		problems = append(problems, p)
	}
	if c.OperatorKey.File != "" {
		if _, err := c.readOperatorKeyFile(); err != nil {
			add("operator_key_file", c.OperatorKey.From, "%v", err)
		}
	}
	if c.Pull.AccessKeySecret.File != "" {
		if _, err := c.readAccessKeySecretFile(); err != nil {
			add("pull.access_key_secret_file", c.Pull.AccessKeySecret.From, "%v", err)
		}
	}
	if c.MasterKey.Text == "" {
		path := c.MasterKeyFile(dsn)
		switch text, err := readKeyFile(path); {
		case errors.Is(err, fs.ErrNotExist):
			notes = append(notes, fmt.Sprintf("there is no master key file at %s yet: the first command that needs the key "+
				"(an access key, a webhook) creates one; every node of one database needs the same key", abs(path)))
		case err != nil:
			add("master_key_file", c.MasterKey.From, "%v", err)
		default:
			if _, err := DecodeMasterKey(text); err != nil {
				add("master_key_file", c.MasterKey.From, "%s: %v", path, err)
			}
		}
	}
	if f := c.CJKFont; f.Value != "" {
		if err := readable(f.Value); err != nil {
			add("cjk_font", f.From, "cannot read the font file %s: %v", f.Value, err)
		}
	}
	if err := writableFolder(c.Serve.Exports.Value); err != nil {
		add("serve.exports", c.Serve.Exports.From, "%v", err)
	}
	if c.Path != "" && (c.OperatorKey.Text != "" && c.OperatorKey.From.Kind == File || c.MasterKey.Text != "" && c.MasterKey.From.Kind == File) {
		if st, err := os.Stat(c.Path); err == nil && st.Mode().Perm()&0o077 != 0 {
			notes = append(notes, fmt.Sprintf("%s holds a key and others may read it (mode %#o): chmod 600 it, or name a key file "+
				"(operator_key_file, master_key_file) instead", c.Path, st.Mode().Perm()))
		}
	}
	return problems, notes
}

// readOperatorKeyFile reads and checks the operator key file.
func (c *Config) readOperatorKeyFile() (string, error) {
	text, err := readKeyFile(c.OperatorKey.File)
	if err != nil {
		return "", err
	}
	if err := checkOperatorKey(text); err != nil {
		return "", fmt.Errorf("%s: %v", c.OperatorKey.File, err)
	}
	return text, nil
}

// readable reports why a file cannot be read, nil when it can.
func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return unwrapPath(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return unwrapPath(err)
	}
	if !st.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	var b [1]byte
	if _, err := f.Read(b[:]); err != nil {
		return unwrapPath(err)
	}
	return nil
}

// writableFolder reports why serve could not write files in dir, or
// create it: dir, or the nearest folder above it that exists, must take a
// new file.
func writableFolder(dir string) error {
	path := abs(dir)
	for p := path; ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) && filepath.Dir(p) != p {
			continue
		}
		if err != nil {
			return fmt.Errorf("the folder %s cannot be used: %v", path, unwrapPath(err))
		}
		if !st.IsDir() {
			return fmt.Errorf("%s is not a folder, so the folder %s cannot be used", p, path)
		}
		probe, err := os.CreateTemp(p, ".callbill-check-*")
		if err != nil {
			if p == path {
				return fmt.Errorf("cannot write in the folder %s: %v", path, unwrapPath(err))
			}
			return fmt.Errorf("the folder %s does not exist and cannot be created: cannot write in %s (%v)", path, p, unwrapPath(err))
		}
		probe.Close()
		os.Remove(probe.Name())
		return nil
	}
}

// abs is path made absolute, for messages (as is when that fails).
func abs(path string) string {
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}

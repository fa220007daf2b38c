package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/callbill/callbill"
)

// maxKeyFile bounds a key file: a key is a line.
const maxKeyFile = 4 << 10

// readKeyFile reads a key file: its text without surrounding spaces and
// newlines. Its messages name the file, never its content.
func readKeyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the key file %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("the key file %s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return "", fmt.Errorf("cannot read the key file %s: %v", path, unwrapPath(err))
	}
	if len(b) > maxKeyFile {
		return "", fmt.Errorf("the key file %s is larger than 4 KiB; it holds one key", path)
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return "", fmt.Errorf("the key file %s is empty", path)
	}
	return text, nil
}

// ReadAccessKeySecret is the CCC AccessKey secret of `callbill pull`: its
// text, or the content of its file; "" when none is set.
func (c *Config) ReadAccessKeySecret() (string, error) {
	k := c.Pull.AccessKeySecret
	if k.File == "" {
		return k.Text, nil
	}
	text, err := c.readAccessKeySecretFile()
	if err != nil {
		return "", callbill.Errorf(callbill.EINVALID, "pull.access_key_secret_file (%s): %v", k.From, err)
	}
	return text, nil
}

// readAccessKeySecretFile reads and checks the AccessKey secret's file.
func (c *Config) readAccessKeySecretFile() (string, error) {
	path := c.Pull.AccessKeySecret.File
	text, err := readKeyFile(path)
	if err != nil {
		return "", err
	}
	if err := checkAccessKeySecret(text); err != nil {
		return "", fmt.Errorf("%s: %v", path, err)
	}
	return text, nil
}

// ReadOperatorKey is the operator key: its text, or the content of its
// file (read now: serve reads it once, at start); "" when none is set.
func (c *Config) ReadOperatorKey() (string, error) {
	k := c.OperatorKey
	if k.File == "" {
		return k.Text, nil
	}
	text, err := c.readOperatorKeyFile()
	if err != nil {
		return "", callbill.Errorf(callbill.EINVALID, "operator_key_file (%s): %v", k.From, err)
	}
	return text, nil
}

// MasterKeyFile is the file that holds the master key when its text is not
// set: master_key_file, else DB.key beside a SQLite file, callbill.key in
// the working folder for a DSN with a scheme (PostgreSQL).
func (c *Config) MasterKeyFile(dsn string) string {
	if c.MasterKey.File != "" {
		return c.MasterKey.File
	}
	if strings.Contains(dsn, "://") {
		return "callbill.key"
	}
	return strings.TrimPrefix(strings.SplitN(dsn, "?", 2)[0], "file:") + ".key"
}

// LoadMasterKey returns the key that seals access key and webhook secrets:
// master_key, else the content of MasterKeyFile(dsn), which is created with
// a random key (mode 0600) the first time one is needed.
func (c *Config) LoadMasterKey(dsn string) ([]byte, error) {
	if c.MasterKey.Text != "" {
		k, err := DecodeMasterKey(c.MasterKey.Text)
		if err != nil {
			return nil, callbill.Errorf(callbill.EINVALID, "master_key (%s): %v", c.MasterKey.From, err)
		}
		return k, nil
	}
	path := c.MasterKeyFile(dsn)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
			return nil, err
		}
		return k, f.Sync()
	}
	if err != nil {
		return nil, err
	}
	k, err := DecodeMasterKey(string(b))
	if err != nil {
		return nil, callbill.Errorf(callbill.EINVALID, "the master key file %s must hold 32 bytes in base64 (head -c 32 /dev/urandom | base64)", path)
	}
	return k, nil
}

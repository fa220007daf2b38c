package callbill

import (
	"errors"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// ConsoleUser is a person who signs in to the web console with a name and a
// password: a tenant's user (Account set) or one of the operator's (Account
// ""). Only the bcrypt hash of the password is kept.
type ConsoleUser struct {
	Name         string
	Account      string // "" = an operator
	PasswordHash string // bcrypt
	CreatedAt    time.Time
}

// NewConsoleUser is a console user to create: a tenant's (Account set) or
// one of the operator's (Account "").
type NewConsoleUser struct {
	Name     string
	Account  string
	Password string
}

// Validate returns every problem of the name and the password.
func (u NewConsoleUser) Validate() error {
	var problems []error
	if !validUserName(u.Name) {
		problems = append(problems, Errorf(EINVALID, "a console user name is 1 to 64 letters, digits and . _ @ -"))
	}
	if err := checkConsolePassword(u.Password); err != nil {
		problems = append(problems, err)
	}
	return errors.Join(problems...)
}

// validUserName reports whether a console user name is 1–64 letters,
// digits and . _ @ -.
func validUserName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@-", r)) {
			return false
		}
	}
	return true
}

// MinConsolePassword is the shortest password a console user may have.
const MinConsolePassword = 8

// checkConsolePassword returns EINVALID for a password too short, or too
// long for bcrypt (which reads 72 bytes).
func checkConsolePassword(password string) error {
	if len(password) < MinConsolePassword {
		return Errorf(EINVALID, "a console password needs at least %d characters", MinConsolePassword)
	}
	if len(password) > 72 {
		return Errorf(EINVALID, "a console password may have at most 72 bytes (bcrypt reads no more)")
	}
	return nil
}

// HashConsolePassword checks a console password and returns its bcrypt hash.
func HashConsolePassword(password string) (string, error) {
	if err := checkConsolePassword(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// Operator reports whether the user is one of the operator's.
func (u *ConsoleUser) Operator() bool { return u.Account == "" }

// How a console session was signed in.
const (
	SessionViaPassword    = "password"     // a console user's name and password
	SessionViaAccessKey   = "accesskey"    // a tenant's AccessKey ID and secret
	SessionViaOperatorKey = "operator-key" // the operator key
)

// ConsoleSession is a signed-in session of the web console. The store keeps
// it under the SHA-256 of its random id (IDHash), never the id itself.
type ConsoleSession struct {
	IDHash     string
	Via        string // SessionVia…
	User       string // the console user, when signed in with a password
	KeyID      string // the AccessKey ID, when signed in with one
	OperatorFP string // the operator key's fingerprint, when signed in with it
	Account    string // the tenant; "" for an operator session
	Operator   bool
	CSRF       string // the token every form of the session carries
	CreatedAt  time.Time
	LastSeen   time.Time
}

// AccessKeyInfo describes an AccessKey without its secret.
type AccessKeyInfo struct {
	ID        string
	Account   string
	CreatedAt time.Time
	RevokedAt time.Time // zero while the key is valid
}

package callbill

import "time"

// ConsoleUser is a person who signs in to the web console with a name and a
// password: a tenant's user (Account set) or one of the operator's (Account
// ""). Only the bcrypt hash of the password is kept.
type ConsoleUser struct {
	Name         string
	Account      string // "" = an operator
	PasswordHash string // bcrypt
	CreatedAt    time.Time
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

package callbill

import "time"

// AccessKey is a tenant's AccessKey ID and secret pair: requests signed with
// it act for its account only.
type AccessKey struct {
	ID        string
	Account   string
	Secret    string
	CreatedAt time.Time
	RevokedAt time.Time // zero while the key is valid
}

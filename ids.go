package callbill

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// RequestHash is the fingerprint of a request kept beside its idempotency
// key or id: the same key with another fingerprint is another request. The
// parts are hashed each ended by a NUL, so no two lists of parts meet.
func RequestHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// NewDocumentID makes the id of an invoice application or a contract: a
// prefix, the UTC date and 40 random bits ("CT20261005-1A2B3C4D5E").
func NewDocumentID(prefix string, now time.Time) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + now.UTC().Format("20060102") + "-" + strings.ToUpper(hex.EncodeToString(b))
}

package api

import (
	"crypto/rand"
	"encoding/hex"
)

// newKey returns a random key: 128 bits, hex.
func newKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// NewOperatorKey returns a fresh random operator key.
func NewOperatorKey() string { return newKey() }

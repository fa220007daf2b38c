// Package rpcsign is signature version 1 of Alibaba Cloud's RPC APIs
// (HMAC-SHA1): the BSS endpoint verifies it (bss), callbill pull signs its
// requests to Cloud Call Center with it (ccc).
package rpcsign

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"sort"
	"strings"
)

// The scheme is the one the v1 Go SDK computes
// (sdk/auth/rpc_signature_composer.go) and Alibaba's signature
// documentation states (docs/bss.md, "Request checks and errors");
// bss/signature_test.go checks it against the published example.

// PercentEncode encodes s by RFC 3986: A–Z a–z 0–9 - _ . ~ stay as they are,
// every other byte (UTF-8 included) becomes %XY in upper-case hex; so a space
// is %20, never +, and * is %2A.
func PercentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// Canonicalize joins every parameter but Signature as name=value pairs,
// sorted by name, each side percent-encoded, with &. Parameters with an empty
// value (the SDK's SignatureType=) are kept.
func Canonicalize(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(PercentEncode(k))
		b.WriteByte('=')
		b.WriteString(PercentEncode(params[k]))
	}
	return b.String()
}

// StringToSign is METHOD & percentEncode("/") & percentEncode(canonical
// parameters), for the request's actual HTTP method.
func StringToSign(method string, params map[string]string) string {
	return method + "&" + PercentEncode("/") + "&" + PercentEncode(Canonicalize(params))
}

// Sign returns Base64(HMAC-SHA1(secret + "&", stringToSign)), standard
// Base64 with padding.
func Sign(stringToSign, secret string) string {
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify reports whether params["Signature"] is the signature of the request
// (method, params) under secret, compared in constant time. It also returns
// the string to sign, which SignatureDoesNotMatch shows.
func Verify(method string, params map[string]string, secret string) (stringToSign string, ok bool) {
	sts := StringToSign(method, params)
	return sts, subtle.ConstantTimeCompare([]byte(Sign(sts, secret)), []byte(params["Signature"])) == 1
}

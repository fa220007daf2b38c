package bss

import "github.com/callbill/callbill/internal/rpcsign"

// Signature version 1 of Alibaba Cloud's RPC APIs (HMAC-SHA1). The scheme
// lives in internal/rpcsign, which callbill pull's CCC client shares; these
// are its names here, where the endpoint verifies requests and its tests and
// fuzzers check it.

// PercentEncode encodes s by RFC 3986 (rpcsign.PercentEncode).
func PercentEncode(s string) string { return rpcsign.PercentEncode(s) }

// Canonicalize joins every parameter but Signature, sorted and encoded
// (rpcsign.Canonicalize).
func Canonicalize(params map[string]string) string { return rpcsign.Canonicalize(params) }

// StringToSign is what a request of method with params signs
// (rpcsign.StringToSign).
func StringToSign(method string, params map[string]string) string {
	return rpcsign.StringToSign(method, params)
}

// Sign returns the signature of stringToSign under secret (rpcsign.Sign).
func Sign(stringToSign, secret string) string { return rpcsign.Sign(stringToSign, secret) }

// Verify reports whether params["Signature"] signs the request under secret,
// and returns the string to sign (rpcsign.Verify).
func Verify(method string, params map[string]string, secret string) (stringToSign string, ok bool) {
	return rpcsign.Verify(method, params, secret)
}

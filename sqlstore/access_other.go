//go:build !unix

package sqlstore

// canWrite: without access(2), the permission bits alone decide
// (readOnlyReason).
func canWrite(string) error { return nil }

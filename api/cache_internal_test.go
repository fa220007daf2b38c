package api

import (
	"bytes"
	"fmt"
	"testing"
)

// The cache stays within its count and byte bounds, replaces a key's body
// without counting it twice, and keeps no body larger than maxCachedBody.
func TestBodyCacheBounds(t *testing.T) {
	var c bodyCache
	big := bytes.Repeat([]byte("x"), maxCachedBody)
	n := 2*maxCachedBytes/maxCachedBody + 5
	for i := range n {
		c.put(fmt.Sprint("k", i), "v", big)
		if c.bytes > maxCachedBytes || len(c.m) > maxCached {
			t.Fatalf("after %d puts: %d bytes, %d entries", i+1, c.bytes, len(c.m))
		}
	}
	if _, ok := c.get(fmt.Sprint("k", n-1), "v"); !ok {
		t.Fatal("the last body put is not kept")
	}
	c.put("same", "v1", []byte("one"))
	before := c.bytes
	c.put("same", "v2", []byte("two"))
	if c.bytes != before {
		t.Fatalf("replacing a body changed the bytes held from %d to %d", before, c.bytes)
	}
	if _, ok := c.get("same", "v1"); ok {
		t.Fatal("an old version is served")
	}
	if b, ok := c.get("same", "v2"); !ok || string(b) != "two" {
		t.Fatalf("got %q %v", b, ok)
	}
	c.put("huge", "v", append(big, 'x'))
	if _, ok := c.get("huge", "v"); ok {
		t.Fatal("a body over maxCachedBody is kept")
	}
	var small bodyCache
	for i := range maxCached + 10 {
		small.put(fmt.Sprint("s", i), "v", []byte("b"))
	}
	if len(small.m) != maxCached || small.bytes != maxCached {
		t.Fatalf("%d entries, %d bytes", len(small.m), small.bytes)
	}
}

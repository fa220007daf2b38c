package api

import "sync"

// bodyCache keeps rendered response bodies (closed and live bills, usage
// pages of one cycle), each with the store version it was rendered at; a
// different version is a miss. It holds at most maxCached entries and
// maxCachedBytes of bodies, forgetting arbitrary ones when full, and never
// keeps a body larger than maxCachedBody.
type bodyCache struct {
	mu    sync.RWMutex
	m     map[string]cachedBody
	bytes int
}

type cachedBody struct {
	version string
	body    []byte
}

const (
	maxCached      = 20_000
	maxCachedBytes = 64 << 20
	maxCachedBody  = 1 << 20
)

func (c *bodyCache) get(key, version string) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[key]
	if !ok || e.version != version {
		return nil, false
	}
	return e.body, true
}

func (c *bodyCache) put(key, version string, body []byte) {
	if len(body) > maxCachedBody {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedBody{}
	}
	if old, ok := c.m[key]; ok {
		c.bytes -= len(old.body)
		delete(c.m, key)
	}
	for k, e := range c.m {
		if len(c.m) < maxCached && c.bytes+len(body) <= maxCachedBytes {
			break
		}
		c.bytes -= len(e.body)
		delete(c.m, k)
	}
	c.m[key] = cachedBody{version, body}
	c.bytes += len(body)
}

package api

import "sync"

// billCache keeps rendered closed bills, each with the store version it was
// rendered at; a different version is a miss. It holds at most maxCached
// entries and forgets an arbitrary one when full.
type billCache struct {
	mu sync.RWMutex
	m  map[string]cachedBill
}

type cachedBill struct {
	version string
	body    []byte
}

const maxCached = 20_000

func (c *billCache) get(key, version string) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[key]
	if !ok || e.version != version {
		return nil, false
	}
	return e.body, true
}

func (c *billCache) put(key, version string, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedBill{}
	}
	if len(c.m) >= maxCached {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[key] = cachedBill{version, body}
}

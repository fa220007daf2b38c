package closing

import (
	"sync"
	"time"

	"github.com/callbill/callbill"
)

// Frames keeps, per account and open cycle, what a live bill shows besides
// its calls: the account, the billing zone, the last closed cycle, the price
// book, the cycle's purchases and adjustments. Every one of them changes
// only with the store's change counter (a world applied or a cycle closed
// moves its generation, money moved its standing generation), while an
// import moves only the account's calls version. So while imports run, a
// live bill reads only its aggregates and prices them, instead of reading
// its whole frame again on every batch (docs/decisions.md, "Live bills
// while importing"). The zero value is ready; it is safe for concurrent
// use.
type Frames struct {
	mu sync.Mutex
	m  map[frameKey]frameAt
}

type frameKey struct {
	account string
	cycle   callbill.Cycle
}

type frameAt struct {
	version string
	frame   *frame
}

// frame is read-only once read: bills share it.
type frame struct {
	account     *callbill.Account
	loc         *time.Location
	closed      callbill.Cycle
	book        *callbill.PriceBook // nil for a closed cycle's bill by cycle
	purchases   []callbill.Line
	adjustments []callbill.LedgerEntry
}

// maxFrames bounds the frames kept: one per account and open cycle asked
// for, forgetting an arbitrary one when full.
const maxFrames = 20_000

// get returns the frame of account's cycle read at version, nil when there
// is none (or no version, or no Frames).
func (fs *Frames) get(account string, c callbill.Cycle, version string) *frame {
	if fs == nil || version == "" {
		return nil
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	e, ok := fs.m[frameKey{account, c}]
	if !ok || e.version != version {
		return nil
	}
	return e.frame
}

func (fs *Frames) put(account string, c callbill.Cycle, version string, f *frame) {
	if fs == nil || version == "" {
		return
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m == nil {
		fs.m = map[frameKey]frameAt{}
	}
	if len(fs.m) >= maxFrames {
		for k := range fs.m {
			delete(fs.m, k)
			break
		}
	}
	fs.m[frameKey{account, c}] = frameAt{version, f}
}

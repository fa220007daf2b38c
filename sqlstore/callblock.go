package sqlstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/ingest"
)

// Calls are stored in blocks: one row per account, billed cycle and import
// batch, holding that batch's calls of the account packed one after another.
// A row per call made the database, not rating, the bottleneck of an import;
// a block is written with one statement and read with one seek, and a call's
// identity (instance, contact id) lives in call_keys, which says where it is.
//
// A call in a block, in order:
//
//	instance, contact id, caller, callee    strings (uvarint length, bytes)
//	flags                                   byte: 0 outbound, 1 late, 2–3 source, 4 subscription, 5–7 item
//	start                                   varint epoch seconds
//	duration, recording seconds, bytes      uvarint
//	item price, covered minutes             uvarint, only with an item
//	charge                                  uvarint, 1e-6 yuan
//	bands                                   uvarint count, then band, minutes, price each
//	packages                                uvarint count, then id (string), minutes each
//
// Minutes follow from the duration, the service number from the direction,
// the ingest sequence from the block's sequence plus the call's position.

var itemBits = map[callbill.Item]byte{"": 0, callbill.ItemFixedLineInbound: 1, callbill.ItemFixedLineOutbound: 2, callbill.ItemInbound400: 3}
var bitsItem = [8]callbill.Item{"", callbill.ItemFixedLineInbound, callbill.ItemFixedLineOutbound, callbill.ItemInbound400}
var sourceBits = map[callbill.NumberSource]byte{callbill.SourceCCC: 0, callbill.SourceThirdParty: 1, callbill.SourceOwn: 2}
var bitsSource = [4]callbill.NumberSource{callbill.SourceCCC, callbill.SourceThirdParty, callbill.SourceOwn}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendCall packs one call.
func appendCall(b []byte, c *callbill.Call) []byte {
	b = appendString(b, c.InstanceID)
	b = appendString(b, c.ContactID)
	b = appendString(b, c.Caller)
	b = appendString(b, c.Callee)
	var f byte
	if c.Direction == callbill.Outbound {
		f |= 1
	}
	if c.Late {
		f |= 2
	}
	f |= sourceBits[c.NumberSource] << 2
	if c.Mode == callbill.ModeSubscription {
		f |= 1 << 4
	}
	f |= itemBits[c.Item] << 5
	b = append(b, f)
	b = binary.AppendVarint(b, c.Start)
	b = binary.AppendUvarint(b, uint64(c.End-c.Start))
	b = binary.AppendUvarint(b, uint64(c.RecordingSeconds))
	b = binary.AppendUvarint(b, uint64(c.RecordingBytes))
	if c.Item != "" {
		b = binary.AppendUvarint(b, uint64(c.ItemMicro))
		b = binary.AppendUvarint(b, uint64(c.CoveredMinutes))
	}
	b = binary.AppendUvarint(b, uint64(c.ChargeMicro))
	b = binary.AppendUvarint(b, uint64(len(c.Bands)))
	for _, u := range c.Bands {
		b = binary.AppendUvarint(b, uint64(u.Band))
		b = binary.AppendUvarint(b, uint64(u.Minutes))
		b = binary.AppendUvarint(b, uint64(u.Micro))
	}
	b = binary.AppendUvarint(b, uint64(len(c.Packages)))
	for _, p := range c.Packages {
		b = appendString(b, p.PackageID)
		b = binary.AppendUvarint(b, uint64(p.Minutes))
	}
	return b
}

// blockReader unpacks the calls of one block.
type blockReader struct {
	b   []byte
	err bool
}

func (r *blockReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *blockReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *blockReader) string(intern map[string]string) string {
	n := r.uvarint()
	if uint64(len(r.b)) < n {
		r.err, r.b = true, nil
		return ""
	}
	raw := r.b[:n]
	r.b = r.b[n:]
	if intern != nil {
		if s, ok := intern[string(raw)]; ok {
			return s
		}
		s := string(raw)
		intern[s] = s
		return s
	}
	return string(raw)
}

// decodeBlock calls fn with each call of a block, in ingest order. The call
// is reused between calls of fn; fn must copy what it keeps.
func decodeBlock(data []byte, account string, cycle callbill.Cycle, seq int64, fn func(c *callbill.Call) error) error {
	r := blockReader{b: data}
	intern := map[string]string{}
	var c callbill.Call
	for i := int64(0); len(r.b) > 0; i++ {
		c = callbill.Call{Account: account, Cycle: cycle, Seq: seq + i, Bands: c.Bands[:0], Packages: c.Packages[:0]}
		c.InstanceID = r.string(intern)
		c.ContactID = r.string(nil)
		c.Caller = r.string(nil)
		c.Callee = r.string(nil)
		if len(r.b) == 0 {
			return callbill.Errorf(callbill.EINTERNAL, "stored call block %d is truncated", seq)
		}
		f := r.b[0]
		r.b = r.b[1:]
		c.Direction = callbill.Inbound
		c.Number = c.Callee
		if f&1 != 0 {
			c.Direction, c.Number = callbill.Outbound, c.Caller
		}
		c.Late = f&2 != 0
		c.NumberSource = bitsSource[(f>>2)&3]
		c.Mode = callbill.ModePayg
		if f&(1<<4) != 0 {
			c.Mode = callbill.ModeSubscription
		}
		c.Item = bitsItem[f>>5]
		c.Start = r.varint()
		c.End = c.Start + int64(r.uvarint())
		c.Minutes = callbill.CallMinutes(c.End - c.Start)
		c.RecordingSeconds = int64(r.uvarint())
		c.RecordingBytes = int64(r.uvarint())
		if c.Item != "" {
			c.ItemMicro = int64(r.uvarint())
			c.CoveredMinutes = int64(r.uvarint())
			c.TelecomMinutes = c.Minutes
		}
		c.ChargeMicro = int64(r.uvarint())
		for n := r.uvarint(); n > 0 && !r.err; n-- {
			c.Bands = append(c.Bands, callbill.BandUse{Band: int(r.uvarint()), Minutes: int64(r.uvarint()), Micro: int64(r.uvarint())})
		}
		if len(c.Bands) > 0 {
			c.PlatformMinutes = c.Minutes
		}
		for n := r.uvarint(); n > 0 && !r.err; n-- {
			c.Packages = append(c.Packages, callbill.PackageUse{PackageID: r.string(nil), Minutes: int64(r.uvarint())})
		}
		if r.err {
			return callbill.Errorf(callbill.EINTERNAL, "stored call block %d is malformed", seq)
		}
		if err := fn(&c); err != nil {
			return err
		}
	}
	return nil
}

// block is the calls of one account and billed cycle in a batch, packed.
type block struct {
	account     string
	cycle       callbill.Cycle
	seq         int64 // ingest sequence of its first call
	calls       int
	size        int    // bytes of its calls
	data        []byte // its calls, once packed.seal has laid them out
	first, last int64  // earliest and latest start of its calls
}

// keyRow says where a stored call is: its identity (the instance by its
// place in packed.insts), its block (in packed.blocks) and its position
// there, and which of the batch's imports it came with (ingest.Rated's
// Imports). Small: a batch holds one a call.
type keyRow struct {
	contact              string
	inst, blk, pos, part int32
	end                  int32 // where the call's bytes end in packed.arena
}

// packed is a batch's rated calls packed into blocks (ingest.Calls): one
// per account and billed cycle, except that an account's calls switching
// from one cycle to another and back (two open cycles at a month's end)
// start a new block at each switch. So an account's calls have sequences in
// the order they were rated, which rating them again (undoing an import)
// follows.
type packed struct {
	last   map[string]int32 // each account's last block
	blocks []*block
	instAt map[string]int32
	insts  []string
	keys   []keyRow
	parts  int // 1 + the highest part added

	// Calls are packed back to back in arena as they are added, and laid
	// out block by block once, when the batch is rated (Seal): blocks
	// grown by appending allocated 3.5 times the bytes they hold.
	arena  []byte
	sealed bool
	order  []int32     // the calls in the order of their identities (byIdentity), once sealed
	arenas chan []byte // where a sealed batch gives its arena back (Store.arenas)
}

// NewCalls returns an empty batch of packed calls (see ingest.Store).
func (s *Store) NewCalls(size int) ingest.Calls {
	var arena []byte
	select {
	case arena = <-s.arenas:
	default:
	}
	if cap(arena) < size*packedCallBytes {
		arena = make([]byte, 0, size*packedCallBytes)
	}
	return &packed{last: map[string]int32{}, instAt: map[string]int32{}, keys: make([]keyRow, 0, size),
		arena: arena[:0], arenas: s.arenas}
}

// packedCallBytes is about what a packed call takes (68 bytes in the
// benchmark's calls): the arena's first capacity per call.
const packedCallBytes = 80

// Seal lays the calls out block by block, each block's data its calls'
// bytes in the order they were added, all blocks in one allocation, and
// sorts the identities (see ingest.Calls).
func (p *packed) Seal() {
	if p.sealed {
		return
	}
	p.sealed = true
	p.order = p.byIdentity()
	slab := make([]byte, len(p.arena))
	at := make([]int, len(p.blocks)) // where each block's next call goes in slab
	off := 0
	for i, b := range p.blocks {
		at[i] = off
		b.data = slab[off : off+b.size : off+b.size]
		off += b.size
	}
	start := int32(0)
	for _, k := range p.keys {
		at[k.blk] += copy(slab[at[k.blk]:], p.arena[start:k.end])
		start = k.end
	}
	select {
	case p.arenas <- p.arena[:0]:
	default:
	}
	p.arena = nil
}

func (p *packed) Len() int { return len(p.keys) }

func (p *packed) Add(call *callbill.Call, part int) {
	bi, ok := p.last[call.Account]
	if !ok || p.blocks[bi].cycle != call.Cycle {
		bi = int32(len(p.blocks))
		p.last[call.Account] = bi
		p.blocks = append(p.blocks, &block{account: call.Account, cycle: call.Cycle})
	}
	p.parts = max(p.parts, part+1)
	ii, ok := p.instAt[call.InstanceID]
	if !ok {
		ii = int32(len(p.insts))
		p.instAt[call.InstanceID] = ii
		p.insts = append(p.insts, call.InstanceID)
	}
	blk := p.blocks[bi]
	n := len(p.arena)
	p.arena = appendCall(p.arena, call)
	blk.size += len(p.arena) - n
	p.keys = append(p.keys, keyRow{contact: call.ContactID, inst: ii, blk: bi, pos: int32(blk.calls), part: int32(part), end: int32(len(p.arena))})
	if blk.calls == 0 || call.Start < blk.first {
		blk.first = call.Start
	}
	if call.Start > blk.last {
		blk.last = call.Start
	}
	blk.calls++
}

// byIdentity returns the order of the keys by (contact id, instance), the
// identity index's order, so that a batch's identities go in as a run at
// the index's end when contact ids grow (docs/architecture.md, "Where an
// import writes"). Rating order mostly is that order already, which the sort
// finds in linear time.
func (p *packed) byIdentity() []int32 {
	order := make([]int32, len(p.keys))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		ka, kb := &p.keys[a], &p.keys[b]
		if c := strings.Compare(ka.contact, kb.contact); c != 0 {
			return c
		}
		return strings.Compare(p.insts[ka.inst], p.insts[kb.inst])
	})
	return order
}

// Stored reads the calls stored under ids back from their blocks.
func (t ingestTx) Stored(ctx context.Context, ids []ingest.Identity) (map[ingest.Identity]callbill.CDR, error) {
	tx := t.tx
	byInst := map[string][]string{}
	for _, id := range ids {
		byInst[id.Instance] = append(byInst[id.Instance], id.Contact)
	}
	found := map[ingest.Identity]int64{} // identity → sequence
	for inst, contacts := range byInst {
		for start := 0; start < len(contacts); start += 500 {
			part := contacts[start:min(start+500, len(contacts))]
			args := []any{inst}
			for _, c := range part {
				args = append(args, c)
			}
			rs, err := tx.QueryContext(ctx, `SELECT contact_id, seq FROM call_keys
				WHERE instance = ? AND contact_id IN (?`+strings.Repeat(",?", len(part)-1)+`)`, args...)
			if err != nil {
				return nil, err
			}
			for rs.Next() {
				var contact string
				var seq int64
				if err := rs.Scan(&contact, &seq); err != nil {
					rs.Close()
					return nil, err
				}
				found[ingest.Identity{Instance: inst, Contact: contact}] = seq
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return nil, err
			}
		}
	}
	stored := map[ingest.Identity]callbill.CDR{}
	bySeq := map[int64]ingest.Identity{}
	for id, seq := range found {
		bySeq[seq] = id
	}
	seqs := make([]int64, 0, len(bySeq))
	for seq := range bySeq {
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	// Read each block once: the block of the lowest unresolved sequence is
	// the last one starting at or before it, and it holds every sequence
	// below its end.
	for len(seqs) > 0 {
		var blockSeq int64
		var acct string
		var cycle, n int
		var data []byte
		if err := tx.QueryRowContext(ctx, `SELECT seq, account, cycle, calls, data FROM call_blocks
			WHERE seq <= ? ORDER BY seq DESC LIMIT 1`, seqs[0]).Scan(&blockSeq, &acct, &cycle, &n, &data); err != nil {
			return nil, fmt.Errorf("the block of call %d: %w", seqs[0], err)
		}
		end := blockSeq + int64(n)
		for len(seqs) > 0 && seqs[0] < end {
			seqs = seqs[1:]
		}
		err := decodeBlock(data, acct, callbill.Cycle(cycle), blockSeq, func(c *callbill.Call) error {
			if id, ok := bySeq[c.Seq]; ok && id == (ingest.Identity{Instance: c.InstanceID, Contact: c.ContactID}) {
				stored[id] = c.CDR
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		if _, ok := found[id]; ok {
			if _, ok := stored[id]; !ok {
				return nil, fmt.Errorf("call %s on %s is indexed but not in its block", id.Contact, id.Instance)
			}
		}
	}
	return stored, nil
}

package callbill

import "maps"

// The rating state a Rater keeps and changes: platform minutes used per
// account and cycle, voice packages with minutes left, and what changed.

// RaterState is the rating state of some accounts: platform minutes used in
// open cycles and voice packages with minutes left.
type RaterState struct {
	PlatformUsed map[AccountCycle]int64
	Packages     []*VoicePackage
}

// RaterChanges is the state rating changed since the last Changes: platform
// minutes used where they changed, and the changed packages as they are now.
type RaterChanges struct {
	PlatformUsed map[AccountCycle]int64
	Packages     []VoicePackage
}

// Load replaces the rater's state by st; the rater keeps st's maps and
// packages and changes them as it rates.
func (r *Rater) Load(st RaterState) {
	r.forget()
	if st.PlatformUsed != nil {
		r.platformUsed = st.PlatformUsed
	}
	byAcct := map[string][]*VoicePackage{}
	for _, p := range st.Packages {
		byAcct[p.Account] = append(byAcct[p.Account], p)
	}
	for a, ps := range byAcct {
		r.SetPackages(a, ps)
	}
}

// LoadAccounts replaces the state of accounts only, by st (which holds
// theirs alone), and keeps every other account's: a long-lived rater whose
// batch found those accounts changed by another writer reads back just them.
func (r *Rater) LoadAccounts(accounts []string, st RaterState) {
	touched := make(map[string]bool, len(accounts))
	for _, a := range accounts {
		touched[a] = true
		delete(r.packages, a)
	}
	for k := range r.platformUsed {
		if touched[k.Account] {
			delete(r.platformUsed, k)
		}
	}
	for k := range r.dirtyCycles {
		if touched[k.Account] {
			delete(r.dirtyCycles, k)
		}
	}
	for id, p := range r.dirtyPackages {
		if touched[p.Account] {
			delete(r.dirtyPackages, id)
		}
	}
	for k, v := range st.PlatformUsed {
		if touched[k.Account] {
			r.platformUsed[k] = v
		}
	}
	byAcct := map[string][]*VoicePackage{}
	for _, p := range st.Packages {
		if touched[p.Account] {
			byAcct[p.Account] = append(byAcct[p.Account], p)
		}
	}
	for a, ps := range byAcct {
		r.SetPackages(a, ps)
	}
}

// State copies the state of accounts: the platform minutes used that are not
// zero and the packages with minutes left.
func (r *Rater) State(accounts []string) RaterState {
	touched := make(map[string]bool, len(accounts))
	for _, a := range accounts {
		touched[a] = true
	}
	st := RaterState{PlatformUsed: map[AccountCycle]int64{}}
	for k, v := range r.platformUsed {
		if touched[k.Account] && v != 0 {
			st.PlatformUsed[k] = v
		}
	}
	for _, a := range accounts {
		for _, p := range r.packages[a] {
			if p.Remaining > 0 {
				cp := *p
				st.Packages = append(st.Packages, &cp)
			}
		}
	}
	return st
}

// Changes returns the state changed since the last call and starts anew.
func (r *Rater) Changes() RaterChanges {
	ch := RaterChanges{PlatformUsed: make(map[AccountCycle]int64, len(r.dirtyCycles))}
	for k := range r.dirtyCycles {
		ch.PlatformUsed[k] = r.platformUsed[k]
	}
	clear(r.dirtyCycles)
	for _, p := range r.dirtyPackages {
		ch.Packages = append(ch.Packages, *p)
	}
	clear(r.dirtyPackages)
	return ch
}

// RaterSnapshot is a copy of a rater's mutable state, to undo a batch.
type RaterSnapshot struct {
	platform    map[AccountCycle]int64
	packages    map[string][]*VoicePackage
	remaining   map[*VoicePackage]int64
	dirtyPkgs   map[string]*VoicePackage
	dirtyCycles map[AccountCycle]bool
}

// Snapshot copies the rater's state.
func (r *Rater) Snapshot() RaterSnapshot {
	st := RaterSnapshot{platform: maps.Clone(r.platformUsed), packages: maps.Clone(r.packages),
		remaining: map[*VoicePackage]int64{}, dirtyPkgs: maps.Clone(r.dirtyPackages),
		dirtyCycles: maps.Clone(r.dirtyCycles)}
	for _, ps := range r.packages {
		for _, p := range ps {
			st.remaining[p] = p.Remaining
		}
	}
	return st
}

// Restore puts back a snapshot.
func (r *Rater) Restore(st RaterSnapshot) {
	r.platformUsed, r.packages, r.dirtyPackages, r.dirtyCycles = st.platform, st.packages, st.dirtyPkgs, st.dirtyCycles
	for p, rem := range st.remaining {
		p.Remaining = rem
	}
}

// forget drops all state.
func (r *Rater) forget() {
	r.platformUsed, r.packages = map[AccountCycle]int64{}, map[string][]*VoicePackage{}
	r.dirtyPackages, r.dirtyCycles = map[string]*VoicePackage{}, map[AccountCycle]bool{}
}

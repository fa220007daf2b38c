package ccc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/internal/atomicfile"
)

// State holds the cursors: per instance, the end of the last window read
// and imported whole. Every record that started before it is in callbill
// (or was rejected and reported), except records CCC wrote later than
// Overlap after their start.
type State struct {
	Cursors map[string]time.Time `json:"cursors"`
}

// maxStateBytes bounds the state file: a cursor takes some 60 bytes.
const maxStateBytes = 1 << 20

// LoadState reads the state file at path; a missing file is an empty state
// (every instance starts at --since).
func LoadState(path string) (*State, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Cursors: map[string]time.Time{}}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxStateBytes {
		return nil, callbill.Errorf(callbill.EINVALID, "state file %s is larger than %d bytes; it is not callbill pull's", path, maxStateBytes)
	}
	var st State
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, callbill.Errorf(callbill.EINVALID, "state file %s is not callbill pull's (%v); fix it or name another with --state", path, err)
	}
	if st.Cursors == nil {
		st.Cursors = map[string]time.Time{}
	}
	for id := range st.Cursors {
		if err := CheckInstance(id); err != nil {
			return nil, callbill.Errorf(callbill.EINVALID, "state file %s: %s", path, err)
		}
	}
	return &st, nil
}

// Save writes the state to path whole or not at all (a temporary file
// renamed into place, mode 0600).
func (st *State) Save(path string) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	return atomicfile.Write(path, func(w io.Writer) error {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return nil
	})
}

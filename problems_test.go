package callbill

import (
	"fmt"
	"testing"
)

func TestProblemString(t *testing.T) {
	for _, tc := range []struct {
		p    Problem
		want string
	}{
		{Problem{Path: "accounts[0].kind", Line: 4, Column: 11, Message: "bad"}, "line 4, column 11: accounts[0].kind: bad"},
		{Problem{Path: "accounts[0]", Line: 4, Message: "bad"}, "line 4: accounts[0]: bad"},
		{Problem{Line: 4, Column: 3, Message: "not valid YAML: x"}, "line 4, column 3: not valid YAML: x"},
		{Problem{Path: "billing", Message: "bad"}, "billing: bad"},
		{Problem{Message: "cannot read the world file"}, "cannot read the world file"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%+v prints %q, want %q", tc.p, got, tc.want)
		}
	}
}

// One report of several lists, by line and column, stable, those without
// a line last; cut at MaxProblems with one problem counting the rest,
// those already left out of a list included.
func TestMergeProblems(t *testing.T) {
	form := Problems{{Path: "a", Line: 2, Column: 5}, {Path: "b", Line: 9, Column: 1}, {Path: "c", Line: 9, Column: 1}}
	store := Problems{{Path: "d", Line: 9, Column: 1}, {Path: "e", Line: 1, Column: 7}, {Path: "f"}, {Path: "g", Line: 2, Column: 4}}
	got := ""
	for _, p := range MergeProblems(form, store) {
		got += p.Path
	}
	if got != "egabcdf" {
		t.Errorf("order %q, want egabcdf", got)
	}
	if MergeProblems() != nil || MergeProblems(Problems{}, nil) != nil {
		t.Error("no problems make a report")
	}

	var many Problems
	for i := 150; i > 0; i-- {
		many = append(many, Problem{Path: fmt.Sprint(i), Line: i})
	}
	cut := MergeProblems(many[:120], Problems{MoreProblems(7)}, many[120:])
	if len(cut) != MaxProblems+1 || cut[0].Path != "1" || cut[MaxProblems-1].Path != "100" {
		t.Fatalf("%d problems, first %v, last kept %v", len(cut), cut[0], cut[len(cut)-2])
	}
	if last := cut[MaxProblems]; last.More != 57 || last.Message != "and 57 more problems" || last.Line != 0 {
		t.Errorf("last %+v", last)
	}
	if n := cut.Count(); n != 157 {
		t.Errorf("Count %d, want 157", n)
	}
	if p := MoreProblems(1); p.Message != "and 1 more problem" {
		t.Errorf("%+v", p)
	}
}

func TestWorldLocate(t *testing.T) {
	w := &World{Positions: map[string]Position{
		"purchases[2]":                    {Line: 10, Column: 5},
		"purchases[2].number_rent.number": {Line: 11, Column: 20},
		"billing":                         {Line: 1, Column: 1},
	}}
	for path, want := range map[string]Position{
		"purchases[2].number_rent.number": {11, 20},
		"purchases[2].number_rent":        {10, 5},
		"purchases[2].seats.instance":     {10, 5},
		"purchases[2]":                    {10, 5},
		"billing.timezone":                {1, 1},
		"purchases[3].id":                 {},
		"":                                {},
	} {
		p := Problem{Path: path}
		w.Locate(&p)
		if p.Line != want.Line || p.Column != want.Column {
			t.Errorf("%q at %d:%d, want %+v", path, p.Line, p.Column, want)
		}
	}
}

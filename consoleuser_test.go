package callbill

import (
	"strings"
	"testing"
)

func TestNewConsoleUserValidate(t *testing.T) {
	if err := (NewConsoleUser{Name: "alice", Account: "1001", Password: "correct horse"}).Validate(); err != nil {
		t.Errorf("valid user: %v", err)
	}
	// Every problem at once, each EINVALID.
	err := NewConsoleUser{Name: "a b", Password: "short"}.Validate()
	if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "user name") || !strings.Contains(err.Error(), "at least 8") {
		t.Errorf("two problems: %v", err)
	}
	for _, u := range []NewConsoleUser{{Name: "", Password: "long enough"}, {Name: strings.Repeat("a", 65), Password: "long enough"},
		{Name: "ok", Password: strings.Repeat("p", 73)}} {
		if ErrorCode(u.Validate()) != EINVALID {
			t.Errorf("%q/%d bytes: want EINVALID", u.Name, len(u.Password))
		}
	}
}

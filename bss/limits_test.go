package bss_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestRequestLimits: at most 100 parameters, 4 KiB a name or value, 64 KiB
// of query string or of form body; over that, a 400 InvalidParameter that
// names the limit, before the signature is even looked at.
func TestRequestLimits(t *testing.T) {
	e := newEnv(t)
	base := map[string]string{"Action": "QueryAccountBalance"}
	with := func(extra map[string]string) map[string]string {
		p := map[string]string{}
		for k, v := range base {
			p[k] = v
		}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	common := len(signed("POST", e.keyA.ID, e.keyA.Secret, base))
	params := func(n int) map[string]string {
		m := map[string]string{}
		for i := 0; len(m) < n-common; i++ {
			m[fmt.Sprintf("X%d", i)] = "1"
		}
		return m
	}
	for _, c := range []struct {
		name  string
		extra map[string]string
		want  string // "" for success, else a piece of the message
	}{
		{"100 parameters", params(100), ""},
		{"101 parameters", params(101), "at most 100"},
		{"4096-byte value", map[string]string{"X": strings.Repeat("v", 4096)}, ""},
		{"4097-byte value", map[string]string{"X": strings.Repeat("v", 4097)}, "longer than 4096 bytes"},
		{"4097-byte name", map[string]string{strings.Repeat("n", 4097): "1"}, "longer than 4096 bytes"},
		// 16 values of 4 KiB of "*", each sent as %2A: 192 KiB encoded.
		{"long request", func() map[string]string {
			m := map[string]string{}
			for i := 0; i < 16; i++ {
				m[fmt.Sprintf("X%d", i)] = strings.Repeat("*", 4096)
			}
			return m
		}(), "longer than 65536 bytes"},
	} {
		for _, method := range []string{"GET", "POST"} {
			a := send(t, e.srv, method, signed(method, e.keyA.ID, e.keyA.Secret, with(c.extra)))
			ok := a.status == 200
			if c.want != "" {
				msg, _ := a.body["Message"].(string)
				ok = a.status == 400 && a.code() == "InvalidParameter" && strings.Contains(msg, c.want)
			}
			if !ok {
				t.Errorf("%s %s: %d %.300s, want %q", method, c.name, a.status, a.raw, c.want)
			}
		}
	}
	// A body over 64 KiB is refused without being read to its end.
	body := strings.NewReader("X=" + strings.Repeat("x", 1<<20))
	resp, err := http.Post(e.srv.URL+"/", "application/x-www-form-urlencoded", body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("1 MiB body: %d", resp.StatusCode)
	}
}

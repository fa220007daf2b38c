package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/callbill/callbill/config"
)

// TestBodyLimits: each request limit (serve.limits) bounds its bodies:
// a body of 2 KiB passes under the defaults and is refused, 400, under a
// limit of 1 KiB; the other limits stay as they are.
func TestBodyLimits(t *testing.T) {
	srv, _, _, as := setupServer(t)
	pad := strings.Repeat(" ", 2048)
	var csv strings.Builder
	csv.WriteString("contact_id,instance_id,direction,caller,callee,start_time,end_time\n")
	for i := range 30 {
		fmt.Fprintf(&csv, "c%d,inst-p,outbound,0571001,138,2026-10-08T10:00:00+08:00,2026-10-08T10:01:30+08:00\n", i)
	}
	for _, c := range []struct {
		name, path, body string
		ok               int
		limit            config.BodyLimits
	}{
		{"import", "/api/v1/imports", csv.String(), http.StatusOK, config.BodyLimits{Import: 1024}},
		{"json", "/api/v1/exports", `{"account":"1001",` + pad + `"cycle":"2026-10"}`, http.StatusAccepted, config.BodyLimits{JSON: 1024}},
		{"world", "/api/v1/world", "# a world\n#" + pad + "\naccounts: []\n", http.StatusOK, config.BodyLimits{World: 1024}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if len(c.body) <= 2048 {
				t.Fatalf("the body is %d bytes", len(c.body))
			}
			as.Limits = config.BodyLimits{}
			if code, body := call(t, srv, "POST", c.path, key, c.body); code != c.ok {
				t.Fatalf("under the defaults: %d %s", code, body)
			}
			as.Limits = c.limit
			code, body := call(t, srv, "POST", c.path, key, c.body)
			if code != http.StatusBadRequest || !(strings.Contains(body, "larger than 1024 bytes") || strings.Contains(body, "request body too large")) {
				t.Errorf("under %+v: %d %s", c.limit, code, body)
			}
			// Another kind's limit does not touch this one.
			as.Limits = config.BodyLimits{Import: 1024, JSON: 1024, World: 1024}
			switch c.name {
			case "import":
				as.Limits.Import = 0
			case "json":
				as.Limits.JSON = 0
			case "world":
				as.Limits.World = 0
			}
			if code, body := call(t, srv, "POST", c.path, key, c.body); code != c.ok {
				t.Errorf("under the other limits: %d %s", code, body)
			}
		})
	}
}

package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/api"
	"github.com/callbill/callbill/jobs"
)

// request sends a request as a tenant (AccessKey by HTTP Basic) or, with an
// empty id, as the operator.
func request(t *testing.T, url, method, path, id, secret, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
	if id != "" {
		req.SetBasicAuth(id, secret)
	} else {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Idempotency-Key", "iso-"+method+path)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// TestEveryRouteIsolatesTenants walks the router's own route list, so a new
// route cannot escape it: a tenant key of account 1001 must get 404 for
// account 1002's resources and for operator routes, and 401 without a key.
func TestEveryRouteIsolatesTenants(t *testing.T) {
	srv, s, _, as := setupServer(t)
	ctx := context.Background()
	ka, err := s.CreateAccessKey(ctx, "1001")
	if err != nil {
		t.Fatal(err)
	}
	kb, err := s.CreateAccessKey(ctx, "1002")
	if err != nil {
		t.Fatal(err)
	}
	// An export of 1002's, for the routes that name a job.
	code, body := request(t, srv.URL, "POST", "/api/v1/exports", kb.ID, kb.Secret, `{"account":"1002","cycle":"2026-10"}`)
	if code != http.StatusAccepted {
		t.Fatalf("1002's export: %d %s", code, body)
	}
	var job struct{ ID int64 }
	json.Unmarshal([]byte(body), &job)
	values := map[string]string{"{uid}": "1002", "{cycle}": "2026-10", "{id}": itoa(job.ID), "{instance}": "inst-q", "{contact_id}": "c1"}
	bodies := map[string]string{
		"POST /api/v1/exports":                    `{"account":"1002","cycle":"2026-10"}`,
		"POST /api/v1/accounts/{uid}/purchases":   `{"id":"x","voice_package":{"type":"fixed_inbound","minutes":10000}}`,
		"POST /api/v1/accounts/{uid}/topups":      `{"amount":"1.00"}`,
		"POST /api/v1/accounts/{uid}/adjustments": `{"amount":"1.00","reason":"r"}`,
	}
	routes := as.Routes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, rt := range routes {
		path := rt.Pattern
		for k, v := range values {
			path = strings.ReplaceAll(path, k, v)
		}
		if rt.Pattern == "/api/v1/accesskeys/{id}" {
			path = "/api/v1/accesskeys/" + kb.ID
		}
		if rt.Pattern == "/api/v1/accounts/{uid}/usage" {
			path += "?cycle=2026-10"
		}
		name := rt.Method + " " + rt.Pattern
		t.Run(name, func(t *testing.T) {
			if rt.Scope == api.ScopePublic {
				return
			}
			if code, _ := request(t, srv.URL, rt.Method, path, "nobody", "wrong", bodies[name]); code != http.StatusUnauthorized {
				t.Errorf("a wrong key got %d, want 401", code)
			}
			code, body := request(t, srv.URL, rt.Method, path, ka.ID, ka.Secret, bodies[name])
			switch rt.Scope {
			case api.ScopeOperator, api.ScopeAccount:
				if code != http.StatusNotFound {
					t.Errorf("tenant 1001 got %d for 1002's %s: %s", code, path, body)
				}
			case api.ScopeTenant:
				if (strings.Contains(rt.Pattern, "/exports/{id}") || rt.Method == "POST") && code != http.StatusNotFound {
					t.Errorf("tenant 1001 got %d for 1002's export: %s", code, body)
				}
				if strings.Contains(body, "1002") && code < 300 {
					t.Errorf("tenant 1001 saw 1002's data: %s", body)
				}
			default:
				t.Errorf("route %s has no isolation rule for scope %q", name, rt.Scope)
			}
		})
	}
	// The tenant still reaches its own account.
	if code, body := request(t, srv.URL, "GET", "/api/v1/accounts/1001/bills/2026-10", ka.ID, ka.Secret, ""); code != 200 {
		t.Errorf("own bill: %d %s", code, body)
	}
	// A revoked key is refused at once.
	s.RevokeAccessKey(ctx, ka.ID)
	if code, _ := request(t, srv.URL, "GET", "/api/v1/accounts/1001", ka.ID, ka.Secret, ""); code != http.StatusUnauthorized {
		t.Errorf("revoked key: %d", code)
	}
}

// TestOpenAPIDocumentMatchesRoutes checks that the served document and the
// router agree: every route is documented, nothing documented is missing,
// and every path parameter is declared.
func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	srv, _, _, as := setupServer(t)
	code, body := request(t, srv.URL, "GET", "/api/v1/openapi.json", "", "", "")
	if code != 200 {
		t.Fatalf("openapi.json: %d", code)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []map[string]any `json:"parameters"`
		} `json:"paths"`
		Components struct {
			Parameters map[string]map[string]any `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	var documented, served []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
			for _, seg := range strings.Split(path, "/") {
				if !strings.HasPrefix(seg, "{") {
					continue
				}
				name := strings.Trim(seg, "{}")
				found := false
				for _, p := range op.Parameters {
					if ref, ok := p["$ref"].(string); ok {
						p = doc.Components.Parameters[strings.TrimPrefix(ref, "#/components/parameters/")]
					}
					if p["name"] == name && p["in"] == "path" {
						found = true
					}
				}
				if !found {
					t.Errorf("%s %s: path parameter %s is not declared", method, path, name)
				}
			}
		}
	}
	for _, r := range as.Routes() {
		served = append(served, r.Method+" "+r.Pattern)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Errorf("the document and the routes differ:\n--- documented\n%s\n--- served\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
}

// TestExportDownloadCannotLeaveTheFolder: a stored result naming a path
// outside the export folder, or a link in it pointing outside, serves nothing.
func TestExportDownloadCannotLeaveTheFolder(t *testing.T) {
	srv, s, exports, _ := setupServer(t)
	ctx := context.Background()
	for i, path := range []string{"../../../../etc/passwd", "/etc/passwd", "link.csv"} {
		job, _, err := (jobs.Service{Store: s}).Enqueue(ctx, callbill.JobRequest{Kind: "export", Key: "trav" + itoa(int64(i)), Account: "1001", Params: `{"account":"1001","cycle":"2026-10"}`})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimJob(ctx, "export", "t", time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishJob(ctx, job.ID, "t", `{"path":"`+path+`","rows":1,"bytes":1}`); err != nil {
			t.Fatal(err)
		}
		if path == "link.csv" {
			if err := os.Symlink("/etc/passwd", filepath.Join(exports, "link.csv")); err != nil {
				t.Fatal(err)
			}
		}
		code, body := request(t, srv.URL, "GET", "/api/v1/exports/"+itoa(job.ID)+"/file", "", "", "")
		if code != http.StatusNotFound || strings.Contains(body, "root:") {
			t.Errorf("%s: %d %.80s", path, code, body)
		}
	}
	for _, p := range []string{"/api/v1/exports/..%2F..%2Fetc%2Fpasswd/file", "/api/v1/exports/../../etc/passwd"} {
		if code, body := request(t, srv.URL, "GET", p, "", "", ""); code == http.StatusOK || strings.Contains(body, "root:") {
			t.Errorf("%s: %d", p, code)
		}
	}
}

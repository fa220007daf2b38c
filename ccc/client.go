// Package ccc reads call detail records from Alibaba Cloud's Cloud Call
// Center (API version 2020-07-01, ListCallDetailRecords) and hands them to
// callbill, window by window, moving a cursor per instance only once a
// window is imported whole (callbill pull; docs/operations.md, "Connecting
// the call platform").
package ccc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/internal/rpcsign"
)

// The API served.
const (
	Version         = "2020-07-01"
	Action          = "ListCallDetailRecords"
	DefaultEndpoint = "https://ccc.cn-shanghai.aliyuncs.com"
)

// What CCC allows a query: pages of at most MaxPageSize records, page
// numbers 1 to MaxPages, so one time window yields at most
// MaxPages × MaxPageSize records.
const (
	MaxPageSize = 100
	MaxPages    = 100
)

// MaxResponseBytes bounds one page's answer. A CallDetailRecord is one or
// two KB; callbill reads at most 1 MiB of one (cdr.MaxRecordBytes), so a
// page of 100 of them stays far below.
const MaxResponseBytes = 32 << 20

// maxInstanceBytes bounds an instance id as the CDR decoder bounds ids.
const maxInstanceBytes = 128

// Client signs and sends ListCallDetailRecords requests.
type Client struct {
	// Endpoint is the API's base URL (DefaultEndpoint, or a region's).
	Endpoint string
	// AccessKeyID and AccessKeySecret sign every request (signature v1).
	AccessKeyID, AccessKeySecret string
	// PageSize is the records asked per page, 1 to MaxPageSize.
	PageSize int
	// HTTP sends the requests; nil is a client with a one-minute timeout.
	HTTP *http.Client
	// Now gives the request's Timestamp; nil is time.Now.
	Now func() time.Time
}

// Window is a span of call start times, both ends included: CCC's
// StartTime and EndTime, in epoch milliseconds.
type Window struct{ From, To time.Time }

func (w Window) String() string {
	return w.From.UTC().Format(stampLayout) + " – " + w.To.UTC().Format(stampLayout)
}

// stampLayout writes a cursor or a window end to the millisecond.
const stampLayout = "2006-01-02T15:04:05.000Z07:00"

// Page is one page of an answer.
type Page struct {
	Number int
	// Total is the records of the whole window, or -1 when the answer does
	// not say (CCC gives it on the first page only).
	Total   int
	Records []json.RawMessage
}

// APIError is CCC's answer to a request it refused or failed: its Code and
// Message, as Alibaba's console and documentation name them.
type APIError struct {
	Instance  string
	Status    int // the HTTP status
	Code      string
	Message   string
	RequestID string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("CCC %s for instance %s failed: %s", Action, e.Instance, e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	s += fmt.Sprintf(" (HTTP %d", e.Status)
	if e.RequestID != "" {
		s += ", RequestId " + e.RequestID
	}
	return s + ")"
}

// answer is the JSON of a ListCallDetailRecords answer, or of an error.
type answer struct {
	RequestID string `json:"RequestId"`
	Code      string
	Message   string
	Data      *struct {
		PageNumber int
		PageSize   int
		TotalCount *int
		List       []json.RawMessage
	}
}

// CheckEndpoint says whether endpoint can be the API's base URL: http or
// https, a host, no query or fragment.
func CheckEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return callbill.Errorf(callbill.EINVALID, "endpoint %q is not an http(s) URL of a host, such as %s", endpoint, DefaultEndpoint)
	}
	return nil
}

// CheckInstance says whether id can be a CCC instance id: 1 to 128 bytes
// of letters, digits, '-', '_' and '.'.
func CheckInstance(id string) error {
	if id == "" || len(id) > maxInstanceBytes || strings.IndexFunc(id, func(r rune) bool {
		return r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.')
	}) >= 0 {
		return callbill.Errorf(callbill.EINVALID, "instance id %q is not a CCC instance id (letters, digits, - _ . ; at most %d bytes)", id, maxInstanceBytes)
	}
	return nil
}

// ListPage asks for page number page (1 to MaxPages) of the records of
// instance that started in w, oldest first.
func (c *Client) ListPage(ctx context.Context, instance string, w Window, page int) (*Page, error) {
	if page < 1 || page > MaxPages {
		return nil, fmt.Errorf("page %d outside 1–%d", page, MaxPages)
	}
	size := c.PageSize
	if size < 1 || size > MaxPageSize {
		return nil, fmt.Errorf("page size %d outside 1–%d", size, MaxPageSize)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(instance, w, page, size), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("CCC %s for instance %s: %w", Action, instance, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("CCC %s for instance %s: reading the answer: %w", Action, instance, err)
	}
	if len(body) > MaxResponseBytes {
		return nil, fmt.Errorf("CCC %s for instance %s: the answer for page %d is larger than %d bytes; ask smaller pages (--page-size)",
			Action, instance, page, MaxResponseBytes)
	}
	var a answer
	jerr := json.Unmarshal(body, &a)
	if resp.StatusCode != http.StatusOK || (jerr == nil && a.Code != "OK") {
		e := &APIError{Instance: instance, Status: resp.StatusCode, Code: a.Code, Message: a.Message, RequestID: a.RequestID}
		if jerr != nil || e.Code == "" {
			e.Code, e.Message = http.StatusText(resp.StatusCode), snippet(body)
		}
		return nil, e
	}
	if jerr != nil {
		return nil, fmt.Errorf("CCC %s for instance %s: the answer is not JSON (%v): %s", Action, instance, jerr, snippet(body))
	}
	if a.Data == nil {
		return nil, fmt.Errorf("CCC %s for instance %s: the answer has no Data (RequestId %s)", Action, instance, a.RequestID)
	}
	if len(a.Data.List) > size {
		return nil, fmt.Errorf("CCC %s for instance %s: page %d holds %d records, more than the %d asked (RequestId %s)",
			Action, instance, page, len(a.Data.List), size, a.RequestID)
	}
	p := &Page{Number: page, Total: -1, Records: a.Data.List}
	if a.Data.TotalCount != nil && *a.Data.TotalCount >= 0 {
		p.Total = *a.Data.TotalCount
	}
	return p, nil
}

// url is the signed GET request: the API's parameters and signature v1's,
// in canonical order, Signature last.
func (c *Client) url(instance string, w Window, page, size int) string {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	params := map[string]string{
		"Action":           Action,
		"Version":          Version,
		"Format":           "JSON",
		"AccessKeyId":      c.AccessKeyID,
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureVersion": "1.0",
		"SignatureNonce":   nonce(),
		"Timestamp":        now().UTC().Format("2006-01-02T15:04:05Z"),
		"InstanceId":       instance,
		"PageNumber":       strconv.Itoa(page),
		"PageSize":         strconv.Itoa(size),
		"StartTime":        strconv.FormatInt(w.From.UnixMilli(), 10),
		"EndTime":          strconv.FormatInt(w.To.UnixMilli(), 10),
		"SortOrder":        "ASC",
	}
	sig := rpcsign.Sign(rpcsign.StringToSign(http.MethodGet, params), c.AccessKeySecret)
	return strings.TrimRight(c.Endpoint, "/") + "/?" + rpcsign.Canonicalize(params) + "&Signature=" + rpcsign.PercentEncode(sig)
}

// nonce is a SignatureNonce: 128 random bits.
func nonce() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// snippet is the start of a body that is not the JSON expected, for the
// error: at most 200 bytes, on one line.
func snippet(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) > 200 {
		body = append(body[:200:200], "…"...)
	}
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "?")), " ")
}

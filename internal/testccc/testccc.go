// Package testccc is a fake of Alibaba Cloud Call Center's
// ListCallDetailRecords (API 2020-07-01) for tests of callbill pull: it
// checks each request's signature as the BSS endpoint does
// (internal/rpcsign, bss.Verify) and its parameters as CCC documents them,
// and serves pages of a set of records that the test changes as it goes.
package testccc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/callbill/callbill/internal/rpcsign"
)

// Record is one call detail record.
type Record struct {
	ContactID, Instance string
	Inbound             bool
	Caller, Callee      string
	Start, End          time.Time
	RecordingSeconds    int
}

// JSON is the record as CCC writes a CallDetailRecord: the fields callbill
// reads and a few it does not.
func (r Record) JSON() json.RawMessage {
	typ := "Outbound"
	if r.Inbound {
		typ = "Inbound"
	}
	b, _ := json.Marshal(map[string]any{
		"ContactId": r.ContactID, "InstanceId": r.Instance, "ContactType": typ,
		"CallingNumber": r.Caller, "CalledNumber": r.Callee,
		"StartTime": r.Start.UnixMilli(), "ReleaseTime": r.End.UnixMilli(),
		"RecordingDuration": r.RecordingSeconds, "CallDuration": int(r.End.Sub(r.Start) / time.Second),
		"ContactDisposition": "Success", "AgentIds": "agent@example", "SkillGroupIds": "sg-1",
	})
	return b
}

// Query is what a request asked.
type Query struct {
	Instance       string
	Page, PageSize int
	From, To       time.Time
}

// Failure is an error answer: CCC's HTTP status, Code and Message.
type Failure struct {
	Status        int
	Code, Message string
}

// Server is the fake.
type Server struct {
	*httptest.Server
	KeyID, Secret string
	// fail, when set (SetFail), may fail a request that passed the checks.
	failFn func(Query) *Failure

	mu      sync.Mutex
	records []Record
	nonces  map[string]bool
	queries []Query
}

// New starts a fake with an AccessKey of its own; Close stops it.
func New() *Server {
	s := &Server{KeyID: "LTAI-test-key", Secret: "test-secret-" + strconv.FormatInt(time.Now().UnixNano(), 36), nonces: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Add makes records visible from the next request on, as CCC does when
// calls end.
func (s *Server) Add(records ...Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, records...)
}

// Queries returns the requests answered so far, failed ones included.
func (s *Server) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Query(nil), s.queries...)
}

// SetFail makes f decide, from now on, whether a request that passed the
// checks fails; nil: none does. It takes the server's lock, so that a
// request made by another process (which the race detector cannot relate
// to the test) sees f and what f uses.
func (s *Server) SetFail(f func(Query) *Failure) {
	s.mu.Lock()
	s.failFn = f
	s.mu.Unlock()
}

func (s *Server) fail(w http.ResponseWriter, f Failure) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	json.NewEncoder(w).Encode(map[string]any{"RequestId": "req-fail", "Code": f.Code, "Message": f.Message, "HttpStatusCode": f.Status})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/" {
		s.fail(w, Failure{404, "InvalidAction.NotFound", "GET / only"})
		return
	}
	params := map[string]string{}
	for k, v := range r.URL.Query() {
		if len(v) != 1 {
			s.fail(w, Failure{400, "MissingParameter", "parameter " + k + " given " + strconv.Itoa(len(v)) + " times"})
			return
		}
		params[k] = v[0]
	}
	for k, want := range map[string]string{"Action": "ListCallDetailRecords", "Version": "2020-07-01", "Format": "JSON",
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SortOrder": "ASC", "AccessKeyId": s.KeyID} {
		if params[k] != want {
			s.fail(w, Failure{400, "InvalidParameter", fmt.Sprintf("%s is %q, want %q", k, params[k], want)})
			return
		}
	}
	if _, ok := rpcsign.Verify(r.Method, params, s.Secret); !ok {
		s.fail(w, Failure{400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."})
		return
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", params["Timestamp"])
	if err != nil || time.Since(ts).Abs() > 15*time.Minute {
		s.fail(w, Failure{400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."})
		return
	}
	q := Query{Instance: params["InstanceId"]}
	q.Page, err = strconv.Atoi(params["PageNumber"])
	if err != nil || q.Page < 1 || q.Page > 100 {
		s.fail(w, Failure{400, "InvalidParameter", "PageNumber must be 1 to 100"})
		return
	}
	q.PageSize, err = strconv.Atoi(params["PageSize"])
	if err != nil || q.PageSize < 1 || q.PageSize > 100 {
		s.fail(w, Failure{400, "InvalidParameter", "PageSize must be 1 to 100"})
		return
	}
	from, err1 := strconv.ParseInt(params["StartTime"], 10, 64)
	to, err2 := strconv.ParseInt(params["EndTime"], 10, 64)
	if err1 != nil || err2 != nil || from > to || q.Instance == "" {
		s.fail(w, Failure{400, "InvalidParameter", "InstanceId, StartTime and EndTime (epoch ms, StartTime ≤ EndTime) are required"})
		return
	}
	q.From, q.To = time.UnixMilli(from), time.UnixMilli(to)

	s.mu.Lock()
	s.queries = append(s.queries, q)
	nonce := params["SignatureNonce"]
	replay := nonce == "" || s.nonces[nonce]
	s.nonces[nonce] = true
	var match []Record
	for _, rec := range s.records {
		if ms := rec.Start.UnixMilli(); rec.Instance == q.Instance && from <= ms && ms <= to {
			match = append(match, rec)
		}
	}
	fail := s.failFn
	s.mu.Unlock()
	if replay {
		s.fail(w, Failure{400, "SignatureNonceUsed", "Specified signature nonce was used already."})
		return
	}
	if fail != nil {
		if f := fail(q); f != nil {
			s.fail(w, *f)
			return
		}
	}
	sort.SliceStable(match, func(i, j int) bool {
		if !match[i].Start.Equal(match[j].Start) {
			return match[i].Start.Before(match[j].Start)
		}
		return match[i].ContactID < match[j].ContactID
	})
	list := []json.RawMessage{}
	for i := (q.Page - 1) * q.PageSize; i < len(match) && i < q.Page*q.PageSize; i++ {
		list = append(list, match[i].JSON())
	}
	data := map[string]any{"PageNumber": q.Page, "PageSize": q.PageSize, "List": list}
	if q.Page == 1 {
		data["TotalCount"] = len(match) // CCC counts on the first page only
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"RequestId": "req-" + nonce, "Code": "OK", "HttpStatusCode": 200, "Message": "", "Data": data})
}

package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/authz"
)

// ReservationJSON is a reservation as the API shows it.
type ReservationJSON struct {
	Instance  string `json:"instance"`
	ContactID string `json:"contact_id"`
	Account   string `json:"account"`
	Number    string `json:"number"`
	Direction string `json:"direction"`
	Amount    string `json:"amount"` // exact, at least 2 decimals
	Seconds   int64  `json:"seconds"`
	ExpiresAt string `json:"expires_at"`
	CreatedAt string `json:"created_at"`
	Node      string `json:"node,omitempty"`
	Replayed  bool   `json:"replayed,omitempty"`
}

// Reservation is r as JSON, times in loc.
func Reservation(r *callbill.Reservation, loc *time.Location) ReservationJSON {
	return ReservationJSON{Instance: r.Instance, ContactID: r.ContactID, Account: r.Account, Number: r.Number,
		Direction: string(r.Direction), Amount: callbill.FormatRoundDown(r.Amount), Seconds: r.Seconds,
		ExpiresAt: r.ExpiresAt.In(loc).Format(time.RFC3339), CreatedAt: r.CreatedAt.In(loc).Format(time.RFC3339), Node: r.Node}
}

func (s *Server) reservationRoutes(mux *http.ServeMux) {
	s.handle(mux, "POST", "/api/v1/calls/{instance}/{contact_id}/reserve", ScopeOperator, s.reserve)
	s.handle(mux, "DELETE", "/api/v1/calls/{instance}/{contact_id}/reserve", ScopeOperator, s.release)
}

// reserve holds the price of a started call until its CDR arrives
// (docs/authorization.md): 201 with the reservation, 200 when the call
// held one already.
func (s *Server) reserve(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Number    string `json:"number"`
		Direction string `json:"direction"`
		Seconds   int64  `json:"seconds"`
	}
	dec := json.NewDecoder(s.jsonBody(w, r))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		return callbill.Errorf(callbill.EINVALID, "the body must be JSON {\"number\": …, \"direction\": \"inbound|outbound\", \"seconds\": N (optional)}: %v", err)
	}
	res, replayed, err := s.Reservations.Reserve(r.Context(), callbill.ReserveRequest{Instance: r.PathValue("instance"),
		ContactID: r.PathValue("contact_id"), Number: body.Number, Direction: callbill.Direction(body.Direction), Seconds: body.Seconds})
	if err != nil {
		return err
	}
	loc, err := s.Reservations.Location(r.Context())
	if err != nil {
		return err
	}
	j := Reservation(res, loc)
	j.Replayed = replayed
	code := http.StatusCreated
	if replayed {
		code = http.StatusOK
	}
	return writeJSON(w, code, j)
}

// release lets a call's reservation go; releasing one that is gone is no
// error.
func (s *Server) release(w http.ResponseWriter, r *http.Request) error {
	released, err := s.Reservations.Release(r.Context(), authz.ReleaseInput{Instance: r.PathValue("instance"), ContactID: r.PathValue("contact_id")})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"released": released})
}

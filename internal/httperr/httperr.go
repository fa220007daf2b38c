// Package httperr maps callbill's error codes to HTTP statuses: one table for
// every HTTP adapter (the REST API and the console), so a code means the same
// status wherever it is answered.
package httperr

import (
	"net/http"

	"github.com/callbill/callbill"
)

var statuses = map[string]int{
	callbill.EINVALID:      http.StatusBadRequest,
	callbill.ENOTFOUND:     http.StatusNotFound,
	callbill.ECONFLICT:     http.StatusConflict,
	callbill.EREFUSED:      http.StatusUnprocessableEntity,
	callbill.EFORBIDDEN:    http.StatusForbidden,
	callbill.EUNAUTHORIZED: http.StatusUnauthorized,
	callbill.EUNAVAILABLE:  http.StatusServiceUnavailable,
	callbill.EINTERNAL:     http.StatusInternalServerError,
}

// Status is the HTTP status of an error code; 500 for a code it does not know.
func Status(code string) int {
	if st, ok := statuses[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

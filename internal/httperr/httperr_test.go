package httperr_test

import (
	"testing"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/internal/httperr"
)

func TestStatus(t *testing.T) {
	for code, want := range map[string]int{
		callbill.EINVALID: 400, callbill.EUNAUTHORIZED: 401, callbill.EFORBIDDEN: 403, callbill.ENOTFOUND: 404,
		callbill.ECONFLICT: 409, callbill.EREFUSED: 422, callbill.EUNAVAILABLE: 503, callbill.EINTERNAL: 500, "no such code": 500,
	} {
		if got := httperr.Status(code); got != want {
			t.Errorf("Status(%q) = %d, want %d", code, got, want)
		}
	}
}

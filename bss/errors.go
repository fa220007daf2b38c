package bss

import (
	"fmt"
	"net/http"
	"time"
)

// apiError is an error in Alibaba's terms: an HTTP status, a code such as
// SignatureDoesNotMatch and a message. The v1 SDK turns any non-2xx answer
// into an *errors.ServerError carrying Code and Message.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// missing is Alibaba's Missing{Name} for an absent required parameter.
func missing(name string) *apiError {
	return errorf(http.StatusBadRequest, "Missing"+name, "%s is mandatory for this action.", name)
}

// invalid is InvalidParameter for a value that is present but wrong.
func invalid(name, format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "InvalidParameter", "The specified parameter %s is not valid: %s", name,
		fmt.Sprintf(format, args...))
}

var (
	errApiNotFound = errorf(http.StatusNotFound, "InvalidApi.NotFound",
		"Specified api is not found, please check your url and method.")
	errVersion = errorf(http.StatusNotFound, "InvalidVersion",
		"Specified parameter Version is not valid: this endpoint serves BssOpenApi 2017-12-14.")
	errKeyNotFound = errorf(http.StatusBadRequest, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	errTimeFormat  = errorf(http.StatusBadRequest, "InvalidTimeStamp.Format",
		"Specified time stamp or date value is not well formatted: Timestamp must be UTC as yyyy-MM-ddTHH:mm:ssZ.")
	errTimeExpired = errorf(http.StatusBadRequest, "InvalidTimeStamp.Expired",
		"Specified time stamp or date value is expired: it must be within %d minutes of the server time.",
		int(TimestampWindow/time.Minute))
	errNonceUsed = errorf(http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already.")
	errInternal  = errorf(http.StatusInternalServerError, "InternalError",
		"The request processing has failed due to some unknown error, exception or failure.")
)

// tooLarge is InvalidParameter for a query string or body over its limit.
func tooLarge(what string, limit int) *apiError {
	return errorf(http.StatusBadRequest, "InvalidParameter", "The %s is longer than %d bytes.", what, limit)
}

// errSignature is SignatureDoesNotMatch. Like Alibaba it shows the server's
// string to sign after "server string to sign is:", which the v1 SDK
// compares with its own to tell a wrong secret from a signing bug.
func errSignature(stringToSign string) *apiError {
	return errorf(http.StatusBadRequest, "SignatureDoesNotMatch",
		"Specified signature is not matched with our calculation. server string to sign is:%s", stringToSign)
}

// errorBody is the JSON of an error answer.
type errorBody struct {
	RequestId string
	HostId    string
	Code      string
	Message   string
	Recommend string
}

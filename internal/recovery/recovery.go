// Package recovery turns a panic into a 500 answer or a failed job: a bug
// met by one request or one job must neither end the process nor show a
// user a stack trace. The panic and its stack go to the log.
package recovery

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Log logs p, a value just recovered, with the stack of the goroutine that
// panicked. Call it from the deferred function that called recover: the
// panicking frames are still on the stack then.
func Log(log *slog.Logger, msg string, p any, args ...any) {
	if log == nil {
		log = slog.Default()
	}
	log.Error(msg, append(args, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))...)
}

// Do runs fn and reports whether it panicked; the panic is logged as msg.
// It is for the steps of a background loop, which must go on after one
// step fails.
func Do(log *slog.Logger, msg string, fn func(), args ...any) (panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			panicked = true
			Log(log, msg, p, args...)
		}
	}()
	fn()
	return false
}

// Handler serves h; when h panics, it logs the panic with its stack and
// calls answer to write the 500 in the caller's format. If h had begun its
// answer already, a 500 cannot follow: the connection is cut instead
// (http.ErrAbortHandler), so that the client sees a broken answer rather
// than a short one it could take for whole. A panic with
// http.ErrAbortHandler itself passes on untouched: it is how a handler asks
// the server to cut the connection, quietly.
func Handler(log *slog.Logger, h http.Handler, answer func(w http.ResponseWriter, r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &writer{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			Log(log, "panic serving a request", p, "method", r.Method, "path", r.URL.Path)
			if tw.started {
				panic(http.ErrAbortHandler)
			}
			// What the handler set for its own answer (a download's name
			// and length) must not describe the error page.
			hd := w.Header()
			for _, k := range []string{"Content-Disposition", "Content-Length", "Content-Encoding", "Content-Range", "Etag", "Last-Modified"} {
				hd.Del(k)
			}
			answer(w, r)
		}()
		h.ServeHTTP(tw, r)
	})
}

// writer records whether the answer has begun.
type writer struct {
	http.ResponseWriter
	started bool
}

func (w *writer) WriteHeader(code int) {
	// 1xx answers other than 101 are interim: the real status is still to come.
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.started = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(b []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the server's sendfile path for downloads (http.ServeContent
// copies the file into the writer).
func (w *writer) ReadFrom(r io.Reader) (int64, error) {
	w.started = true
	return io.Copy(w.ResponseWriter, r)
}

func (w *writer) Flush() {
	w.started = true
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

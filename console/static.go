package console

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"time"

	"github.com/callbill/callbill"
)

// asset is an embedded file served under /console/static/.
type asset struct {
	body []byte
	kind string
}

// loadAssets reads the embedded assets; their hash versions their URLs, so
// browsers may cache them for long.
func (s *Server) loadAssets() {
	s.assets = map[string]asset{}
	h := sha256.New()
	entries, _ := fs.ReadDir(files, "static")
	for _, e := range entries {
		b, err := files.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		kind := mime.TypeByExtension(path.Ext(e.Name()))
		if kind == "" {
			kind = "application/octet-stream"
		}
		s.assets[e.Name()] = asset{b, kind}
		h.Write([]byte(e.Name()))
		h.Write(b)
	}
	s.version = hex.EncodeToString(h.Sum(nil))[:12]
}

var startTime = time.Now()

func (s *Server) static(w http.ResponseWriter, r *http.Request, v *view) error {
	a, ok := s.assets[r.PathValue("file")]
	if !ok {
		return callbill.Errorf(callbill.ENOTFOUND, "no such file")
	}
	w.Header().Set("Content-Type", a.kind)
	if r.URL.Query().Get("v") == s.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", startTime, bytes.NewReader(a.body))
	return nil
}

package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
)

// batchLimit is the most requests a JSON batch may hold.
// https://learn.microsoft.com/en-us/graph/json-batching#batch-size-limitations
const batchLimit = 20

// batchRequest is one request of a JSON batch.
type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

// batchHeaders are the headers of an inner answer the batch passes on.
var batchHeaders = []string{"Content-Type", "Cache-Control", "OData-Version", "Location", "Retry-After", "Preference-Applied", "WWW-Authenticate"}

// batch is POST /$batch (JSON batching): each request runs as if sent
// alone, with the batch's Authorization header, and has its own status —
// "A 200 status code on the batch response headers doesn't indicate that
// the individual requests inside the batch succeeded"; each one is
// throttled on its own (429 inside a 200). A batch that cannot be read, is
// larger than 20, or repeats an id ("Not case-sensitive. Must be unique in
// the batch, otherwise, the batch request fails with a 400") fails whole.
// dependsOn runs requests in order; one whose dependency failed is 424.
// Whether an invalid token fails the whole batch or each request is
// unconfirmed: each request is checked, as each is evaluated on its own.
// The texts of the batch's own 400s are unconfirmed.
// https://learn.microsoft.com/en-us/graph/json-batching
func (s *Sandbox) batch(graph http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.count("graph /$batch")
		// The batch is the user's too (each request in it is checked on
		// its own below); a batch without a valid token is nobody's.
		if c, refused := s.bearer(r); refused == "" {
			s.logRequest(c.user, "graph /$batch", "", "")
		}
		if f := s.Faults(); f.GraphServerError {
			s.serviceFault(w, r)
			return
		}
		var in struct {
			Requests []batchRequest `json:"requests"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&in); err != nil || in.Requests == nil {
			s.graphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
			return
		}
		if bad := checkBatch(in.Requests); bad != "" {
			s.graphError(w, r, http.StatusBadRequest, "BadRequest", bad)
			return
		}
		status := map[string]int{}
		out := make([]map[string]any, 0, len(in.Requests))
		for _, req := range in.Requests {
			res := s.runBatched(graph, r, req, status)
			status[strings.ToLower(req.ID)] = res["status"].(int)
			out = append(out, res)
		}
		writeGraph(w, r, http.StatusOK, map[string]any{"responses": out})
	}
}

// checkBatch returns why a batch fails whole, or "".
func checkBatch(reqs []batchRequest) string {
	if len(reqs) == 0 {
		return "Invalid batch payload format: the batch holds no requests."
	}
	if len(reqs) > batchLimit {
		return fmt.Sprintf("Limit of %d requests exceeded.", batchLimit)
	}
	seen := map[string]bool{}
	for _, req := range reqs {
		id := strings.ToLower(req.ID)
		switch {
		case id == "":
			return "Batch request id is required."
		case seen[id]:
			return fmt.Sprintf("Batch request id '%s' is not unique.", req.ID)
		case req.Method == "" || req.URL == "":
			return fmt.Sprintf("Batch request id : %s does not have a method and a url.", req.ID)
		case len(req.Body) > 0 && header(req.Headers, "Content-Type") == "":
			return fmt.Sprintf("Write request id : %s does not contain Content-Type header or body.", req.ID)
		}
		for _, d := range req.DependsOn {
			if !seen[strings.ToLower(d)] {
				return fmt.Sprintf("Batch request id '%s' depends on '%s', which is not before it in the batch.", req.ID, d)
			}
		}
		seen[id] = true
	}
	return ""
}

// runBatched runs one request of a batch through the Graph handler.
func (s *Sandbox) runBatched(graph http.Handler, outer *http.Request, req batchRequest, done map[string]int) map[string]any {
	for _, d := range req.DependsOn {
		if st := done[strings.ToLower(d)]; st < 200 || st > 299 {
			return map[string]any{"id": req.ID, "status": http.StatusFailedDependency, "body": map[string]any{"error": map[string]any{
				"code": "FailedDependency", "message": fmt.Sprintf("The request depends on request '%s', which failed.", d)}}}
		}
	}
	target := strings.TrimPrefix(req.URL, "/")
	if strings.Contains(target, "://") {
		return map[string]any{"id": req.ID, "status": http.StatusBadRequest, "body": map[string]any{"error": map[string]any{
			"code": "BadRequest", "message": "Invalid request URL: the url of a batched request is relative to the version, e.g. /me."}}}
	}
	var body io.Reader = http.NoBody
	if len(req.Body) > 0 {
		raw := []byte(req.Body)
		var text string
		// A body that is a JSON string is base64 ("a base64 URL-encoded
		// value, for example, when the body is an image").
		if json.Unmarshal(raw, &text) == nil && !strings.Contains(header(req.Headers, "Content-Type"), "json") {
			if b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(text, "=")); err == nil {
				raw = b
			}
		}
		body = bytes.NewReader(raw)
	}
	inner, err := http.NewRequestWithContext(outer.Context(), strings.ToUpper(req.Method), "/v1.0/"+target, body)
	if err != nil {
		return map[string]any{"id": req.ID, "status": http.StatusBadRequest, "body": map[string]any{"error": map[string]any{
			"code": "BadRequest", "message": "Invalid request URL: " + req.URL}}}
	}
	inner.RequestURI = inner.URL.RequestURI()
	inner.Host = outer.Host
	inner.RemoteAddr = outer.RemoteAddr
	if a := outer.Header.Get("Authorization"); a != "" {
		inner.Header.Set("Authorization", a)
	}
	for k, v := range req.Headers {
		inner.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	graph.ServeHTTP(rec, inner)
	headers := map[string]string{}
	for _, k := range batchHeaders {
		if v := rec.Header().Get(k); v != "" {
			headers[k] = v
		}
	}
	res := map[string]any{"id": req.ID, "status": rec.Code, "headers": headers}
	if b := rec.Body.Bytes(); len(b) > 0 {
		if strings.Contains(rec.Header().Get("Content-Type"), "json") && json.Valid(b) {
			res["body"] = json.RawMessage(bytes.TrimSpace(b))
		} else {
			// Binary answers (a photo) travel base64-encoded.
			res["body"] = base64.StdEncoding.EncodeToString(b)
		}
	}
	return res
}

// header reads a header of a batched request, whatever its case.
func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

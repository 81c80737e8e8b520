package daemon

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/septa-fw/septa/inspect/userid"
)

// testDaemon is a daemon with no kernel behind it: enough for the API's
// request handling, which validates before it touches anything.
func testDaemon() *Daemon {
	return &Daemon{cfg: Config{}.WithDefaults(), idmap: userid.NewMap(nil), identityChanged: make(chan struct{}, 1)}
}

func TestAPIRejectsBadRequests(t *testing.T) {
	h := testDaemon().Handler()
	tests := []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"unknown field", "POST", "/v1/identity", `{"addr":"10.4.0.11","user":"alice","admin":true}`, 400, `unknown field "admin"`},
		{"not an address", "POST", "/v1/identity", `{"addr":"10.4.0.300","user":"alice"}`, 400, `addr: "10.4.0.300" is not an IP address`},
		{"bad user", "POST", "/v1/identity", `{"addr":"10.4.0.11","user":"al ice"}`, 400, `user: "al ice" is not a user or group name`},
		{"negative ttl", "POST", "/v1/identity", `{"addr":"10.4.0.11","user":"alice","ttl":-1}`, 400, "ttl:"},
		{"trailing data", "POST", "/v1/identity", `{"addr":"10.4.0.11","user":"alice"} {}`, 400, "data after the JSON object"},
		{"too large", "POST", "/v1/identity", `{"addr":"10.4.0.11","user":"` + strings.Repeat("a", maxRequestBytes) + `"}`, 400, "request body too large"},
		{"not json", "POST", "/v1/quarantine", `addr=1.2.3.4`, 400, "request:"},
		{"quarantine timeout", "POST", "/v1/quarantine", `{"addr":"10.66.0.11","timeout":99999999}`, 400, "timeout:"},
		{"delete without addr", "DELETE", "/v1/quarantine", ``, 400, "addr:"},
		{"bad limit", "GET", "/v1/flows?limit=0", ``, 400, "limit:"},
		{"wrong method", "PUT", "/v1/reload", ``, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			var body apiError
			json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != tt.code || !strings.Contains(body.Error, tt.want) {
				t.Errorf("%s %s: %d %s; want %d containing %q", tt.method, tt.path, rec.Code, rec.Body.String(), tt.code, tt.want)
			}
		})
	}
}

func TestAPIIdentityAdd(t *testing.T) {
	d := testDaemon()
	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/v1/identity",
		strings.NewReader(`{"addr":"10.4.0.11","user":"alice","groups":["finance"],"ttl":60}`)))
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	ms := d.idmap.List()
	if len(ms) != 1 || ms[0].User != "alice" || time.Until(ms[0].Expires) > time.Minute {
		t.Errorf("identity map: %+v", ms)
	}
}

// FuzzAPIRequest: decoding and validating any request body never panics,
// and a body that is accepted yields a valid mapping or quarantine.
func FuzzAPIRequest(f *testing.F) {
	f.Add(`{"addr":"10.4.0.11","user":"alice","groups":["finance"],"ttl":60}`)
	f.Add(`{"addr":"fd00::1","timeout":30,"reason":"scan"}`)
	f.Add(`{"addr":"","user":""}`)
	f.Fuzz(func(t *testing.T, body string) {
		var ir IdentityRequest
		if decodeBody(strings.NewReader(body), &ir) == nil {
			if m, err := ir.mapping(time.Now(), time.Hour); err == nil && (!m.Addr.IsValid() || m.User == "") {
				t.Fatalf("accepted an invalid mapping %+v from %q", m, body)
			}
		}
		var qr QuarantineRequest
		if decodeBody(strings.NewReader(body), &qr) == nil {
			if a, d, err := qr.validate(); err == nil && (!a.IsValid() || d <= 0) {
				t.Fatalf("accepted an invalid quarantine %v %v from %q", a, d, body)
			}
		}
		var ev FeedEvent
		_ = decodeBody(strings.NewReader(body), &ev)
	})
}

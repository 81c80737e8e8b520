package appid

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// captureHTTPRequest returns the bytes Go's net/http client writes for a
// request, read off a loopback connection: real client bytes, not a
// hand-made blob.
func captureHTTPRequest(t testing.TB, method, url string, header http.Header) []byte {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c)
		var buf bytes.Buffer
		for range 100 {
			line, err := r.ReadBytes('\n')
			buf.Write(line)
			if err != nil || bytes.Equal(line, []byte("\r\n")) {
				break
			}
		}
		got <- buf.Bytes()
		c.Write([]byte("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"))
	}()
	req, err := http.NewRequest(method, "http://"+ln.Addr().String()+url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Host = "shop.example"
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return <-got
}

func TestDetectHTTP(t *testing.T) {
	get := captureHTTPRequest(t, "GET", "/cart?id=7", http.Header{"User-Agent": {"septa-test/1.0"}})
	del := captureHTTPRequest(t, "DELETE", "/item/3", nil)
	tests := []struct {
		name   string
		data   []byte
		want   Result
		method string
		host   string
		path   string
		agent  string
	}{
		{name: "net/http GET", data: get, want: Yes, method: "GET", host: "shop.example", path: "/cart?id=7", agent: "septa-test/1.0"},
		{name: "net/http DELETE", data: del, want: Yes, method: "DELETE", host: "shop.example", path: "/item/3", agent: "Go-http-client/1.1"},
		{name: "request line only so far", data: get[:10], want: More},
		{name: "method prefix", data: []byte("DEL"), want: More},
		{name: "empty", data: nil, want: More},
		{name: "not a method", data: []byte("SSH-2.0-OpenSSH_9.2\r\n"), want: No},
		{name: "bad version", data: []byte("GET / HTTP/2.0\r\n\r\n"), want: No},
		{name: "no target", data: []byte("GET  HTTP/1.1\r\n\r\n"), want: No},
		{name: "line never ends", data: append([]byte("GET /"), bytes.Repeat([]byte("a"), maxHTTPHeader)...), want: No},
		{name: "two hosts", data: []byte("GET / HTTP/1.1\r\nHost: shop.example\r\nhost: evil.example\r\n\r\n"), want: Yes, method: "GET", path: "/"},
		{name: "three hosts", data: []byte("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nHost: a\r\n\r\n"), want: Yes, method: "GET", path: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var info Info
			in := &Input{Transport: TCP, ToServer: tt.data}
			if got := detectHTTP(in, &info); got != tt.want {
				t.Fatalf("detectHTTP = %v, want %v", got, tt.want)
			}
			if tt.want != Yes {
				return
			}
			got := []string{string(info.HTTPMethod), string(info.HTTPHost), string(info.HTTPPath), string(info.HTTPUserAgent)}
			want := []string{tt.method, tt.host, tt.path, tt.agent}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzDetectHTTP(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("POST /x HTTP/1.0\nUser-Agent: b\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var info Info
		if detectHTTP(&Input{Transport: TCP, ToServer: b}, &info) == Yes && len(info.HTTPMethod) == 0 {
			t.Fatal("identified HTTP without a method")
		}
	})
}

// captureHTTPRequestOnce is captureHTTPRequest for the shared fixtures.
func captureHTTPRequestOnce(t testing.TB) []byte {
	return captureHTTPRequest(t, "GET", "/cart?id=7", http.Header{"User-Agent": {"septa-test/1.0"}})
}

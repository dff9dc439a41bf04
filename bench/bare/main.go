// Command bare is the baseline of bench/http.sh: a plain net/http server
// that answers each benchmarked request with exactly the status, headers
// and body the real server gave it. At start it sends every request of the
// routes file once to the real server (-capture) and keeps the answers, so
// the baseline stays true when the real answers change.
//
// Routes file: one request per line, tab-separated:
//
//	name  method  path?query  authorization  x-user-identifier  body
//
// (empty fields as "-"). Requests are matched on method, path with query
// and the Authorization header; other headers and the body are read and
// ignored, as a handler that does no work would.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

type key struct{ method, uri, auth string }

type answer struct {
	status int
	header http.Header
	body   []byte
}

// skipped are the headers net/http writes itself.
var skipped = map[string]bool{"Date": true, "Content-Length": true}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	capture := flag.String("capture", "", "base URL of the real server, e.g. http://127.0.0.1:18080")
	routes := flag.String("routes", "", "routes file")
	flag.Parse()
	if *capture == "" || *routes == "" {
		return errors.New("-capture and -routes are required")
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || (host != "127.0.0.1" && host != "localhost" && host != "::1") {
		return fmt.Errorf("-addr %q: listen on a loopback address only", *addr)
	}
	answers, err := captureAll(*capture, *routes)
	if err != nil {
		return err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := answers[key{r.Method, r.RequestURI, r.Header.Get("Authorization")}]
		if !ok {
			http.Error(w, "bare: no captured answer for this request", http.StatusNotFound)
			return
		}
		if r.ContentLength != 0 {
			_, _ = io.Copy(io.Discard, r.Body)
		}
		hdr := w.Header()
		for k, v := range a.header {
			hdr[k] = v
		}
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bare: %d answers captured, listening on %s\n", len(answers), ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	return srv.Serve(ln)
}

func captureAll(base, path string) (map[key]answer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	client := &http.Client{Timeout: 10 * time.Second}
	out := map[key]answer{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Split(line, "\t")
		if len(fs) != 6 {
			return nil, fmt.Errorf("%s:%d: want 6 tab-separated fields, got %d", path, n, len(fs))
		}
		for i := range fs {
			if fs[i] == "-" {
				fs[i] = ""
			}
		}
		name, method, uri, auth, ident, body := fs[0], fs[1], fs[2], fs[3], fs[4], fs[5]
		req, err := http.NewRequest(method, base+uri, strings.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if ident != "" {
			req.Header.Set("X-User-Identifier", ident)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("capturing %s: %w", name, err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("capturing %s: %w", name, err)
		}
		if res.StatusCode >= 300 {
			return nil, fmt.Errorf("capturing %s: status %d: %s", name, res.StatusCode, b)
		}
		hdr := http.Header{}
		for k, v := range res.Header {
			if !skipped[k] {
				hdr[k] = v
			}
		}
		k := key{method, uri, auth}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%s: another route has the same method, path and authorization", name)
		}
		out[k] = answer{status: res.StatusCode, header: hdr, body: b}
		fmt.Fprintf(os.Stderr, "bare: %-22s %d, %d bytes\n", name, res.StatusCode, len(b))
	}
	return out, sc.Err()
}

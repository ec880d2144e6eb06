package ops

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestObservabilityEndpoints(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "codeverify_test_things_total", Help: "x"})
	reg.MustRegister(c)
	c.Add(3)
	ready := NewReadiness("things")
	stop, err := Serve(context.Background(), addr, slog.Default(), reg, ready)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	get := func(path string) (int, string) {
		var last error
		for i := 0; i < 50; i++ {
			resp, err := http.Get("http://" + addr + path)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, string(b)
			}
			last = err
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("GET %s: %v", path, last)
		return 0, ""
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "things: FAIL: not yet") {
		t.Fatalf("/readyz before ready: %d %q, want 503 naming the check", code, body)
	}
	ready.Set("things", nil)
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("/readyz after ready: %d", code)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "codeverify_test_things_total 3") {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
}

// A metrics address that cannot be bound is an error, not a log line.
func TestObservabilityBindFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	stop, err := Serve(context.Background(), addr, slog.Default(), prometheus.NewRegistry(), NewReadiness())
	if err == nil {
		stop()
		t.Fatal("serving on a taken port succeeded")
	}
	if !strings.Contains(err.Error(), "--metrics-addr") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("error does not name the flag and address: %v", err)
	}
}

// Without an address nothing is served and stopping is a no-op.
func TestObservabilityOff(t *testing.T) {
	stop, err := Serve(context.Background(), "", slog.Default(), prometheus.NewRegistry(), NewReadiness())
	if err != nil {
		t.Fatal(err)
	}
	stop()
}

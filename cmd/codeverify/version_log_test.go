package main

import (
	"strings"
	"testing"
	"time"
)

func TestVersionFlag(t *testing.T) {
	r := runBinary(t, 15*time.Second, nil, "--version")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"codeverify", "revision", "go1."} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--version output %q lacks %q", r.stdout, want)
		}
	}
}

func TestLogFlags(t *testing.T) {
	for _, args := range [][]string{{"topology", "--log-level", "loud"}, {"topology", "--log-format", "xml"}} {
		r := runBinary(t, 15*time.Second, nil, args...)
		wantOneLineError(t, r, args[1])
	}
	if r := runBinary(t, 15*time.Second, []string{"CODEVERIFY_LOG_LEVEL=nope"}, "topology"); r.code == 0 {
		t.Errorf("CODEVERIFY_LOG_LEVEL=nope accepted")
	}
	if r := runBinary(t, 15*time.Second, nil, "topology", "--log-level", "debug", "--log-format", "text"); r.code != 0 {
		t.Errorf("valid log flags refused: %s", r.stderr)
	}
}

package ops

import (
	"strings"
	"testing"

	"github.com/codeverify/codeverify/streams"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A second runner under a processor name in use is an error, not a panic, and the first keeps
// being exported.
func TestRegisterRunnerStatsRefusesADuplicateName(t *testing.T) {
	reg := prometheus.NewRegistry()
	stats := func() streams.Stats { return streams.Stats{Processed: 7} }
	if err := RegisterRunnerStats(reg, "executor", stats); err != nil {
		t.Fatal(err)
	}
	if err := RegisterRunnerStats(reg, "executor", stats); err == nil || !strings.Contains(err.Error(), "executor") {
		t.Errorf("second registration: %v, want an error naming the processor", err)
	}
	want := `
# HELP codeverify_runner_processed_total inputs processed and committed
# TYPE codeverify_runner_processed_total counter
codeverify_runner_processed_total{processor="executor"} 7
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "codeverify_runner_processed_total"); err != nil {
		t.Error(err)
	}
}

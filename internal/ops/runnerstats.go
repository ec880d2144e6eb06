package ops

import (
	"fmt"

	"github.com/codeverify/codeverify/streams"
	"github.com/prometheus/client_golang/prometheus"
)

// RegisterRunnerStats exports a runner's counters as codeverify_runner_*{processor=…}, read at
// scrape time. A processor name registered already on reg is an error.
func RegisterRunnerStats(reg prometheus.Registerer, processor string, stats func() streams.Stats) error {
	labels := prometheus.Labels{"processor": processor}
	for _, c := range []struct {
		name, help string
		value      func(streams.Stats) int64
	}{
		{"processed_total", "inputs processed and committed", func(s streams.Stats) int64 { return s.Processed }},
		{"outputs_total", "output records produced", func(s streams.Stats) int64 { return s.Outputs }},
		{"dead_lettered_total", "inputs sent to the dead-letter topic", func(s streams.Stats) int64 { return s.DeadLettered }},
		{"errors_total", "transient processing errors (retried)", func(s streams.Stats) int64 { return s.Errors }},
	} {
		if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "codeverify_runner_" + c.name, Help: c.help, ConstLabels: labels},
			func() float64 { return float64(c.value(stats())) })); err != nil {
			return fmt.Errorf("runner metrics of %s: %w", processor, err)
		}
	}
	return nil
}

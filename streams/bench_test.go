package streams

import (
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

// BenchmarkRunnerThroughput measures inputs/s through a runner with a trivial processor: publish b.N
// candidates, wait until all are written and committed. The group join is done before timing.
// The defaults (MaxInFlight 4*Workers) bound memory, not speed: each flush waits for one write and
// one commit round trip, so throughput grows with MaxInFlight.
func BenchmarkRunnerThroughput(b *testing.B) {
	b.Run("defaults", func(b *testing.B) { benchRunner(b, 0, 0) })
	b.Run("inflight=1024", func(b *testing.B) { benchRunner(b, 8, 1024) })
}

func benchRunner(b *testing.B, workers, maxInFlight int) {
	br := startBroker(b)
	in, out := pipelineTopics(b, br, 8)
	cfg := verdictRunnerConfig(b, br, uniqueName(b, "group"), in, out)
	cfg.Workers = workers
	cfg.MaxInFlight = maxInFlight
	r, err := NewRunner(cfg, ProcessorFunc[schemas.Candidate, schemas.Verdict](toVerdict))
	if err != nil {
		b.Fatal(err)
	}
	stop := startRunner(b, r)
	publishCandidates(b, br, in, candidate(0))
	waitFor(b, 30*time.Second, "warm-up", func() bool { return r.Stats().Processed == 1 })

	cs := make([]schemas.Candidate, b.N)
	for i := range cs {
		cs[i] = candidate(i + 1)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < len(cs); i += 5000 {
		publishCandidates(b, br, in, cs[i:min(i+5000, len(cs))]...)
	}
	for r.Stats().Processed < int64(b.N)+1 {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	if err := stop(); err != nil {
		b.Fatal(err)
	}
}

package clickhouse

import (
	"context"
	"fmt"
	"testing"

	"github.com/codeverify/codeverify/schemas"
)

// BenchmarkWriteVerdicts measures one WriteVerdicts call per iteration with a batch of the size
// the streams runner flushes; rows/s is the figure to compare.
func BenchmarkWriteVerdicts(b *testing.B) {
	const batch = 5000
	s := testSink(b)
	ctx := context.Background()
	vs := make([]schemas.Verdict, batch)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j := range vs {
			vs[j] = verdict("mbpp", "test", "bench", fmt.Sprintf("p%d", j%500), i*batch+j, j%3 == 0)
		}
		b.StartTimer()
		if err := s.WriteVerdicts(ctx, vs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
}

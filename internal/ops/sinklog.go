package ops

import (
	"log/slog"
	"sync"
	"time"
)

// sinkLogEvery bounds the sink's INFO lines: at most one per table this often, however many
// batches (or rows) were written in between.
const sinkLogEvery = 5 * time.Second

// SinkLog sums what one sink table wrote and dead-lettered and logs it at INFO: when a batch is
// written and sinkLogEvery has passed since the last line (the first batch logs at once), and
// once more on Flush. It never logs per row.
type SinkLog struct {
	log   *slog.Logger
	table string
	every time.Duration
	lag   func() (int64, bool) // the consumer group's lag, when polled; nil: unknown
	now   func() time.Time

	mu                   sync.Mutex
	last                 time.Time
	batches, rows, dead  int64 // since the last line
	rowsTotal, deadTotal int64
}

// NewSinkLog logs table's writes to log; lag (optional) gives the consumer group's lag.
func NewSinkLog(log *slog.Logger, table string, lag func() (int64, bool)) *SinkLog {
	return &SinkLog{log: log, table: table, every: sinkLogEvery, lag: lag, now: time.Now}
}

// Written records one inserted batch of n rows.
func (l *SinkLog) Written(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches++
	l.rows += int64(n)
	l.rowsTotal += int64(n)
	if now := l.now(); l.last.IsZero() || now.Sub(l.last) >= l.every {
		l.emit(now)
	}
}

// DeadLettered records n events sent to the dead-letter topic; they show on the next line.
func (l *SinkLog) DeadLettered(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dead += int64(n)
	l.deadTotal += int64(n)
}

// Flush logs what is pending (at stop).
func (l *SinkLog) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.batches > 0 || l.dead > 0 {
		l.emit(l.now())
	}
}

func (l *SinkLog) emit(now time.Time) {
	args := []any{"table", l.table, "batches", l.batches, "rows", l.rows, "dead_lettered", l.dead,
		"rows_total", l.rowsTotal, "dead_lettered_total", l.deadTotal}
	if !l.last.IsZero() {
		args = append(args, "interval", now.Sub(l.last).Round(time.Millisecond).String())
	}
	if l.lag != nil {
		if lag, ok := l.lag(); ok {
			args = append(args, "lag", lag)
		}
	}
	l.log.Info("sink wrote", args...)
	l.last, l.batches, l.rows, l.dead = now, 0, 0, 0
}

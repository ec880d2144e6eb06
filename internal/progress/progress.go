// Package progress reports how far a long job of known size has got: a bar on a terminal, and
// plain periodic lines anywhere else (a file, a pipe, CI logs), so logs never fill with "\r" frames.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Plain mode writes a line when another tenth of the job is done or when this long has passed
// since the last line, whichever comes first, so a log gets at most 11 lines plus one per period.
const plainPeriod = 5 * time.Second

// Reporter reports one job of a known number of steps. It is safe for concurrent use; a nil
// *Reporter ignores every call.
type Reporter struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar // non-nil on a terminal
	w     io.Writer
	desc  string
	total int64
	done  int64
	start time.Time
	now   func() time.Time
	// plain mode: the last line written and the tenth it reported
	lastLine  time.Time
	lastTenth int64
	finished  bool
}

// New reports a job of total steps called desc (e.g. "replay verdicts") to w. With a nil w it
// returns nil, which reports nothing.
func New(w io.Writer, desc string, total int64) *Reporter {
	if w == nil {
		return nil
	}
	r := &Reporter{w: w, desc: desc, total: total, now: time.Now, lastTenth: -1}
	r.start = r.now()
	r.lastLine = r.start
	if IsTerminal(w) && total > 0 { // the bar needs a size
		r.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
	}
	return r
}

// IsTerminal says whether w is a terminal (and so may be redrawn in place).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Add records n more steps done.
func (r *Reporter) Add(n int64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.set(r.done + n)
}

// Set records that done steps of the total are done.
func (r *Reporter) Set(done int64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.set(done)
}

func (r *Reporter) set(done int64) {
	if r.finished {
		return
	}
	r.done = done
	if r.bar != nil {
		_ = r.bar.Set64(done) // the bar finishes itself (and prints its newline) at the total
		r.finished = done >= r.total
		return
	}
	if done >= r.total {
		r.finishPlain()
		return
	}
	tenth := int64(-1)
	if r.total > 0 {
		tenth = done * 10 / r.total
	}
	now := r.now()
	if tenth > r.lastTenth || now.Sub(r.lastLine) >= plainPeriod {
		r.line(now)
		r.lastTenth = tenth
	}
}

// Finish ends the report: a final line in plain mode, the completed bar on a terminal. Calling it
// again, or after the total was reached, does nothing.
func (r *Reporter) Finish() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	if r.bar != nil {
		r.finished = true
		_ = r.bar.Exit() // stops the bar where it is (the job may have been cut short); prints the newline
		return
	}
	r.finishPlain()
}

func (r *Reporter) finishPlain() {
	r.finished = true
	r.line(r.now())
}

func (r *Reporter) line(now time.Time) {
	r.lastLine = now
	rate := 0.0
	if s := now.Sub(r.start).Seconds(); s > 0 {
		rate = float64(r.done) / s
	}
	pct := 100.0
	if r.total > 0 {
		pct = 100 * float64(r.done) / float64(r.total)
	}
	fmt.Fprintf(r.w, "%s %d/%d (%.0f%%, %.0f/s)\n", r.desc, r.done, r.total, pct, rate)
}

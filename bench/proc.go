package bench

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// What /proc says about this process and the processes the benchmarks start.

// soakSample is what a leak would show: host processes, sandbox-uid processes and their RSS, and
// this process's fds, goroutines and RSS.
type soakSample struct {
	procs, sandboxProcs, fds, goroutines int
	rssKB, sandboxRSSKB                  int64
}

// sampleHost reads the soakSample of this process and the host.
func sampleHost() soakSample {
	s := soakSample{goroutines: runtime.NumGoroutine()}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		s.fds = len(fds)
	}
	s.rssKB = statusKB("/proc/self/status", "VmRSS:")
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		s.procs++
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Uid:") && len(strings.Fields(l)) > 1 && strings.Fields(l)[1] == "65534" {
				s.sandboxProcs++
				s.sandboxRSSKB += statusKB(filepath.Join("/proc", e.Name(), "status"), "VmRSS:")
			}
		}
	}
	return s
}

// treeCPU is the CPU time used so far by this process, its children (the zygotes, whose own
// children are the candidates) and the children it already waited for. On a machine shared with
// other work it tells what a run costs better than its wall time does.
func treeCPU() time.Duration {
	clk := 100.0 // USER_HZ on Linux
	fields := func(pid string) []string {
		b, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			return nil
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			return strings.Fields(s[i+1:])
		}
		return nil
	}
	ticks := func(f []string, from, to int) float64 {
		t := 0.0
		for i := from; i <= to && i < len(f); i++ {
			v, _ := strconv.ParseFloat(f[i], 64)
			t += v
		}
		return t
	}
	// Fields after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
	total := ticks(fields("self"), 11, 14)
	self := strconv.Itoa(os.Getpid())
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if f := fields(e.Name()); len(f) > 14 && f[1] == self {
			total += ticks(f, 11, 14)
		}
	}
	return time.Duration(total / clk * float64(time.Second))
}

func statusKB(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, key) {
			f := strings.Fields(l)
			if len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
	}
	return 0
}

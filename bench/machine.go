package bench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/codeverify/codeverify/processors/executor"
)

// cpuModel is the CPU's model name from /proc/cpuinfo, or def where it cannot be read.
func cpuModel(def string) string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return def
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return def
}

// machine describes the CPU and runtime the generator and reranker benchmarks ran on.
func machine() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s, %d CPUs (GOMAXPROCS %d), %s/%s, %s, host %s", cpuModel("unknown CPU"), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), host)
}

// printMachine prints the machine and the executor (its sandbox too) an executor benchmark ran on.
func printMachine(w io.Writer, ex *executor.Executor) {
	fmt.Fprintf(w, "machine: %s, %d cores, %s/%s\n", cpuModel("unknown"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "executor: %s, %d workers\n", ex.Version(), ex.Workers())
	if iso := ex.Isolation(); iso.Namespaces != "" {
		fmt.Fprintf(w, "isolation: %s\n", iso)
	}
}

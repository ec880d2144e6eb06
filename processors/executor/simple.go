package executor

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"math"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/codeverify/codeverify/processors/executor/pyliteral"
	"github.com/codeverify/codeverify/schemas"
)

// Backend "simple": a fresh interpreter per candidate, running harness.py.

// harnessSource is run (behind reportSource) with `python -I -S -c`; nothing is written to disk,
// so a candidate cannot tamper with the harness of another run.
//
//go:embed harness.py
var harnessSource string

// backendVersion names the harness protocol and labelling rules; bump it when harness.py or the
// label rules change, since it goes into every Verdict.
const backendVersion = "simple-1"

// sandbox is how the process is isolated; chosen once in New by trying each in turn.
type sandbox struct {
	name       string // goes into Version()
	cloneflags uintptr
	uid, gid   int // host ids the program runs as (inside it is uid 0 of its user namespace)
}

// newSimple picks the strongest sandbox this kernel allows for e.
func newSimple(e *Executor) error {
	// Strongest first. As root, run the program as nobody so that it cannot write host files;
	// that needs an interpreter nobody can read (not one under /root), else map our own uid.
	ns := uintptr(syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS)
	uid, gid := os.Geteuid(), os.Getegid()
	var boxes []sandbox
	if uid == 0 {
		boxes = append(boxes, sandbox{"ns", ns | syscall.CLONE_NEWPID, nobodyID, nobodyID})
	}
	self := "ns"
	if uid == 0 {
		self = "ns-hostroot" // network is gone, but host files are writable as root
	}
	boxes = append(boxes,
		sandbox{self, ns | syscall.CLONE_NEWPID, uid, gid},
		sandbox{self + "-nopid", ns, uid, gid},
		sandbox{"nons", 0, uid, gid})
	probe := schemas.Problem{ProblemID: "probe", TestStyle: schemas.StyleAsserts, Tests: []string{"assert f() == 1"}}
	var failures []string
	for i, b := range boxes {
		e.box = b
		r := e.run(context.Background(), probe, "def f():\n    return 1\n")
		if r.Err == nil && r.Label == schemas.Pass {
			if i > 0 {
				log.Printf("executor: sandbox %q (uid %d) chosen; stronger ones failed: %s", b.name, b.uid, strings.Join(failures, "; "))
			}
			return nil
		}
		failures = append(failures, fmt.Sprintf("%s/uid %d: %v %s %s", b.name, b.uid, r.Err, r.Kind, r.Detail))
	}
	return fmt.Errorf("executor: the harness does not work with %s: %s", e.python, strings.Join(failures, "; "))
}

// job is what the harness reads on stdin before any candidate code runs.
type job struct {
	Nonce   string   `json:"nonce"`
	Imports string   `json:"imports"`
	Code    string   `json:"code"`
	Setup   string   `json:"setup"`
	Tests   []string `json:"tests"`
	Limits  limits   `json:"limits"`
}

type limits struct {
	CPUSeconds int64 `json:"cpu_s"`
	ASBytes    int64 `json:"as_bytes"`
	FSizeBytes int64 `json:"fsize_bytes"`
	NoFile     int64 `json:"nofile"`
}

// newJob builds the program in the benchmarks' order: imports, code, setup (after the code: MBPP
// 367/927 build objects of classes the solution defines), then the tests. Check style (HumanEval):
// the tests define check(candidate); the single test is the call check(entry_point).
func newJob(p schemas.Problem, code string, timeout time.Duration, mem int64) (job, error) {
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return job{}, err
	}
	j := job{
		Nonce: hex.EncodeToString(n[:]), Imports: strings.Join(p.TestImports, "\n"), Code: code,
		Setup: p.TestSetup, Tests: p.Tests,
		Limits: limits{
			// CPU can't exceed wall time single-threaded; +1s so the wall timer normally fires first.
			CPUSeconds: int64(math.Ceil(timeout.Seconds())) + 1,
			ASBytes:    mem, FSizeBytes: fileSizeLimit, NoFile: openFileLimit,
		},
	}
	if p.TestStyle == schemas.StyleCheck {
		j.Setup = strings.Join(append([]string{p.TestSetup}, p.Tests...), "\n")
		j.Tests = []string{"check(" + p.EntryPoint + ")"}
	}
	return j, nil
}

// run executes one candidate in a fresh interpreter (the caller holds a worker slot).
func (e *Executor) run(ctx context.Context, p schemas.Problem, code string) Result {
	timeout := e.timeout(p)
	j, err := newJob(p, code, timeout, e.cfg.MemoryBytes)
	if err != nil {
		return Result{Err: err}
	}
	stdin, err := json.Marshal(j)
	if err != nil {
		return Result{Err: err}
	}
	dir, err := os.MkdirTemp(e.cfg.TempDir, "cv-exec-")
	if err != nil {
		return Result{Err: err}
	}
	defer os.RemoveAll(dir)
	if e.box.uid != os.Geteuid() {
		if err := os.Chown(dir, e.box.uid, e.box.gid); err != nil {
			return Result{Err: err}
		}
	}

	outR, outW, err := os.Pipe()
	if err != nil {
		return Result{Err: err}
	}
	defer outR.Close()
	frR, frW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return Result{Err: err}
	}
	defer frR.Close()

	cmd := exec.Command(e.python, "-I", "-S", "-c", reportSource+harnessSource)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir, "TMPDIR=" + dir, "LANG=C.UTF-8"}
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = outW, outW // one stream, capped as a whole
	cmd.ExtraFiles = []*os.File{frW}    // fd 3: result frames
	cmd.SysProcAttr = e.box.attr()
	cmd.WaitDelay = time.Second // stdin copier: never hang on a stuck pipe

	start := time.Now()
	err = cmd.Start()
	outW.Close()
	frW.Close()
	if err != nil {
		return Result{Err: fmt.Errorf("executor: start %s: %w", e.python, err)}
	}
	pgid := cmd.Process.Pid // Setpgid: the group id is the leader's pid
	kill := func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }

	overflow := make(chan struct{})
	outDone := make(chan string, 1)
	go func() { outDone <- readCapped(outR, e.cfg.OutputBytes, overflow) }()
	frDone := make(chan []byte, 1)
	go func() { frDone <- readFrames(frR) }()
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()

	var info exitInfo
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	cancelled := false
	select {
	case <-waited:
	case <-timer.C:
		info.timedOut = true
	case <-overflow:
		info.outputLimit = true
	case <-ctx.Done():
		cancelled = true
	}
	kill() // also reaps whatever the program left running in its group
	<-waited
	elapsed := time.Since(start)
	// Readers end at EOF; a descendant that escaped the group (no pid namespace) may hold the pipes.
	_ = outR.SetReadDeadline(time.Now().Add(drainGrace))
	_ = frR.SetReadDeadline(time.Now().Add(drainGrace))
	info.tail = <-outDone
	frames := <-frDone
	if cancelled {
		return Result{Err: ctx.Err()}
	}
	select { // the overflow may have raced with a normal exit
	case <-overflow:
		info.outputLimit = true
	default:
	}
	st := cmd.ProcessState
	info.status = st.Sys().(syscall.WaitStatus)
	info.cpu = st.UserTime() + st.SystemTime()
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		info.maxRSS = ru.Maxrss * 1024
	}
	r := e.label(frames, j, info, timeout)
	r.Runtime = elapsed
	return r
}

func (b sandbox) attr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{
		Setpgid: true, // one group to kill: the program and whatever it spawns
		// The program dies with us. (Pdeathsig follows the OS thread that started it; Go only
		// ends threads that were locked by a goroutine, which os/exec does not do.)
		Pdeathsig: syscall.SIGKILL,
	}
	if b.cloneflags != 0 {
		a.Cloneflags = b.cloneflags
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: b.uid, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: b.gid, Size: 1}}
		a.GidMappingsEnableSetgroups = false
		// Become uid/gid 0 of the new namespace, i.e. b.uid/b.gid on the host. Without this the
		// process keeps our host credentials (root stays root for file access, merely unmapped).
		a.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
	}
	return a
}

// readCapped counts the program's output, keeps its tail for details, and closes overflow once
// more than limit bytes arrived (the caller then kills the program). It reads to EOF or deadline.
func readCapped(f *os.File, limit int64, overflow chan struct{}) string {
	var total int64
	var tail []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			if total <= limit && total+int64(n) > limit {
				close(overflow)
			}
			total += int64(n)
			tail = append(tail, buf[:n]...)
			if len(tail) > tailBytes {
				tail = append(tail[:0], tail[len(tail)-tailBytes:]...)
			}
		}
		if err != nil {
			return strings.ToValidUTF8(string(tail), "\uFFFD")
		}
	}
}

// readFrames reads fd 3 to EOF (or deadline), keeping at most frameCap+1 bytes.
func readFrames(f *os.File) []byte {
	var b bytes.Buffer
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		if n > 0 && b.Len() <= frameCap {
			b.Write(buf[:n])
		}
		if err != nil {
			return b.Bytes()
		}
	}
}

// label decides the simple backend's Result: its tests are all statements (nonce path), judged by
// the one frame parser, labelItems.
func (e *Executor) label(raw []byte, j job, x exitInfo, timeout time.Duration) Result {
	pl := plan{items: make([]pyliteral.Item, len(j.Tests))}
	for i, t := range j.Tests {
		pl.items[i] = pyliteral.Item{Stmt: t}
	}
	return e.labelItems(raw, pl, j.Nonce, x, timeout, j.Limits.CPUSeconds)
}

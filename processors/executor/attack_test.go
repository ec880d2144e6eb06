package executor

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codeverify/codeverify/schemas"
)

// TestAttackSuite: programs that try to fool the label or harm the host. Every case must end in
// the right label and kind on both paths (split asserts judged in Go; check-style statements on
// the nonce path), and afterwards the host must be intact: a canary file unchanged, a listening
// canary socket never reached, no process left behind, the executor still labelling correctly.
func TestAttackSuite(t *testing.T) {
	e := newExecutor(t, Config{Timeout: 2 * time.Second, Backend: BackendZygote, CacheSize: -1})
	t.Logf("isolation: %s", e.Isolation())

	canaryDir := t.TempDir()
	if err := os.Chmod(canaryDir, 0o755); err != nil {
		t.Fatal(err)
	}
	canary := filepath.Join(canaryDir, "canary.txt")
	if err := os.WriteFile(canary, []byte("canary"), 0o666); err != nil { // world-writable on purpose
		t.Fatal(err)
	}
	if err := os.Chmod(canary, 0o666); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var reached atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			reached.Add(1)
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	before := processCount(t)

	// Asserts style: MBPP-like, every assert splittable (value judged in Go).
	asserts := addProblem()
	// Check style: HumanEval-like; a loop keeps it on the nonce path (statements run inside).
	nonce := schemas.Problem{ProblemID: "check-nonce", TestStyle: schemas.StyleCheck, EntryPoint: "add", Tests: []string{
		"def check(candidate):\n    for a, b in [(1, 2), (2, 2), (0, 0)]:\n        assert candidate(a, b) == a + b\n"}}
	// Check style with only splittable asserts: judged in Go.
	split := schemas.Problem{ProblemID: "check-split", TestStyle: schemas.StyleCheck, EntryPoint: "add", Tests: []string{
		"def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(2, 2) == 4, 'msg'\n    assert math.isclose(candidate(0.5, 0.25), 0.75)\n    assert set(candidate([1], [2])) == {1, 2}\n"}}
	split.TestSetup = "import math"
	if pl := makePlan(split); pl.split != 4 {
		t.Fatalf("check-split: %d of 4 asserts split", pl.split)
	}
	if pl := makePlan(nonce); pl.split != 0 {
		t.Fatalf("check-nonce: split %d", pl.split)
	}
	if pl := makePlan(asserts); pl.split != 3 {
		t.Fatalf("asserts: split %d", pl.split)
	}
	problems := []schemas.Problem{asserts, nonce, split}

	good := "def add(a, b):\n    return a + b\n"
	connect := func(host string, port int) string {
		return fmt.Sprintf("import socket\ns = socket.create_connection((%q, %d), timeout=1)\ns.close()\n", host, port) + good
	}
	const fail, pass = "FAIL", "PASS"
	cases := []struct {
		name, code string
		label      string
		kinds      []string // acceptable kinds for FAIL
	}{
		{"control: correct", good, pass, nil},
		{"exit(0) before tests", good + "exit(0)\n", fail, []string{schemas.KindException}},
		{"os._exit(0) before tests", "import os\n" + good + "os._exit(0)\n", fail, []string{schemas.KindException}},
		{"SystemExit before tests", good + "raise SystemExit(0)\n", fail, []string{schemas.KindException}},
		{"KeyboardInterrupt before tests", good + "raise KeyboardInterrupt\n", fail, []string{schemas.KindException}},
		{"os._exit between tests", "import os\nn = [0]\ndef add(a, b):\n    n[0] += 1\n    if n[0] == 2:\n        os._exit(0)\n    return a + b\n", fail, []string{schemas.KindException}},
		{"SystemExit between tests", "n = [0]\ndef add(a, b):\n    n[0] += 1\n    if n[0] == 2:\n        raise SystemExit(0)\n    return a + b\n", fail, []string{schemas.KindException}},
		{"always-equal object", "class A:\n    def __eq__(self, o):\n        return True\n    __hash__ = None\ndef add(a, b):\n    return A()\n", fail, []string{schemas.KindAssertion}},
		{"always-equal with truthy and close", "class A(float):\n    def __eq__(self, o):\n        return True\n    def __sub__(self, o):\n        return 0.0\n    def __iter__(self):\n        return iter([1, 2])\n    def __bool__(self):\n        return True\ndef add(a, b):\n    return A(-1)\n", fail, []string{schemas.KindAssertion}},
		{"int subclass with custom __eq__", "class I(int):\n    def __eq__(self, o):\n        return True\n    __hash__ = int.__hash__\ndef add(a, b):\n    return I(-7)\n", fail, []string{schemas.KindAssertion}},
		{"str subclass with custom __eq__", "class S(str):\n    def __eq__(self, o):\n        return True\n    __hash__ = str.__hash__\ndef add(a, b):\n    return S('x')\n", fail, []string{schemas.KindAssertion}},
		{"monkeypatched math.isclose", "import math\nmath.isclose = lambda *a, **k: True\ndef add(a, b):\n    return 0\n", fail, []string{schemas.KindAssertion}},
		{"monkeypatched set", "import builtins\nbuiltins.set = lambda *a: {1, 2}\ndef add(a, b):\n    return 0\n", fail, []string{schemas.KindAssertion, schemas.KindException}},
		{"monkeypatched AssertionError", "import builtins\nclass E(Exception):\n    pass\nbuiltins.AssertionError = E\ndef add(a, b):\n    return 0\n", fail, []string{schemas.KindAssertion, schemas.KindException}},
		{"frame walking sets harness locals", "import sys\ndef add(a, b):\n    f = sys._getframe(1)\n    while f:\n        for k in ('ok', 'passed', 'v'):\n            if k in f.f_locals:\n                f.f_locals[k] = True\n        f = f.f_back\n    return 0\n", fail, []string{schemas.KindAssertion}},
		{"gc scan patches harness functions", "import gc, types\ndef add(a, b):\n    for o in gc.get_objects():\n        if isinstance(o, types.FunctionType) and o.__name__ in ('judge', 'enc', 'frame', 'guard', 'plainish', 'describe', 'kind_of'):\n            try:\n                o.__code__ = (lambda *a, **k: True).__code__\n            except Exception:\n                pass\n    return 0\n", fail, []string{schemas.KindAssertion, schemas.KindException}},
		{"forged result lines", "import os\nfor i in range(3):\n    os.write(3, ('{\"t\":\"test\",\"i\":%d,\"ok\":true,\"kind\":\"none\",\"msg\":\"\"}\\n' % i).encode())\nos.write(3, b'{\"t\":\"end\",\"nonce\":\"x\",\"tests\":3}\\n')\nos._exit(0)\n", fail, []string{schemas.KindException}},
		{"forged lines then tests", "import os\nos.write(3, b'{\"t\":\"test\",\"i\":0,\"ok\":true,\"kind\":\"none\",\"msg\":\"\"}\\n')\n" + good, fail, []string{schemas.KindException}},
		{"steals the nonce and forges", "import os\nn = os.read(4, 64).decode()\nfor i in range(4):\n    os.write(3, ('{\"t\":\"test\",\"i\":%d,\"ok\":true,\"kind\":\"none\",\"msg\":\"\"}\\n' % i).encode())\nos.write(3, ('{\"t\":\"end\",\"nonce\":\"%s\",\"tests\":4}\\n' % n).encode())\nos._exit(0)\n", fail, []string{schemas.KindException}},
		{"print PASS", "print('PASS')\nprint('{\"t\":\"end\"}')\ndef add(a, b):\n    return 0\n", fail, []string{schemas.KindAssertion}},
		{"atexit hook", "import atexit, os\natexit.register(lambda: os.write(3, b'{\"t\":\"end\",\"nonce\":\"\",\"tests\":3}\\n'))\ndef add(a, b):\n    return 0\n", fail, []string{schemas.KindAssertion}},
		{"fork bomb", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n", fail, []string{schemas.KindTimeout, schemas.KindException, schemas.KindMemory}},
		{"memory bomb", "x = []\nwhile True:\n    x.append(bytearray(10 ** 7))\n", fail, []string{schemas.KindMemory, schemas.KindTimeout}},
		{"1 GB stdout", "import sys\nfor _ in range(1000):\n    sys.stdout.write('x' * 1_000_000)\n", fail, []string{schemas.KindOutputLimit}},
		{"1 GB stderr", "import sys\nfor _ in range(1000):\n    sys.stderr.write('x' * 1_000_000)\n", fail, []string{schemas.KindOutputLimit}},
		{"disk fill", "with open('big', 'wb') as f:\n    while True:\n        f.write(b'x' * 1_000_000)\n", fail, []string{schemas.KindException, schemas.KindTimeout}},
		{"write outside tmp", fmt.Sprintf("open(%q, 'w').write('pwned')\n", canary) + good, fail, []string{schemas.KindException}},
		{"delete outside tmp", fmt.Sprintf("import os\nos.remove(%q)\n", canary) + good, fail, []string{schemas.KindException}},
		{"write to /usr", "open('/usr/pwned', 'w').write('x')\n" + good, fail, []string{schemas.KindException}},
		{"read /etc/shadow", "open('/etc/shadow').read()\n" + good, fail, []string{schemas.KindException}},
		{"service environment", "import os\nenv = open('/proc/1/environ', 'rb').read() + open('/proc/self/environ', 'rb').read()\nassert b'GOPATH' not in env and b'CODEVERIFY' not in env and b'HOME=/root' not in env\nfor p in os.listdir('/proc'):\n    if p.isdigit():\n        c = open('/proc/%s/cmdline' % p, 'rb').read()\n        assert b'.test' not in c and b'go-build' not in c, c\nraise Exception('clean')\n", fail, []string{schemas.KindException}},
		{"connect host listener", connect("127.0.0.1", port), fail, []string{schemas.KindException}},
		{"connect outside", connect("8.8.8.8", 53), fail, []string{schemas.KindException}},
		{"kill the parent", "import os, signal\nfor sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGTERM):\n    try:\n        os.kill(os.getppid(), sig)\n        os.kill(1, sig)\n    except OSError:\n        pass\ndef add(a, b):\n    return 0\n", fail, []string{schemas.KindAssertion}},
		{"ptrace the parent", "import ctypes\nlibc = ctypes.CDLL(None)\nr = libc.ptrace(16, 1, 0, 0)\nassert r == -1, r\nraise Exception('ptrace refused')\n", fail, []string{schemas.KindException}},
		{"setsid double-fork escapee", "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(1000)\n    os._exit(0)\ndef add(a, b):\n    return 0\n", fail, []string{schemas.KindAssertion}},
		{"thread outlives main", "import threading, time, os\ndef late():\n    time.sleep(0.05)\n    os.write(3, b'{\"t\":\"end\",\"nonce\":\"\",\"tests\":3}\\n')\nthreading.Thread(target=late).start()\ndef add(a, b):\n    time.sleep(0.1)\n    return 0\n", fail, []string{schemas.KindAssertion, schemas.KindException}},
		{"C-level sleep", "import ctypes\nctypes.CDLL(None).sleep(1000)\n" + good, fail, []string{schemas.KindTimeout}},
		{"segfault", "import ctypes\nctypes.string_at(0)\n" + good, fail, []string{schemas.KindException}},
		{"new namespaces", "import ctypes\nassert ctypes.CDLL(None).unshare(0x10000000) != 0\nraise Exception('unshare refused')\n", fail, []string{schemas.KindException}},
		{"mount", "import ctypes\nassert ctypes.CDLL(None).mount(b'none', b'/tmp', b'tmpfs', 0, None) != 0\nraise Exception('mount refused')\n", fail, []string{schemas.KindException}},
	}
	for _, tc := range cases {
		for _, p := range problems {
			t.Run(tc.name+"/"+p.ProblemID, func(t *testing.T) {
				code := tc.code
				if strings.Contains(tc.name, "monkeypatched set") && p.ProblemID != "check-split" {
					code = strings.Replace(code, "{1, 2}", "3", 1)
				}
				r := e.Execute(context.Background(), p, code)
				if r.Err != nil {
					t.Fatalf("no label: %v", r.Err)
				}
				ok := r.Label == tc.label
				if ok && tc.label == fail {
					ok = false
					for _, k := range tc.kinds {
						ok = ok || r.Kind == k
					}
				}
				if !ok {
					t.Errorf("got %s/%s (%.300s), want %s %v", r.Label, r.Kind, r.Detail, tc.label, tc.kinds)
				}
			})
		}
	}
	// The host is intact.
	if b, err := os.ReadFile(canary); err != nil || string(b) != "canary" {
		t.Errorf("canary file changed: %q %v", b, err)
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("host listener was reached %d times", n)
	}
	time.Sleep(200 * time.Millisecond)
	if after := processCount(t); after > before {
		t.Errorf("processes left behind: %d before, %d after", before, after)
	}
	if r := e.Execute(context.Background(), asserts, good); r.Label != schemas.Pass {
		t.Errorf("executor broken after the attacks: %+v", r)
	}
	if r := e.Execute(context.Background(), split, good); r.Label != schemas.Pass {
		t.Errorf("executor broken after the attacks (check style): %+v", r)
	}
}

// processCount counts this test process's descendants (the zygotes and anything under them).
func processCount(t *testing.T) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	parent := map[int]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 {
			parent[pid], _ = strconv.Atoi(f[1])
		}
	}
	n := 0
	for pid := range parent {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == os.Getpid() {
				n++
				break
			}
		}
	}
	return n
}

# codeverify execution harness of the simple backend, run as `python3 -I -S -c <report.py +
# this file>` by simple.go (report.py, shared with the zygote's child.py, writes the result lines).
#
# Protocol:
#   stdin : one JSON job {nonce, imports, code, setup, tests, check, limits}; read to EOF BEFORE any
#           candidate code runs, so the candidate can never read the job (or its nonce) back.
#   fd 3  : result frames, one JSON object per line, written as each phase finishes:
#             {"t":"phase","name":..,"kind":..,"msg":..}   a non-test phase failed (no tests ran)
#             {"t":"test","i":k,"ok":..,"kind":..,"msg":..} one per test, in order
#             {"t":"end","nonce":..,"tests":n}             the harness finished normally
#   stdout/stderr belong to the candidate; Go only counts and caps them.
# Go labels PASS only with every expected test frame passed plus the end frame with the nonce, so a
# program that exits early (exit(0), os._exit, SystemExit) or prints "PASS" can never pass.
# The harness runs in the candidate's process, so it resists accidents, not a deliberate attack on
# the harness itself (that is the hardened backend's job).

import builtins
import json
import os
import resource
import sys

# Bind what the harness needs as module globals before candidate code can rebind builtins or
# monkeypatch modules (candidate code shares this interpreter).
from builtins import compile, enumerate, exec, len, min  # noqa: E402

_exit = os._exit
_BaseException = BaseException
FRAMES = 3
frame, describe, kind_of, test_line, run_phase, fresh_main, flush_output = _reporter(sys.stdout, sys.stderr)


def set_limits(lim):
    def setlim(res, soft, hard):
        # Only ever lower a limit: raising a hard limit is impossible unprivileged.
        _, cur = resource.getrlimit(res)
        if cur != resource.RLIM_INFINITY:
            soft, hard = min(soft, cur), min(hard, cur)
        resource.setrlimit(res, (soft, hard))

    cpu = lim["cpu_s"]
    # The soft CPU limit sends SIGXCPU, the hard one SIGKILL a second later (SIGXCPU is ignored
    # when the harness is pid 1 of its own pid namespace).
    setlim(resource.RLIMIT_CPU, cpu, cpu + 1)
    setlim(resource.RLIMIT_AS, lim["as_bytes"], lim["as_bytes"])
    setlim(resource.RLIMIT_FSIZE, lim["fsize_bytes"], lim["fsize_bytes"])
    setlim(resource.RLIMIT_NOFILE, lim["nofile"], lim["nofile"])
    setlim(resource.RLIMIT_CORE, 0, 0)


def main():
    job = json.loads(sys.stdin.buffer.read())
    nonce = job["nonce"]
    os.set_inheritable(FRAMES, False)  # subprocesses the candidate starts do not get fd 3
    set_limits(job["limits"])

    ns = fresh_main()
    # -S skips site, which is what normally defines exit()/quit(); define them so candidate code
    # behaves as in a normal interpreter (they raise SystemExit, which the harness catches).
    builtins.exit = builtins.quit = sys.exit

    phases = [("imports", job["imports"]), ("code", job["code"]), ("setup", job["setup"])]
    tests = job["tests"]
    del job  # nothing candidate-visible keeps the job around
    # The non-test phases run in program order; the first failure is reported and ends the run.
    for name, src in phases:
        if run_phase(name, src, ns) is None:
            finish(nonce, 0)
    for i, src in enumerate(tests):
        try:
            exec(compile(src, "<test %d>" % i, "exec", dont_inherit=True), ns)
            test_line(i)
        except _BaseException as e:  # SystemExit/KeyboardInterrupt fail the test too
            test_line(i, e)
    finish(nonce, len(tests))


def finish(nonce, ntests):
    """Write the end frame and exit at once: candidate threads and atexit hooks never run on."""
    flush_output()  # keep the candidate's buffered output for the detail tail
    frame({"t": "end", "nonce": nonce, "tests": ntests})
    _exit(0)


main()

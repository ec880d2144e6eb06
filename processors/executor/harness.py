# codeverify execution harness (run as `python3 -I -S -c <this file>` by executor.go).
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
import types

# Bind what the harness needs as module globals before candidate code can rebind builtins or
# monkeypatch modules (candidate code shares this interpreter).
from builtins import compile, enumerate, exec, isinstance, len, min, str, type  # noqa: E402

_dumps = json.dumps
_write = os.write
_exit = os._exit
_BaseException = BaseException
_AssertionError = AssertionError
_MemoryError = MemoryError
_SyntaxError = SyntaxError
_ValueError = ValueError
_stdout = sys.stdout
_stderr = sys.stderr
FRAMES = 3
MSG_MAX = 500


def frame(obj):
    data = (_dumps(obj) + "\n").encode()
    while data:
        data = data[_write(FRAMES, data):]


def describe(e):
    msg = type(e).__name__
    try:
        s = str(e)
    except _BaseException:
        s = "<unprintable>"
    if s:
        msg += ": " + s
    return msg[:MSG_MAX]


def kind_of(e):
    if isinstance(e, _AssertionError):
        return "assertion"
    if isinstance(e, _MemoryError):
        return "memory"
    return "exception"  # includes RecursionError, SystemExit, KeyboardInterrupt


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


def compile_phase(name, src):
    """Compile one unit; on failure write a phase frame and return None."""
    try:
        return compile(src, "<%s>" % name, "exec", dont_inherit=True)
    except (_SyntaxError, _ValueError) as e:  # ValueError: null bytes in source (3.11)
        frame({"t": "phase", "name": name, "kind": "syntax", "msg": describe(e)})
        return None


def main():
    job = json.loads(sys.stdin.buffer.read())
    nonce = job["nonce"]
    os.set_inheritable(FRAMES, False)  # subprocesses the candidate starts do not get fd 3
    set_limits(job["limits"])

    # The candidate's namespace is a fresh __main__ module, as when the program is run as a script
    # (`if __name__ == "__main__":` blocks run; pickle/doctest/dataclasses find the module).
    mod = types.ModuleType("__main__")
    mod.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = mod
    ns = mod.__dict__
    # -S skips site, which is what normally defines exit()/quit(); define them so candidate code
    # behaves as in a normal interpreter (they raise SystemExit, which the harness catches).
    builtins.exit = builtins.quit = sys.exit

    phases = [("imports", job["imports"]), ("code", job["code"]), ("setup", job["setup"])]
    tests = job["tests"]
    del job  # nothing candidate-visible keeps the job around
    if run_phases(phases, ns):
        for i, src in enumerate(tests):
            try:
                exec(compile(src, "<test %d>" % i, "exec", dont_inherit=True), ns)
                frame({"t": "test", "i": i, "ok": True, "kind": "none", "msg": ""})
            except _BaseException as e:  # SystemExit/KeyboardInterrupt fail the test too
                frame({"t": "test", "i": i, "ok": False, "kind": kind_of(e), "msg": describe(e)})
        finish(nonce, len(tests))
    finish(nonce, 0)


def run_phases(phases, ns):
    """Runs the non-test phases in program order; the first failure is reported and ends the run
    (the tests never execute, as in a plain script)."""
    for name, src in phases:
        code = compile_phase(name, src)
        if code is None:
            return False
        try:
            exec(code, ns)
        except _BaseException as e:  # SystemExit, KeyboardInterrupt: a failure, not an exit
            frame({"t": "phase", "name": name, "kind": kind_of(e), "msg": describe(e)})
            return False
    return True


def finish(nonce, ntests):
    """Write the end frame and exit at once: candidate threads and atexit hooks never run on."""
    for f in (_stdout, _stderr):  # keep the candidate's buffered output for the detail tail
        try:
            f.flush()
        except _BaseException:
            pass
    frame({"t": "end", "nonce": nonce, "tests": ntests})
    _exit(0)


main()

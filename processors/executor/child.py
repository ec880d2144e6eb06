# codeverify child harness. zygote.py execs this (behind report.py, which writes the phase and test
# lines and is shared with the simple backend's harness.py) once at start-up and calls
# _make(stdlib) before any candidate code exists: everything the harness relies on is captured then, and every forked
# child inherits that pristine state (and pays no set-up cost). The child calls run(job).
#
# job: imports, code, setup (program phases), items (tests), entry (check style).
# An item is {"e": expr}: the harness evaluates the call expression and writes the canonical
# encoding of the value (plain values only); Go, which alone knows the expected value, compares.
# ("c", when present, is the item's code object, compiled once per suite by the zygote.)
# Or {"s": stmt}: an assert that could not be split runs here; its outcome is only believed with
# the end line carrying the nonce, read from fd 4 after the last test.
# Lines on fd 3: {"t":"phase"...} | {"t":"val","i":k,"v":enc} | {"t":"test","i":k,"ok":..}
#              | {"t":"end","nonce":..,"tests":n}
#
# Generated tests (job "gen", same item shapes) run only after the end line, when the hidden
# verdict is settled: stdout/stderr then go to /dev/null, the module namespace and the watched
# modules are put back before each test, and each test has its own CPU limit (ITIMER_PROF) inside
# a CPU budget for them all. Their lines follow the end line:
#   {"t":"gstart"} | {"t":"gval","i":k,"v":enc} | {"t":"gtest","i":k,"ok":..,"kind":..}
#   | {"t":"gstop","i":k} (budget spent: k and the rest did not run) | {"t":"gend","tests":n}
# A gen-only job ("gen_only": a continuation after a generated test ended the process) loads the
# program and runs only the generated tests, with no end line.

import builtins as _b
import json as _json
import os as _os
import sys as _sys
import types as _types
import resource as _resource
import signal as _signal
import time as _time
import operator as _operator


def _make(stdlib):
    # Everything the harness uses is bound here, before any candidate code runs.
    write, exit_, read = _os.write, _os._exit, _os.read
    esc = _json.encoder.encode_basestring_ascii
    type_, len_, isinstance_, enumerate_, dict_, list_ = type, len, isinstance, enumerate, dict, list
    compile_, exec_, eval_, getattr_, format_ = compile, exec, eval, getattr, format
    BaseException_, AssertionError_ = BaseException, AssertionError
    int_, float_, str_t, bytes_, bool_, tuple_, set_, frozenset_ = int, float, str, bytes, bool, tuple, set, frozenset
    property_, classmethod_, staticmethod_, bool_f = property, classmethod, staticmethod, bool
    NoneType = type(None)
    stdout, stderr = _sys.stdout, _sys.stderr
    frame, _, kind_of, test_line, run_phase, fresh_main, flush_output = _reporter(stdout, stderr)
    HEAP, IMMUTABLE = 1 << 9, 1 << 8

    def python_class(c):  # C types (static, or immutable heap types) cannot be defined in Python
        f = flags_of(c)
        return f & HEAP and not f & IMMUTABLE
    CMP = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__len__", "__hash__",
           "__contains__", "__getattribute__", "__getattr__", "__class__", "__iter__", "__index__",
           "__int__", "__float__", "__str__", "__repr__", "__abs__", "__round__", "__sub__", "__rsub__",
           "__keys__", "__getitem__", "__format__")
    mappingproxy_get = type.__dict__["__dict__"].__get__
    mro_of = type.__dict__["__mro__"].__get__
    flags_of = type.__dict__["__flags__"].__get__

    def suspicious(t):
        """A class (or base) defined outside the standard library that overrides comparison,
        truthiness or conversion: its instances are not plain values."""
        for c in mro_of(t):
            if not python_class(c):
                continue
            d = mappingproxy_get(c)
            for name in CMP:
                if name in d:
                    f = d[name]
                    if f is None:  # __hash__ = None: unhashable, says nothing false
                        continue
                    if type_(f) is property_:
                        f = f.fget
                    elif type_(f) is classmethod_ or type_(f) is staticmethod_:
                        f = f.__func__
                    co = getattr_(f, "__code__", None) if type_(f) is _types.FunctionType else None
                    if co is None or not co.co_filename.startswith(stdlib):
                        return True
        return False

    budget = [200000]

    def enc(v, depth):
        budget[0] -= 1
        if depth > 60 or budget[0] < 0:
            return '["X","too large"]'
        t = type_(v)
        if v is None:
            return '["N"]'
        if t is bool_:
            return '["b",true]' if v else '["b",false]'
        base = None
        for b in (int_, float_, str_t, bytes_, list_, tuple_, dict_, set_, frozenset_):
            if t is b:
                base = b
                break
        if base is None:
            for b in (int_, float_, str_t, bytes_, list_, tuple_, dict_, set_, frozenset_):
                if isinstance_(v, b):
                    if suspicious(t):
                        return '["X","custom comparison"]'
                    base = b
                    break
        if base is None:
            if python_class(t):
                return '["X","not a plain value"]'
            # A builtin (C) type cannot override truth: report it for `assert f(x)`.
            try:
                return '["X","not a plain value",1]' if bool_f(v) else '["X","not a plain value",0]'
            except BaseException_:
                return '["X","not a plain value"]'
        if base is int_:
            return '["i","' + int_.__format__(v, "x") + '"]'
        if base is float_:
            return '["f","' + float_.__repr__(v) + '"]'
        if base is str_t:
            return '["s",' + esc(str_t.__str__(v)) + "]"
        if base is bytes_:
            return '["y","' + bytes_.hex(v) + '"]'
        if base is list_:
            return '["l",[' + ",".join([enc(x, depth + 1) for x in list_.__iter__(v)]) + "]]"
        if base is tuple_:
            return '["t",[' + ",".join([enc(x, depth + 1) for x in tuple_.__iter__(v)]) + "]]"
        if base is dict_:
            return '["d",[' + ",".join(["[" + enc(k, depth + 1) + "," + enc(x, depth + 1) + "]"
                                        for k, x in dict_.items(v)]) + "]]"
        it = set_.__iter__(v) if base is set_ else frozenset_.__iter__(v)
        return '["S",[' + ",".join([enc(x, depth + 1) for x in it]) + "]]"

    def plainish(v, depth):
        """The nonce path's guard on what candidate functions return: no objects that could lie
        about equality or truth, at any depth."""
        if depth > 60:
            return True
        t = type_(v)
        if python_class(t) and suspicious(t):
            return False
        if t is list_ or t is tuple_ or t is set_ or t is frozenset_:
            for x in v:
                if not plainish(x, depth + 1):
                    return False
        elif t is dict_:
            for k, x in dict_.items(v):
                if not plainish(k, depth + 1) or not plainish(x, depth + 1):
                    return False
        return True

    def guard(f):
        def guarded(*a, **k):
            r = f(*a, **k)
            if not plainish(r, 0):
                raise AssertionError_("returned an object with custom comparison")
            return r
        return guarded

    def finish(n, gen=None):
        flush_output()
        # A program that replaced or deleted builtins gets no end line (FAIL: exited before all
        # tests ran), as the simple backend's harness, which breaks on them, gives it.
        bsnap = snap[0][1]
        for k, v in bsnap.items():
            if bdict.get(k, bsnap) is not v:
                try:
                    write(2, b"\nharness: the program replaced builtins." + k.encode() + b"\n")
                except BaseException_:
                    pass
                exit_(70)
        try:
            nonce = read(4, 64).decode()
        except BaseException_:
            nonce = ""
        frame({"t": "end", "nonce": nonce, "tests": n})
        if gen:
            run_gen(gen, None, code_co[0])
        exit_(0)

    # Snapshot of what nonce-path asserts rely on; restored before each of them so that a
    # monkeypatched builtin or math.isclose cannot vouch for a wrong answer.
    _b.exit = _b.quit = _sys.exit  # -S skips site, which defines them; programs expect them
    watched = [m for m in (_b, _sys.modules.get("math"), _sys.modules.get("operator"),
                           _sys.modules.get("cmath"), _sys.modules.get("statistics")) if m is not None]
    snap = [(m, dict_(m.__dict__)) for m in watched]
    bdict = _b.__dict__
    mods0 = dict_(_sys.modules)

    def restore(g, mods):
        for m, d in snap:
            md = m.__dict__
            for k, v in d.items():
                if md.get(k) is not v:
                    try:
                        md[k] = v
                    except BaseException_:
                        pass
        for k, v in list_(g.items()):
            want = mods.get(k) or mods0.get(k)
            if type_(v) is _types.ModuleType and want is not None and v is not want:
                g[k] = want

    def run(job):
        _run(job)

    def _run(job):
        mods = {}  # modules the imports phase bound, over mods0
        ns = fresh_main()

        items = job["items"]
        entry = job["entry"]
        gen = job.get("gen")
        gen_conf[0] = job
        phases = [("imports", job["imports"]), ("code", job["code"]), ("setup", job["setup"])]
        for name, src in phases:
            if not src:
                continue
            code = run_phase(name, src, ns)
            if code is None:
                finish(0)
            if name == "code":
                code_co[0] = code
            if name == "imports":
                for k, v in list_(ns.items()):
                    if type_(v) is _types.ModuleType:
                        mods[k] = v

        for i, it in enumerate_(items):
            try:
                g = dict_(ns)
                if entry:
                    try:
                        target = ns[entry]
                    except KeyError:
                        raise NameError("name %r is not defined" % entry)
                    g["candidate"] = target if "e" in it else guard(target)
                if "e" in it:
                    budget[0] = 200000
                    co = it.get("c")  # compiled once per suite in the zygote, when it compiles
                    if co is None:
                        co = compile_(it["e"], "<test %d>" % i, "eval", dont_inherit=True)
                    v = eval_(co, g)
                    data = ('{"t":"val","i":%d,"v":' % i + enc(v, 0) + "}\n").encode()
                    while data:
                        data = data[write(3, data):]
                else:
                    if not entry:
                        for k, v in list_(g.items()):
                            if type_(v) is _types.FunctionType and getattr_(v, "__module__", None) == "__main__":
                                g[k] = guard(v)
                    restore(g, mods)
                    co = it.get("c")
                    if co is None:
                        co = compile_(it["s"], "<test %d>" % i, "exec", dont_inherit=True)
                    exec_(co, g)
                    test_line(i)
            except BaseException_ as e:  # SystemExit/KeyboardInterrupt fail the test too
                test_line(i, e)
        if job.get("gen_only"):
            flush_output()
            run_gen(gen, ns, None)
        finish(len_(items), gen)

    class GenTimeout(BaseException_):
        pass

    def on_timer(signum, frm):
        # Two periodic timers run through the whole phase (arming per test costs 4 syscalls); a
        # tick only counts while a test (or the program's load) runs, against that test's start.
        if not active[0]:
            return
        if signum == SIGPROF_:
            if process_time() - t0[0] <= lim[0]:
                return
        elif monotonic() - w0[0] <= 5 * lim[0] + 0.2:
            return
        fired[0] = True
        raise GenTimeout()

    fired, active, t0, w0, lim = [False], [False], [0.0], [0.0], [0.0]
    risky = [False]  # the previous test may have changed the watched modules
    gen_conf = [None]
    code_co = [None]
    setitimer, ITIMER_PROF, ITIMER_REAL = _signal.setitimer, _signal.ITIMER_PROF, _signal.ITIMER_REAL
    SIGPROF_ = _signal.SIGPROF
    process_time, monotonic = _time.process_time, _time.monotonic

    def arm(cpu_s, now):
        # CPU time is the limit (load does not inflate it); a wall limit well above it catches
        # a test that sleeps or waits.
        lim[0], t0[0], w0[0], fired[0] = cpu_s, now, monotonic(), False
        active[0] = True

    def disarm():
        active[0] = False
    is_, all_, map_ = _operator.is_, all, map
    dup2, open_, O_RDWR = _os.dup2, _os.open, _os.O_RDWR

    def unchanged(d, keys, vals):
        return len_(d) == len_(keys) and all_(map_(is_, keys, d)) and all_(map_(is_, vals, d.values()))

    def run_gen(gen, ns, co):
        """Runs the generated tests and ends the process. With co (after the hidden tests) the
        program is first executed again in a fresh module, so that nothing the hidden tests did to
        its globals reaches these tests; a gen-only job passes the namespace it just loaded."""
        job = gen_conf[0]
        per_test, budget_s, flush_every = job["gen_test_s"], job["gen_cpu_s"], job["gen_flush"]
        buf = []

        def flush():
            if buf:
                data = "".join(buf).encode()
                del buf[:]
                while data:
                    data = data[write(3, data):]
        try:
            devnull = open_("/dev/null", O_RDWR)
            dup2(devnull, 1)
            dup2(devnull, 2)
            lim = _resource.getrlimit(_resource.RLIMIT_CPU)
            _resource.setrlimit(_resource.RLIMIT_CPU, (lim[1], lim[1]))
            _signal.signal(_signal.SIGPROF, on_timer)
            _signal.signal(_signal.SIGALRM, on_timer)
            tick = per_test / 4
            setitimer(ITIMER_PROF, tick, tick)
            setitimer(ITIMER_REAL, tick, tick)
            start = process_time()
            if co is not None:
                ns = fresh_main()
                try:
                    arm(budget_s, start)
                    exec_(co, ns)
                    disarm()
                except BaseException_:
                    disarm()
                    frame({"t": "gnoload"})
                    exit_(0)
            frame({"t": "gstart"})
            # What a test may not change for the tests after it: the program's globals and the
            # watched modules (builtins, math...), compared by identity, put back when changed.
            nkeys, nvals = list_(ns), list_(ns.values())
            nsnap = dict_(ns)
            msnaps = [(m.__dict__, list_(d), list_(d.values())) for m, d in snap]
            n = len_(gen)
            for i, it in enumerate_(gen):
                now = process_time()
                if now - start > budget_s:
                    buf.append('{"t":"gstop","i":%d}\n' % i)
                    break
                if not unchanged(ns, nkeys, nvals):
                    ns.clear()
                    ns.update(nsnap)
                # The watched modules are compared only after a test that could reach them: one
                # the zygote found naming nothing risky ("r" false) cannot (see zygote.py).
                if risky[0]:
                    for md, keys, vals in msnaps:
                        if not unchanged(md, keys, vals):
                            restore(ns, {})
                            break
                risky[0] = it.get("r", True)
                try:
                    arm(per_test, now)
                    if "e" in it:
                        c = it.get("c")
                        if c is None:
                            c = compile_(it["e"], "<gen %d>" % i, "eval", dont_inherit=True)
                        v = eval_(c, ns)
                        disarm()
                        if fired[0]:
                            raise GenTimeout()
                        budget[0] = 200000
                        line = '{"t":"gval","i":%d,"v":' % i + enc(v, 0) + "}\n"
                    else:
                        g = dict_(ns)
                        for k, f in list_(g.items()):
                            if type_(f) is _types.FunctionType and getattr_(f, "__module__", None) == "__main__":
                                g[k] = guard(f)
                        c = it.get("c")
                        if c is None:
                            c = compile_(it["s"], "<gen %d>" % i, "exec", dont_inherit=True)
                        exec_(c, g)
                        disarm()
                        if fired[0]:
                            raise GenTimeout()
                        line = '{"t":"gtest","i":%d,"ok":true,"kind":"none"}\n' % i
                except BaseException_ as e:  # SystemExit and KeyboardInterrupt included
                    disarm()
                    k = "timeout" if fired[0] or isinstance_(e, GenTimeout) else kind_of(e)
                    line = '{"t":"gtest","i":%d,"ok":false,"kind":"%s"}\n' % (i, k)
                buf.append(line)
                if len_(buf) >= flush_every:
                    flush()
            else:
                buf.append('{"t":"gend","tests":%d}\n' % n)
            disarm()
            flush()
        except BaseException_:
            # The harness itself was hit (a late timer, memory): what was reported stands, Go
            # runs the rest in a continuation.
            try:
                disarm()
                flush()
            except BaseException_:
                pass
        exit_(0)

    return run

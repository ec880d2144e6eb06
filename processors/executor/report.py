# codeverify result lines: the part both harnesses share (harness.py, run by the simple backend, and
# child.py, run in the zygote's children). Go puts this file in front of each of them, so it is
# compiled with them and never read from disk.
#
# _reporter() is called at start-up, before any candidate code exists: everything the functions it
# returns use is bound then, so a program that rebinds or deletes builtins, or patches json, os or
# sys, cannot change what they write. The lines go to fd 3, one JSON object each:
#   {"t":"phase","name":..,"kind":..,"msg":..}   a program phase (imports, code, setup) failed
#   {"t":"test","i":k,"ok":..,"kind":..,"msg":..} a test statement ran (ok) or raised
# The end line and the rest are each harness's own.

import builtins as _builtins_mod
import json as _json_mod
import os as _os_mod
import sys as _sys_mod
import types as _types_mod


def _reporter(stdout, stderr):
    write, esc = _os_mod.write, _json_mod.encoder.encode_basestring_ascii
    type_, str_, int_, bool_, isinstance_ = type, str, int, bool, isinstance
    compile_, exec_ = compile, exec
    BaseException_, AssertionError_, MemoryError_, SyntaxError_, ValueError_ = (
        BaseException, AssertionError, MemoryError, SyntaxError, ValueError)
    ModuleType, modules, builtins_ = _types_mod.ModuleType, _sys_mod.modules, _builtins_mod

    def frame(obj):
        # Hand-made JSON (str, int and bool values only): json.dumps costs a forked child ~40 page
        # faults and ~0.1 ms on first use.
        parts = []
        for k, v in obj.items():
            t = type_(v)
            if t is bool_:
                s = "true" if v else "false"
            elif t is int_:
                s = int_.__repr__(v)
            else:
                s = esc(str_.__str__(v))
            parts.append('"' + k + '":' + s)
        data = ("{" + ",".join(parts) + "}\n").encode()
        while data:
            data = data[write(3, data):]

    def describe(e):
        msg = type_(e).__name__
        try:
            s = str_(e)
        except BaseException_:
            s = "<unprintable>"
        if s:
            msg += ": " + s
        return msg[:500]

    def kind_of(e):
        if isinstance_(e, AssertionError_):
            return "assertion"
        if isinstance_(e, MemoryError_):
            return "memory"
        return "exception"  # includes RecursionError, SystemExit, KeyboardInterrupt

    def test_line(i, e=None):
        """The line of test i: passed, or the exception it raised (SystemExit included)."""
        if e is None:
            frame({"t": "test", "i": i, "ok": True, "kind": "none", "msg": ""})
        else:
            frame({"t": "test", "i": i, "ok": False, "kind": kind_of(e), "msg": describe(e)})

    def run_phase(name, src, ns):
        """Compiles and runs one program phase in ns. On failure it writes the phase line and
        returns None (the tests never run, as in a plain script); else the phase's code object."""
        try:
            code = compile_(src, "<%s>" % name, "exec", dont_inherit=True)
        except (SyntaxError_, ValueError_) as e:  # ValueError: null bytes in source (3.11)
            frame({"t": "phase", "name": name, "kind": "syntax", "msg": describe(e)})
            return None
        try:
            exec_(code, ns)
        except BaseException_ as e:  # SystemExit, KeyboardInterrupt: a failure, not an exit
            frame({"t": "phase", "name": name, "kind": kind_of(e), "msg": describe(e)})
            return None
        return code

    def fresh_main():
        """A new __main__ module for the program, as when it is run as a script (`if __name__ ==
        "__main__":` blocks run; pickle, doctest and dataclasses find the module); its namespace."""
        mod = ModuleType("__main__")
        mod.__dict__["__builtins__"] = builtins_
        modules["__main__"] = mod
        return mod.__dict__

    def flush_output():
        """Flushes the program's buffered output, which Go keeps the tail of for failure details."""
        for f in (stdout, stderr):
            try:
                f.flush()
            except BaseException_:
                pass

    return frame, describe, kind_of, test_line, run_phase, fresh_main, flush_output

# codeverify fork server ("zygote"), run as `python3 -I -S -c <this file> <config json>` by zygote.go
# inside fresh user/mount/pid/net/ipc/uts namespaces, as pid 1 of its pid namespace.
#
# Start-up (trusted code only): mount a private view (new /proc, read-only everything, tmpfs /tmp),
# drop to an unprivileged uid, no_new_privs, non-dumpable, a seccomp deny-list, pre-import common
# modules and gc.freeze(). Then it reports the isolation in force and serves jobs:
#   fd 0  : unix stream socket from Go: [u32 len + SCM_RIGHTS(nonce pipe)] [job json]
#   fd 3  : pipe to Go: [u32 len][header json][u32 len][frames bytes] per job
# Per job it forks one child which runs the candidate; the zygote enforces the wall timeout and the
# output cap, then kill(-1)s every process left in the namespace, reaps them and wipes /tmp.
# The child writes its result lines on fd 3 (its own pipe to the zygote), one per test, then an end
# line with the nonce it reads from fd 4 only after the last test (Go wrote it into that pipe; it
# never passes through the zygote's memory).

import builtins
import ctypes
import errno
import gc
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
import time
import types

CFG = json.loads(sys.argv[1])
TMP = "/tmp"
facts = {}

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MNT_DETACH = 2


def mount(src, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if s is not None else None
    if libc.mount(enc(src), enc(target), enc(fstype), flags, enc(data)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "mount %s: %s" % (target, os.strerror(e)))


def statvfs_flags(path):
    f = os.statvfs(path).f_flag
    out = 0
    for st, ms in ((1, MS_RDONLY), (2, MS_NOSUID), (4, MS_NODEV), (8, MS_NOEXEC),
                   (1024, MS_NOATIME), (2048, MS_NODIRATIME), (4096, MS_RELATIME)):
        if f & st:
            out |= ms
    return out


def mountpoints():
    pts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            p = line.split()[4]
            pts.append(p.encode().decode("unicode_escape"))
    return pts


def hide_private_home(prefix):
    """If the interpreter lives under a directory the sandbox uid cannot enter (pyenv under /root),
    cover that directory with an empty tmpfs and bind only the interpreter prefix back."""
    parts = prefix.strip("/").split("/")
    top = None
    for i in range(1, len(parts)):
        d = "/" + "/".join(parts[:i])
        if not os.stat(d).st_mode & 0o001:
            top = d
            break
    if top is None:
        return None
    stage = TMP + "/.py"
    os.mkdir(stage)
    mount(prefix, stage, None, MS_BIND | MS_REC)
    mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")
    os.makedirs(prefix, 0o755)
    mount(stage, prefix, None, MS_BIND | MS_REC)
    libc.umount2(stage.encode(), MNT_DETACH)
    os.rmdir(stage)
    return top


def setup_mounts():
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    try:
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        facts["proc"] = "private"
    except OSError as e:
        facts["proc"] = "host (%s)" % e.strerror
    mount("tmpfs", TMP, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=%d" % CFG["tmp_bytes"])
    hidden = hide_private_home(CFG["prefix"])
    if hidden:
        facts["hidden"] = hidden
    failed = []
    for mp in reversed(mountpoints()):
        if mp == TMP or mp.startswith("/proc"):
            continue
        try:
            fl = statvfs_flags(mp)
            if not fl & MS_RDONLY:
                mount(None, mp, None, MS_REMOUNT | MS_BIND | MS_RDONLY | fl)
        except OSError:
            failed.append(mp)
    if os.path.isdir("/dev/shm"):
        try:
            mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=1m")
        except OSError:
            pass
    try:
        open("/.cv-rw-probe", "w").close()
        os.unlink("/.cv-rw-probe")
        facts["root"] = "WRITABLE"
    except OSError:
        facts["root"] = "read-only" + (" (not remounted: %s)" % ",".join(failed[:5]) if failed else "")


def seccomp_filter():
    """Deny-list: kernel attack surface and escapes (ptrace, mounts, new namespaces, bpf, io_uring,
    keyrings, module loading...) fail with EPERM; clone3 with ENOSYS so libc falls back to clone,
    whose namespace flags are checked. Other architectures / x32 are refused."""
    if os.uname().machine != "x86_64":
        return "off (not x86_64)"
    deny = [101, 165, 166, 155, 161, 272, 308, 246, 320, 175, 313, 176, 321, 298, 250, 248, 249,
            323, 310, 311, 169, 167, 168, 103, 163, 164, 227, 304, 303, 179, 172, 173, 135, 300,
            428, 429, 430, 431, 432, 433, 442, 425, 426, 427, 134, 139, 154, 170, 171]
    LD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    EPERM = 0x00050000 | errno.EPERM
    prog = [(LD, 0, 0, 4), (JEQ, 1, 0, 0xC000003E), (RET, 0, 0, 0x80000000), (LD, 0, 0, 0),
            (JGE, 0, 1, 0x40000000), (RET, 0, 0, EPERM)]
    for nr in deny:
        prog += [(JEQ, 0, 1, nr), (RET, 0, 0, EPERM)]
    prog += [(JEQ, 0, 1, 435), (RET, 0, 0, 0x00050000 | errno.ENOSYS)]
    prog += [(JEQ, 0, 3, 56), (LD, 0, 0, 16), (JSET, 0, 1, 0x7E020000), (RET, 0, 0, EPERM),
             (RET, 0, 0, 0x7FFF0000)]

    class Insn(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Insn))]

    arr = (Insn * len(prog))(*[Insn(*i) for i in prog])
    p = Prog(len(prog), arr)
    PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(p), 0, 0) != 0:
        return "off (%s)" % os.strerror(ctypes.get_errno())
    return "deny-list (%d syscalls)" % (len(deny) + 2)


def setup():
    if CFG["mounts"]:
        try:
            setup_mounts()
        except OSError as e:
            facts["root"] = "WRITABLE (mount setup failed: %s)" % e
    uid = CFG["uid"]
    if uid is not None:
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    facts["uid"] = os.getuid()
    PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # cleared by the uid change
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no /proc/1/mem, no ptrace by the same uid
    facts["no_new_privs"] = libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
    facts["seccomp"] = seccomp_filter()
    facts["pid"] = os.getpid()


setup()

# Modules most programs import: loaded once here, shared copy-on-write with every child.
# Not threading, subprocess or random: their at-fork hooks would cost every child ~0.3 ms.
for _m in ("math", "re", "collections", "itertools", "functools", "heapq", "bisect", "string",
           "typing", "operator", "decimal", "array", "cmath", "unicodedata", "enum", "abc", "numbers",
           "struct", "time", "io"):
    # Not dataclasses (1 MB: inspect, ast, dis...), hashlib (libcrypto), datetime, fractions, copy,
    # textwrap or shutil: rarely imported by candidates (the few that do pay 1-5 ms), while every
    # page of this process has its mapping copied into, and torn down with, each child: 2.2 MB less
    # here saved ~5% CPU per candidate.
    try:
        __import__(_m)
    except Exception:
        pass

# The children's environment, set once here (os.environ's clear/update in every child cost ~0.25 ms
# and ~55 page faults per candidate). Go started us with PATH, LANG, HOME and LD_BIND_NOW only
# (LD_BIND_NOW: every symbol resolved now, so no child pays lazy-binding faults); nothing of the
# service's environment ever reached this process.
os.environ.clear()
os.environ.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": TMP + "/job", "TMPDIR": TMP + "/job",
                   "LANG": "C.UTF-8"})

WORK = TMP + "/job"
CHILD_SRC = CFG["child"]
CTRL = socket.socket(fileno=0)
RESP = 3
OUT_CAP = CFG["output_bytes"]
TAIL = 2048
FRAME_CAP = 8 << 20


def read_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = CTRL.recv(n - len(buf))
        if not chunk:
            os._exit(0)  # Go closed the channel: the worker is done
        buf += chunk
    return buf


esc = json.encoder.encode_basestring_ascii


def respond(header, frames):
    # Hand-made JSON of str/int/float/bool values: json.dumps' Python-level encoder costs the
    # zygote (whose every written page faults again after each fork) more than the rest of a job.
    parts = []
    for k, v in header.items():
        t = type(v)
        if t is bool:
            s = "true" if v else "false"
        elif t is int or t is float:
            s = repr(v)
        elif t is str:
            s = esc(v)
        else:
            s = json.dumps(v)
        parts.append('"' + k + '":' + s)
    h = ("{" + ",".join(parts) + "}").encode()
    data = struct.pack("<I", len(h)) + h + struct.pack("<I", len(frames)) + frames
    while data:
        data = data[os.write(RESP, data):]


CLK = os.sysconf("SC_CLK_TCK")


def child_cpu(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK
    except (OSError, IndexError, ValueError):
        return 1e9


def reap_all():
    """kill(-1) from pid 1 reaches every other process of the namespace; reap them all."""
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        return  # ESRCH: no other process at all (an unreaped zombie still counts as one)
    except OSError:
        pass
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def wipe_tmp():
    try:  # the common case: the candidate wrote nothing
        if not os.listdir(WORK) and os.listdir(TMP) == ["job"]:
            os.rmdir(WORK)
            return True
    except OSError:
        pass
    import shutil
    ok = True
    for name in os.listdir(TMP):
        p = TMP + "/" + name
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                for root, dirs, _ in os.walk(p):
                    for d in dirs:
                        try:
                            os.chmod(os.path.join(root, d), 0o700)
                        except OSError:
                            pass
                os.chmod(p, 0o700)
                shutil.rmtree(p)
            else:
                os.unlink(p)
        except OSError:
            ok = False
    return ok


def gen_limits(job, pid, now):
    """Wall deadline, hard wall limit and CPU budget (all since the job's start) of the generated
    tests, which begin now."""
    return (now + job["gen_wall_s"], now + job["gen_hard_s"],
            child_cpu(pid) + job["gen_cpu_s"] + job["gen_test_s"])


def run_job(job, nonce_fd):
    limits = job["limits"]
    res_r, res_w = os.pipe()
    out_r, out_w = os.pipe()
    work = WORK
    os.mkdir(work, 0o700)
    pid = os.fork()
    if pid == 0:  # child: never returns
        try:
            os.setsid()
            devnull = os.open("/dev/null", os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(out_w, 1)
            os.dup2(out_w, 2)
            os.dup2(res_w, 3)
            os.dup2(nonce_fd, 4)
            os.closerange(5, 1 << 16)
            os.chdir(work)
            # The generated tests' CPU comes on top of the hidden tests' limit; the child raises
            # its soft limit to the hard one when they start.
            cpu_hard = limits["cpu_s"] + 1 + limits.get("cpu_gen_s", 0)
            for res, soft, hard in ((resource.RLIMIT_CPU, limits["cpu_s"], cpu_hard),
                                    (resource.RLIMIT_AS, limits["as_bytes"], limits["as_bytes"]),
                                    (resource.RLIMIT_FSIZE, limits["fsize_bytes"], limits["fsize_bytes"]),
                                    (resource.RLIMIT_NOFILE, limits["nofile"], limits["nofile"]),
                                    (resource.RLIMIT_NPROC, limits["nproc"], limits["nproc"]),
                                    (resource.RLIMIT_CORE, 0, 0)):
                resource.setrlimit(res, (soft, hard))
            RUN(job)
        except BaseException:
            pass
        os._exit(70)
    os.close(res_w)
    os.close(out_w)
    os.close(nonce_fd)
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        pidfd = None
    frames = bytearray()
    tail = bytearray()
    total = 0
    timed_out = output_limit = gen_timed_out = False
    deadline = job["wall_s"]
    hard, cpu_budget = job["hard_wall_s"], job["cpu_budget_s"]
    start = time.monotonic()
    # Generated tests: their lines follow the hidden tests' end line and are kept apart (gen,
    # capped on their own), and from that end line on the time limits are theirs: gen_wall_s,
    # extended up to gen_hard_s while the child has not used their CPU budget (a loaded machine
    # starves it; a test stuck in C code that no signal interrupts burns it). gen_at is where they
    # begin in the frames sent back, -1 when they never began.
    dual = bool(job.get("gen"))
    gen = bytearray()
    gen_at = -1
    gen_start = None
    scan = 0
    # A gen-only job loads the program under the hidden tests' limit, then its tests get theirs.
    wait_gstart = bool(job.get("gen_only"))
    if wait_gstart:
        gen_at = 0
    open_fds = [res_r, out_r]
    status, ru = None, None
    while True:
        left = deadline - (time.monotonic() - start)
        if left <= 0:
            # A child starved of CPU by load (not looping) gets more wall time, up to the hard limit.
            if deadline < hard and child_cpu(pid) < cpu_budget:
                deadline = min(hard, deadline + max(0.05, cpu_budget / 2))
                continue
            if gen_at >= 0:
                gen_timed_out = True
            else:
                timed_out = True
            break
        watch = open_fds + ([pidfd] if pidfd is not None else [])
        r, _, _ = select.select(watch, [], [], min(left, 0.05 if pidfd is None else left))
        if pidfd is None:
            p, st, rusage = os.wait4(pid, os.WNOHANG)
            if p:
                status, ru = st, rusage
                break
        for fd in r:
            if fd == pidfd:
                continue
            data = os.read(fd, 65536)
            if not data:
                open_fds.remove(fd)
            elif fd == res_r:
                if gen_at >= 0:
                    if len(gen) <= FRAME_CAP:
                        gen += data
                    if wait_gstart and gen.find(b'{"t":"gstart"') >= 0:
                        wait_gstart = False
                        gen_start = time.monotonic()
                        deadline, hard, cpu_budget = gen_limits(job, pid, gen_start - start)
                    continue
                if len(frames) <= FRAME_CAP:
                    frames += data
                if dual:
                    at = frames.find(b'{"t":"end"', scan)
                    nl = frames.find(b"\n", at) if at >= 0 else -1
                    if nl >= 0:
                        gen += frames[nl + 1:]
                        del frames[nl + 1:]
                        gen_at = len(frames)
                        gen_start = time.monotonic()
                        deadline, hard, cpu_budget = gen_limits(job, pid, gen_start - start)
                    elif at < 0:
                        scan = max(0, len(frames) - 16)
                    else:
                        scan = at
            else:
                total += len(data)
                tail += data
                if len(tail) > TAIL:
                    del tail[:-TAIL]
        if total > OUT_CAP:
            output_limit = True
            break
        if pidfd is not None and pidfd in r:
            _, status, ru = os.wait4(pid, 0)
            break
    if status is None:
        os.kill(pid, signal.SIGKILL)
        _, status, ru = os.wait4(pid, 0)
    reap_all()  # every writer of the pipes is dead now: drain to EOF
    for fd in (res_r, out_r):
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            if fd == res_r:
                buf = gen if gen_at >= 0 else frames
                if len(buf) <= FRAME_CAP:
                    buf += data
            else:
                total += len(data)
                tail += data
                if len(tail) > TAIL:
                    del tail[:-TAIL]
        os.close(fd)
    if total > OUT_CAP:
        output_limit = True
    if pidfd is not None:
        os.close(pidfd)
    clean = wipe_tmp()
    if gen_at > 0:
        frames += gen
    elif gen_at == 0:
        frames = gen
    return {"status": status, "timed_out": timed_out, "output_limit": output_limit,
            "gen_at": gen_at, "gen_timed_out": gen_timed_out,
            "gen_s": time.monotonic() - gen_start if gen_start is not None else 0.0,
            "cpu": ru.ru_utime + ru.ru_stime, "maxrss": ru.ru_maxrss * 1024,
            "tail": tail[-TAIL:].decode("utf-8", "replace"), "clean": clean,
            "wall": time.monotonic() - start}, bytes(frames)


_hns = {"__name__": "__cv_harness__", "__builtins__": builtins}
exec(compile(CHILD_SRC, "<harness>", "exec"), _hns)
RUN = _hns["_make"](os.path.dirname(os.__file__))
del _hns
ready = dict(facts)
ready["ready"] = True
ready["python"] = sys.version.split()[0]
# Compiled test code, shared by every job: (index, source) of the problems' own tests, ("g", source)
# of generated asserts. Generated asserts are model output: compiling one runs none of it, and only
# short ones are compiled here (a longer one the child compiles itself, inside its limits).
CODES = {}
GEN_COMPILE_MAX = 2000
gc.collect()
gc.freeze()  # objects made so far are never touched by the collector: children keep them shared
respond(ready, b"")


# Names through which an expression can reach the builtins or a module's namespace to change
# them; a generated assert naming none of them (and no dunder name, at any depth) cannot, and the
# child then skips comparing the watched modules after it. A statement always counts as risky.
RISKY = frozenset(("setattr", "delattr", "globals", "vars", "locals", "exec", "eval", "compile",
                   "getattr", "breakpoint", "builtins", "sys", "importlib", "gc", "ctypes", "operator",
                   "functools", "inspect", "types", "copyreg", "open"))


def risky(co):
    for name in co.co_names:
        if name.startswith("__") or name in RISKY:
            return True
    for c in co.co_consts:
        if type(c) is types.CodeType and risky(c):
            return True
    return False


def attach_code(items, gen):
    for i, it in enumerate(items):
        e, st = it.get("e"), it.get("s")
        key = ("g", e, st) if gen else (i, e, st)
        got = CODES.get(key)
        if got is None:
            if len(CODES) > 50000:
                CODES.clear()
            co = False  # the child compiles it and reports the error as before
            if not gen or len(e or st or "") <= GEN_COMPILE_MAX:
                try:
                    if e is not None:
                        co = compile(e, "<gen>" if gen else "<test %d>" % i, "eval", dont_inherit=True)
                    else:
                        co = compile(st, "<gen>" if gen else "<test %d>" % i, "exec", dont_inherit=True)
                except Exception:
                    pass
            got = (co, co is False or e is None or risky(co))
            CODES[key] = got
        if got[0] is not False:
            it["c"] = got[0]
            if gen:
                it["r"] = got[1]


while True:
    msg, fds, _, _ = socket.recv_fds(CTRL, 4, 1, socket.MSG_WAITALL)
    if len(msg) < 4:
        os._exit(0)
    (n,) = struct.unpack("<I", msg)
    job = json.loads(read_exact(n))
    attach_code(job["items"], False)
    attach_code(job.get("gen") or (), True)
    if len(fds) != 1:
        respond({"error": "no nonce pipe"}, b"")
        continue
    header, frames = run_job(job, fds[0])
    del job
    respond(header, frames)

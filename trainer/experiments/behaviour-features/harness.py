# Runs under /usr/bin/python3 -I -S. argv[1] = payload json path:
# {"program": str, "tests": [str], "start": int, "per_test": float, "budget": float}
# Writes one line per test to fd 3-equivalent (saved stdout): "<idx>\t<status>\t<fp or ->\n"
# First line: "DEF\t<ok|err>".
import sys, os, json, signal, ast, math, resource
try:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
except Exception:
    pass
sys.setrecursionlimit(3000)
payload = json.load(open(sys.argv[1]))
out_fd = os.dup(1)
dn = os.open(os.devnull, os.O_RDWR)
os.dup2(dn, 0); os.dup2(dn, 1); os.dup2(dn, 2)
def emit(s):
    os.write(out_fd, (s + "\n").encode())

class _Timeout(BaseException):
    pass
def _h(signum, frame):
    raise _Timeout()
signal.signal(signal.SIGALRM, _h)

def canon(v, depth=0):
    if depth > 20:
        return "<deep>"
    t = type(v)
    if v is None: return "None"
    if t is bool: return "bool:" + repr(v)
    if t is int: return "int:" + repr(v)
    if t is float:
        if math.isnan(v): return "float:nan"
        return "float:" + format(v, ".10g")
    if t is str: return "str:" + repr(v)
    if t is bytes: return "bytes:" + repr(v)
    if t is complex: return "complex:" + repr(v)
    if t in (list, tuple):
        return t.__name__ + ":[" + ",".join(canon(x, depth + 1) for x in v) + "]"
    if t in (set, frozenset):
        return t.__name__ + ":{" + ",".join(sorted(canon(x, depth + 1) for x in v)) + "}"
    if t is dict:
        items = sorted((canon(k, depth + 1), canon(x, depth + 1)) for k, x in v.items())
        return "dict:{" + ",".join(k + ":" + x for k, x in items) + "}"
    try:
        r = repr(v)
    except BaseException:
        r = "<unrepr>"
    if " at 0x" in r:
        r = r.split(" at 0x")[0] + ">"
    return t.__name__ + ":" + r

def shorten(s):
    if len(s) > 200:
        import hashlib
        return "h:" + hashlib.sha1(s.encode("utf-8", "backslashreplace")).hexdigest()
    return s.replace("\t", "\\t").replace("\n", "\\n")

g = {"__name__": "__main__", "__builtins__": __builtins__}
per = float(payload["per_test"]); budget = float(payload["budget"])
tests = payload["tests"]; start = int(payload["start"])
ok = True
if start == 0 or True:
    try:
        signal.setitimer(signal.ITIMER_REAL, 1.0, 0.05)
        exec(compile(payload["program"], "<candidate>", "exec"), g)
        signal.setitimer(signal.ITIMER_REAL, 0)
    except BaseException:
        signal.setitimer(signal.ITIMER_REAL, 0)
        ok = False
    ep = payload.get("entry_point")
    if ok and ep and not callable(g.get(ep)):
        ok = False
emit("DEF\t" + ("ok" if ok else "err"))
if not ok:
    sys.exit(0)

spent_to = 0.0
for i in range(start, len(tests)):
    src = tests[i]
    lim = per if spent_to < budget else 0.02
    status = "error"; fp = None
    try:
        tree = ast.parse(src)
    except BaseException:
        tree = None
    shape = None
    if tree is not None and len(tree.body) == 1 and isinstance(tree.body[0], ast.Assert):
        t = tree.body[0].test
        if isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], ast.Eq) and isinstance(t.left, ast.Call):
            shape = (compile(ast.Expression(t.left), "<t>", "eval"), compile(ast.Expression(t.comparators[0]), "<t>", "eval"))
    lg = dict(g)
    try:
        signal.setitimer(signal.ITIMER_REAL, lim, 0.02)
        try:
            if shape is not None:
                try:
                    lv = eval(shape[0], lg)
                except _Timeout:
                    raise
                except BaseException:
                    fp = None
                    raise
                try:
                    fp = shorten(canon(lv))
                except _Timeout:
                    raise
                except BaseException:
                    fp = "<canon-error>"
                rv = eval(shape[1], lg)
                if not (lv == rv):
                    raise AssertionError()
            else:
                exec(compile(src, "<t>", "exec"), lg)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        status = "pass"
    except _Timeout:
        status = "timeout"; spent_to += lim
    except AssertionError:
        status = "fail"
    except BaseException:
        status = "error"
    emit("%d\t%s\t%s" % (i, status, fp if fp is not None else "-"))

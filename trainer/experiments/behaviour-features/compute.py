"""Step 1: compute hidden labels + dual-execution behaviours. Cached outputs:
tests.jsonl, behaviors.jsonl. Run: nice -n 10 python3 compute.py"""
import json, os, sys, subprocess, tempfile, hashlib, time
from collections import Counter, OrderedDict
from multiprocessing import Pool

D = os.environ.get("CODEVERIFY_DATA_DIR", os.path.join(os.path.dirname(__file__), "../../../../shared/data")) + "/samples/codet_humaneval_codegen16b/"
SOL = D + "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.dev100.jsonl"
TST = D + "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.dev100.jsonl"
HE = D + "HumanEval_for_code_generation.jsonl"
STOP = ['\nclass', '\ndef', '\n#', '\nif', '\nprint']
PY = "/usr/bin/python3"
OUT = os.environ.get("RESEARCH_DIR", "/tmp/behaviour-features") + "/"
HARN = OUT + "harness.py"
PER_TEST = 0.3
BUDGET = 1.0

def cut(s):
    for t in STOP:
        if t in s:
            s = s.split(t)[0]
    return s

def valid(tc):
    if len(tc.strip()) < 1 or 'assert' not in tc:
        return False
    try:
        m = tc.replace("\n", "\n    ")
        compile(f'try:\n    {m}\nexcept:\n    pass\n', '', 'exec')
        return True
    except Exception:
        return False

def extract(content, ep):
    parts = [f'assert {p}'.strip() for p in f'assert {content}'.split('assert ') if (ep.strip() in p) and len(p.strip()) > 0]
    parts = [cut(p).strip() for p in parts]
    return [p for p in parts if valid(p)]

def load():
    he = [json.loads(l) for l in open(HE)]
    byprompt = {p["prompt"]: p for p in he}
    sols = [json.loads(l) for l in open(SOL)]
    tsts = [json.loads(l) for l in open(TST)]
    probs = []
    for pi, s in enumerate(sols):
        p = byprompt[s["prompt"]]
        pre = p["prompt"].rstrip() + "\n    pass\n\n# check the correctness of " + p["entry_point"] + "\nassert "
        tl = [t for t in tsts if t["prompt"] == pre]
        assert len(tl) == 1, (pi, len(tl))
        cnt = Counter()
        for smp in tl[0]["samples"]:
            for tc in extract(smp, p["entry_point"])[:5]:
                cnt[tc] += 1
        probs.append(dict(pi=pi, task_id=p["task_id"], entry_point=p["entry_point"], prompt=p["prompt"],
                          test=p["test"], completions=[cut(c) for c in s["samples"]],
                          tests=list(cnt.items())))
    return probs

def hidden(args):
    prog, test, ep = args
    src = prog + "\n" + test + "\ncheck(" + ep + ")"
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False, dir="/tmp") as f:
        f.write(src); fn = f.name
    try:
        r = subprocess.run([PY, "-I", "-S", fn], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=3, cwd="/tmp")
        return "PASS" if r.returncode == 0 else "FAIL"
    except subprocess.TimeoutExpired:
        return "TIMEOUT"
    finally:
        os.unlink(fn)

def dual(args):
    prog, tests, ep = args
    n = len(tests)
    res = [None] * n
    start = 0; restarts = 0; defined = None
    while start < n and restarts < 6:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, dir="/tmp") as f:
            json.dump(dict(program=prog, tests=tests, start=start, per_test=PER_TEST, budget=BUDGET, entry_point=ep), f)
            fn = f.name
        killed = False
        try:
            p = subprocess.Popen([PY, "-I", "-S", HARN, fn], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, cwd="/tmp")
            try:
                out, _ = p.communicate(timeout=4 + 0.03 * (n - start))
            except subprocess.TimeoutExpired:
                p.kill(); out, _ = p.communicate(); killed = True
        finally:
            os.unlink(fn)
        lines = out.decode("utf-8", "replace").split("\n")
        if not lines or not lines[0].startswith("DEF\t"):
            if defined is None:
                defined = False
                break
            # crashed while defining on restart: give up
            break
        if lines[0] == "DEF\terr":
            if defined is None:
                defined = False
            break
        defined = True
        last = start - 1
        for ln in lines[1:]:
            parts = ln.split("\t")
            if len(parts) != 3:
                continue
            i = int(parts[0]); res[i] = [parts[1], None if parts[2] == "-" else parts[2]]; last = i
        if last >= n - 1:
            break
        # died or killed at test last+1
        res[last + 1] = ["timeout" if killed else "error", None]
        start = last + 2; restarts += 1
    if not defined:
        return False, [["error", None]] * n
    for i in range(n):
        if res[i] is None:
            res[i] = ["timeout", None]
    return True, res

def main():
    t0 = time.time()
    probs = load()
    with open(OUT + "tests.jsonl", "w") as f:
        for p in probs:
            f.write(json.dumps(dict(pi=p["pi"], task_id=p["task_id"], entry_point=p["entry_point"], tests=p["tests"])) + "\n")
    print("tests written", sum(len(p["tests"]) for p in probs), "distinct tests", time.time() - t0, flush=True)
    # unique programs per problem
    jobs_h, jobs_d, keys = [], [], []
    for p in probs:
        uniq = OrderedDict()
        for c in p["completions"]:
            uniq.setdefault(p["prompt"] + c, None)
        for prog in uniq:
            keys.append((p["pi"], prog))
            jobs_h.append((prog, p["test"], p["entry_point"]))
            jobs_d.append((prog, [t for t, _ in p["tests"]], p["entry_point"]))
    print("unique programs", len(keys), flush=True)
    limit = int(os.environ.get("LIMIT", "0")) or len(keys)
    with Pool(2) as pool:
        H = pool.map(hidden, jobs_h[:limit], chunksize=8)
        print("hidden done", time.time() - t0, flush=True)
        Dres = []
        for i, r in enumerate(pool.imap(dual, jobs_d[:limit], chunksize=2)):
            Dres.append(r)
            if i % 500 == 0:
                print("dual", i, time.time() - t0, flush=True)
    cache = {keys[i]: (H[i], Dres[i]) for i in range(limit)}
    with open(OUT + "behaviors.jsonl", "w") as f:
        for p in probs:
            for si, c in enumerate(p["completions"]):
                k = (p["pi"], p["prompt"] + c)
                if k not in cache:
                    continue
                lab, (defined, res) = cache[k]
                f.write(json.dumps(dict(pi=p["pi"], si=si, label=lab, defined=defined,
                                        lines=c.count("\n") + 1, chars=len(c), res=res)) + "\n")
    print("done", time.time() - t0, flush=True)

if __name__ == "__main__":
    main()

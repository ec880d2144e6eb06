"""Writes the research parity fixtures of features_test.go from the offline experiment
(trainer/experiments/behaviour-features; its compute.py writes the data files to $RESEARCH_DIR):
run with /usr/bin/python3 (numpy) from this directory.

research_draws.json: for draws of the research data (seed, problem, k, sample indices), the
reference rows [log_score_gap, agree2_major, agree2_mean] of the experiment's common.py features,
and per problem which tests are shaped (common.fp_shaped, "1"/"0" per test). The Go test rebuilds
the behaviours from behaviors.jsonl and tests.jsonl when they are present.

research_requests.json: a few of those requests written out in full (tests with frequency and
shape, each candidate's status and fingerprint per test), fingerprints renamed per test to short
ids (only equality within a test matters; "None" stays "None", null stays null), so the parity
check also runs without the research data.
"""
import json
import os
import sys

sys.path.insert(0, "../../../trainer/experiments/behaviour-features")
import common  # noqa: E402

COLS = [common.FEATURES.index(c) for c in ("log_score_gap", "agree2_major", "agree2_mean")]
P = common.load()


def want(p, idx):
    return [[float(v) for v in row] for row in common.features(p, idx)[:, COLS]]


draws = []
for seed, k, problems in [(0, 16, range(100)), (1, 8, range(0, 100, 5)), (2, 32, range(0, 100, 5)),
                          (3, 2, range(0, 100, 10)), (4, 1, range(0, 100, 10))]:
    d = common.draws(seed, k=k)
    for pi in problems:
        idx = d[pi]
        draws.append({"seed": seed, "pi": pi, "k": k, "samples": [int(i) for i in idx], "want": want(P[pi], idx)})
with open("research_draws.json", "w") as f:
    shaped = ["".join("1" if x else "0" for x in p["shaped"]) for p in P]  # per problem, per test
    json.dump({"source": "research_features.py", "columns": ["log_score_gap", "agree2_major", "agree2_mean"],
               "shaped": shaped, "draws": draws}, f, separators=(",", ":"))
    f.write("\n")

# Full requests: T = 0 (pi 7), few tests (51, 55), no shaped test, some tests shaped and some not.
no_shaped = [p["pi"] for p in P if p["T"] > 0 and not p["shaped"].any()]
mixed = [p["pi"] for p in P if 10 <= p["T"] <= 40 and 0 < p["shaped"].sum() < p["T"]]
full = []
d0 = common.draws(0, k=16)
for pi in [7, 51, 55, no_shaped[0], mixed[0], mixed[1]]:
    p, idx = P[pi], d0[pi]
    ids = [{} for _ in range(p["T"])]
    cands = []
    for i in idx:
        res = []
        for j in range(p["T"]):
            fp = p["F"][i][j]
            if fp is not None and fp != "None":
                fp = ids[j].setdefault(fp, "v%d" % len(ids[j]))
            res.append([["pass", "fail", "error", "timeout"][p["S"][i, j]], fp])
        cands.append({"id": "s%02d" % i, "res": res})
    tests = [{"id": "t%d" % j, "freq": int(p["w"][j]), "shaped": bool(p["shaped"][j])} for j in range(p["T"])]
    full.append({"name": "research seed 0 pi %d" % pi, "tests": tests, "candidates": cands, "want": want(p, idx)})
with open("research_requests.json", "w") as f:
    json.dump({"source": "research_features.py", "requests": full}, f, separators=(",", ":"))
    f.write("\n")
print(len(draws), "draws;", [r["name"] for r in full])

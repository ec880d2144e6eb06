"""Nested selection of the feature set: inside each outer fold, pick the set with best inner 4-fold CV
(inner folds = fold_of(pi*7+1)), then evaluate on the outer held-out fold."""
import time, json
from train import *
P = load(); base = baselines(P)
A = ["log_score_gap", "agree2_major", "agree2_mean"]
SETS = {"A": A, "A+in_best": A + ["in_best"], "A+out": A + ["none_share", "distinct_out", "err_share"],
        "D": A + ["in_best", "none_share", "distinct_out", "err_share"]}
def fit_eval(tr, te, fs, train_seeds, eval_seeds):
    fidx = [FEATURES.index(f) for f in fs]
    X, Y, _ = build(P, tr, train_seeds, fidx)
    mu = X.reshape(-1, X.shape[2]).mean(0); sd = X.reshape(-1, X.shape[2]).std(0) + 1e-6
    m = train((X - mu) / sd, Y)
    Xt, Yt, meta = build(P, te, eval_seeds, fidx)
    E, _ = m.forward((Xt - mu) / sd)
    return {key: tie_pass(-E[r], Yt[r]) for r, key in enumerate(meta)}
res = {}; picks = []
t0 = time.time()
for fold in range(5):
    tr = [pi for pi in range(100) if fold_of(pi) != fold]
    te = [pi for pi in range(100) if fold_of(pi) == fold]
    inner = {}
    for name, fs in SETS.items():
        acc = []
        for f2 in range(4):
            itr = [pi for pi in tr if fold_of(pi * 7 + 1) % 4 != f2]
            ite = [pi for pi in tr if fold_of(pi * 7 + 1) % 4 == f2]
            r = fit_eval(itr, ite, fs, range(100, 110), range(200, 205))
            acc += list(r.values())
        inner[name] = np.mean(acc)
    best = max(inner, key=inner.get); picks.append((fold, best, {k: round(v, 4) for k, v in inner.items()}))
    print(picks[-1], round(time.time() - t0), flush=True)
    res.update(fit_eval(tr, te, SETS[best], range(100, 120), EVAL_SEEDS))
r = summarize(base, res, "nested")
print("nested %.4f diff %+.4f [%+.4f, %+.4f] draws %s" % (r["pass1"], r["diff"], r["lo"], r["hi"], {s: round(v, 4) for s, v in r["per_draw"].items()}))

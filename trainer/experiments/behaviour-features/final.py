"""Final model: CV table at k=16 (+ transfer check at k=8 and k=32 with models trained at k=16),
then train on all 100 problems and dump weights to model.json."""
import json, sys
from train import *
P = load()
A = ["log_score_gap", "agree2_major", "agree2_mean"]
SETS = {"A3": A, "A6": A + ["none_share", "distinct_out", "err_share"]}
out = {}
for k in [8, 16, 32]:
    dr = {s: draws(s, k=k) for s in EVAL_SEEDS}
    base = {}
    Fk = {}
    for s in EVAL_SEEDS:
        for pi in range(100):
            idx = dr[s][pi]; y = P[pi]["y"][idx]
            sc, _, _ = codet_scores(P[pi]["S"][idx], P[pi]["w"])
            base[(s, pi)] = dict(random=y.mean(), oracle=float(y.max()), codet=tie_pass(sc, y))
            Fk[(s, pi)] = (features(P[pi], idx), y)
    row = {m: np.mean([b[m] for b in base.values()]) for m in ["random", "oracle", "codet"]}
    row["codet_draws"] = [np.mean([base[(s, pi)]["codet"] for pi in range(100)]) for s in EVAL_SEEDS]
    for name, fs in SETS.items():
        fidx = [FEATURES.index(f) for f in fs]
        res = {}
        for fold in range(5):
            tr = [pi for pi in range(100) if fold_of(pi) != fold]
            te = [pi for pi in range(100) if fold_of(pi) == fold]
            X, Y, _ = build(P, tr, range(100, 120), fidx)
            mu = X.reshape(-1, X.shape[2]).mean(0); sd = X.reshape(-1, X.shape[2]).std(0) + 1e-6
            m = train((X - mu) / sd, Y)
            for s in EVAL_SEEDS:
                for pi in te:
                    Xf, y = Fk[(s, pi)]
                    E, _ = m.forward(((Xf[:, fidx] - mu) / sd)[None])
                    res[(s, pi)] = tie_pass(-E[0], y)
        r = summarize(base, res, name)
        row[name] = dict(pass1=r["pass1"], diff=r["diff"], lo=r["lo"], hi=r["hi"], per_draw=list(r["per_draw"].values()))
    out[k] = row
    print(k, json.dumps(row, default=float), flush=True)
json.dump(out, open(R + "cv_results.json", "w"), default=float, indent=1)
# full model
models = {}
for name, fs in SETS.items():
    fidx = [FEATURES.index(f) for f in fs]
    X, Y, _ = build(P, list(range(100)), range(100, 120), fidx)
    mu = X.reshape(-1, X.shape[2]).mean(0); sd = X.reshape(-1, X.shape[2]).std(0) + 1e-6
    m = train((X - mu) / sd, Y)
    raw_w = m.p["w"] / sd
    models[name] = dict(features=fs, mean=mu.tolist(), std=sd.tolist(), w_standardized=m.p["w"].tolist(),
                        b_standardized=float(m.p["b"][0]), w_raw=raw_w.tolist(),
                        b_raw=float(m.p["b"][0] - (m.p["w"] * mu / sd).sum()),
                        energy="E(x) = b_raw + sum_k w_raw[k]*x[k]  (pick argmin E)")
    print(name, json.dumps(models[name]), flush=True)
json.dump(models, open(R + "model.json", "w"), indent=1)

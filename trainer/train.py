#!/usr/bin/env python3
"""Train codeverify's energy verifier, export it to ONNX and check parity.

Driven by `codeverify train` (trainer/python.go), which writes the dataset files and reads what this
writes. Dependencies: torch and onnx only (Debian's python3-torch 1.13 on CPU, torch 2.x with CUDA on a
GPU host). Progress goes to stdout as one JSON object per line.

Inputs (--data DIR):  examples.jsonl  {"i": index, "y": 0 PASS | 1 FAIL, "f": fold, "p": problem, "r": request,
                                       "ids": [...], "x": [behaviour features]}
                      pairs.json      [[pass_index, fail_index], ...]   (same request, drawn in Go)
                      meta.json       {"features": [names], ...}   (the export format: trainer/dataset.go)
Outputs (--out DIR):  model.onnx      inputs input_ids, attention_mask (int64 [batch, sequence]) unless
                                      --text-weight 0, features (float32 [batch, F]) when --features F > 0;
                                      output energy (float32 [batch]); low energy = likely PASS
                      scores.jsonl    {"i": index, "e": energy} for every validation example
                      result.json     history, best epoch, parity, device, timings
"""
import argparse
import inspect
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def emit(event, **kw):
    kw["event"] = event
    print(json.dumps(kw), flush=True)


class Block(nn.Module):
    """Pre-norm encoder layer, written out so the ONNX graph is plain ops (MatMul, Softmax,
    LayerNormalization, ...) that any runtime, and the numpy checker, executes the same way."""

    def __init__(self, d, heads, ff, dropout):
        super().__init__()
        self.heads = heads
        self.dh = d // heads
        self.scale = 1.0 / math.sqrt(d // heads)  # a Python constant, not traced from a shape
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.ff1 = nn.Linear(d, ff)
        self.ff2 = nn.Linear(ff, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, bias):
        b, l, d = x.shape
        h, dh = self.heads, self.dh
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        q = q.reshape(b, l, h, dh).transpose(1, 2)
        k = k.reshape(b, l, h, dh).transpose(1, 2)
        v = v.reshape(b, l, h, dh).transpose(1, 2)
        att = torch.matmul(q, k.transpose(-2, -1)) * self.scale + bias
        att = self.drop(torch.softmax(att, dim=-1))
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, l, d)
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.ff2(torch.relu(self.ff1(self.ln2(x)))))


class EnergyModel(nn.Module):
    """energy = text_weight * token_energy(ids, mask) + feature_mlp((features - mean) / std).

    Either branch may be absent: text_weight 0 builds no token encoder (the graph then has only the
    features input), n_features 0 no feature MLP (the code-only model). The feature statistics are
    buffers, so the exported graph standardises exactly as training did. During training, text_dropout
    drops a row's whole token term with that probability: the features must rank on their own, and
    the token branch, which overfits on a hundred problems, only adjusts what they leave open."""

    def __init__(self, vocab, max_len, d, layers, heads, ff, dropout, n_features=0, feature_hidden=32, text_weight=1.0, text_dropout=0.0):
        super().__init__()
        self.text_weight = float(text_weight)
        self.text_dropout = float(text_dropout)
        self.n_features = n_features
        if self.text_weight > 0:
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(max_len, d)
            self.blocks = nn.ModuleList([Block(d, heads, ff, dropout) for _ in range(layers)])
            self.ln = nn.LayerNorm(d)
            self.head = nn.Linear(d, 1)
        if n_features > 0:
            self.register_buffer("feat_mean", torch.zeros(n_features))
            self.register_buffer("feat_std", torch.ones(n_features))
            if feature_hidden > 0:
                self.feat = nn.Sequential(nn.Linear(n_features, feature_hidden), nn.ReLU(),
                                          nn.Linear(feature_hidden, feature_hidden), nn.ReLU(), nn.Linear(feature_hidden, 1))
            else:
                # The linear energy b + w·x of the standardised features, from w = 0, b = 0.
                self.feat = nn.Linear(n_features, 1)
                nn.init.zeros_(self.feat.weight)
                nn.init.zeros_(self.feat.bias)

    @property
    def has_text(self):
        return self.text_weight > 0

    def feature_weights(self):
        """The weights the L2 penalty applies to: every weight matrix of the feature head, no bias."""
        if not self.n_features:
            return []
        return [m.weight for m in self.feat.modules() if isinstance(m, nn.Linear)]

    def input_names(self):
        return (["input_ids", "attention_mask"] if self.has_text else []) + (["features"] if self.n_features else [])

    def forward(self, *inputs):
        """inputs: (input_ids, attention_mask) and/or (features,), in input_names() order."""
        e = None
        if self.has_text:
            t = self.text_energy(inputs[0], inputs[1]) * self.text_weight
            if self.training and self.text_dropout > 0:
                keep = (torch.rand(t.shape, device=t.device) >= self.text_dropout).to(t.dtype)
                t = t * keep
            e = t
        if self.n_features:
            x = inputs[-1]
            f = self.feat((x - self.feat_mean) / self.feat_std).squeeze(-1)
            e = f if e is None else e + f
        return e

    def text_energy(self, input_ids, attention_mask):
        l = input_ids.shape[1]
        x = self.tok(input_ids) + self.pos.weight[:l].unsqueeze(0)
        m = attention_mask.to(x.dtype)
        # Additive key mask; -1e4 stays finite in float16 autocast.
        bias = (1.0 - m)[:, None, None, :] * -1e4
        for blk in self.blocks:
            x = blk(x, bias)
        x = self.ln(x)
        mm = m.unsqueeze(-1)
        pooled = (x * mm).sum(dim=1) / mm.sum(dim=1).clamp(min=1.0)
        return self.head(pooled).squeeze(-1)


def load(data_dir, n_features):
    ids, y, fold, prob, req, feats = [], [], [], [], [], []
    meta_path = os.path.join(data_dir, "meta.json")
    names = []
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            names = json.load(f)["features"]
    if n_features and n_features != len(names):
        raise SystemExit("--features %d but the export has %d features" % (n_features, len(names)))
    with open(os.path.join(data_dir, "examples.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if r["i"] != len(ids):
                raise SystemExit("examples.jsonl: indexes out of order")
            ids.append(r["ids"])
            y.append(r["y"])
            fold.append(r["f"])
            prob.append(r["p"])
            req.append(r.get("r", r["p"]))
            x = r.get("x", [])
            if n_features and len(x) != n_features:
                raise SystemExit("examples.jsonl: example %d has %d features, want %d" % (r["i"], len(x), n_features))
            feats.append(x)
    with open(os.path.join(data_dir, "pairs.json")) as f:
        pairs = json.load(f)
    return ids, y, fold, prob, req, pairs, feats


class Data:
    """The examples as the model reads them: token rows and, when the model has features, a float32
    matrix whose values are exactly the exported ones."""

    def __init__(self, ids, feats, model):
        self.ids = ids
        self.text = model.has_text
        self.x = torch.tensor(feats, dtype=torch.float32) if model.n_features else None

    def inputs(self, rows, device):
        out = []
        if self.text:
            out.extend(batch_tensors([self.ids[i] for i in rows], device))
        if self.x is not None:
            out.append(self.x[rows].to(device))
        return out


def batch_tensors(seqs, device):
    l = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), l), dtype=torch.long)
    mask = torch.zeros((len(seqs), l), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids.to(device), mask.to(device)


def pick_device(name):
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch %s sees no CUDA device" % torch.__version__)
    return name


def autocast_ctx(device, amp_dtype):
    if amp_dtype is None:
        return torch.autocast(device_type="cpu", enabled=False)
    return torch.autocast(device_type=device, dtype=amp_dtype)


def make_scaler(enabled):
    # torch.amp.GradScaler("cuda") is the 2.x spelling; torch.cuda.amp.GradScaler is 1.13's.
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler("cuda", enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)


def energies(model, data, idx, device, amp_dtype, bs=256):
    out = {}
    model.eval()
    with torch.no_grad():
        # Length-sorted batches waste little padding.
        order = sorted(idx, key=lambda i: len(data.ids[i]))
        for s in range(0, len(order), bs):
            chunk = order[s : s + bs]
            with autocast_ctx(device, amp_dtype):
                e = model(*data.inputs(chunk, device))
            for i, v in zip(chunk, e.float().cpu().tolist()):
                out[i] = v
    return out


def pair_accuracy(pairs, en):
    if not pairs:
        return float("nan")
    return sum(1.0 if en[p] < en[f] else 0.5 if en[p] == en[f] else 0.0 for p, f in pairs) / len(pairs)


def val_loss(pairs, en, y, idx, margin, w):
    rank = sum(max(0.0, margin + en[p] - en[f]) for p, f in pairs) / max(1, len(pairs))
    bce = 0.0
    for i in idx:
        z = en[i]
        bce += max(z, 0) - z * y[i] + math.log1p(math.exp(-abs(z)))
    return rank + w * bce / max(1, len(idx))


def export_onnx(model, path, max_len, opset):
    model = model.float().cpu().eval()
    l = min(16, max_len)
    args, axes = [], {"energy": {0: "batch"}}
    if model.has_text:
        args += [torch.randint(4, 260, (2, l), dtype=torch.long), torch.ones((2, l), dtype=torch.long)]
        axes.update({"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}})
    if model.n_features:
        args.append(torch.rand((2, model.n_features), dtype=torch.float32))
        axes["features"] = {0: "batch"}
    names = model.input_names()
    kw = dict(
        input_names=names,
        output_names=["energy"],
        dynamic_axes=axes,
        opset_version=opset,
        do_constant_folding=True,
    )
    # torch ≥ 2.9 defaults to the dynamo exporter, which needs onnxscript; the TorchScript exporter
    # needs nothing beyond torch and onnx and honours dynamic_axes.
    if "dynamo" not in inspect.signature(torch.onnx.export).parameters:
        torch.onnx.export(model, tuple(args), path, **kw)
        return
    try:
        torch.onnx.export(model, tuple(args), path, dynamo=False, **kw)
    except Exception as e:  # a torch whose TorchScript exporter is gone: the dynamo one (needs onnxscript)
        emit("export_fallback", reason=str(e)[:300])
        kw.pop("dynamic_axes")
        b, s = torch.export.Dim("batch"), torch.export.Dim("sequence", max=max_len)
        shapes = {"input_ids": {0: b, 1: s}, "attention_mask": {0: b, 1: s}, "features": {0: b}}
        torch.onnx.export(model, tuple(args), path, dynamo=True, dynamic_shapes={n: shapes[n] for n in names}, external_data=False, **kw)


def run_onnx(path, feeds):
    """Run the exported graph: onnxruntime when it is installed, else the numpy reference checker."""
    try:
        import onnxruntime as ort  # noqa: F401  (present on the GPU host, absent on Debian)

        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        return sess.run(["energy"], feeds)[0], "onnxruntime " + ort.__version__
    except ImportError:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import onnx_numpy

        return onnx_numpy.run(path, feeds)["energy"], "onnx_numpy (reference ops)"


def parity(model, path, data, sample):
    import onnx

    m = onnx.load(path)
    onnx.checker.check_model(m)
    names = [i.name for i in m.graph.input]
    if names != model.input_names():
        raise SystemExit("parity: the graph's inputs are %s, the model's %s" % (names, model.input_names()))
    model = model.float().cpu().eval()
    rng = random.Random(7)
    chosen = rng.sample(sample, min(len(sample), 48)) if sample else []
    if not chosen:
        raise SystemExit("parity: no examples to check")
    worst, runtime = 0.0, ""
    # Several batches: uneven lengths (padding), a single row, the longest rows.
    groups = [chosen[:16], chosen[16:17] or chosen[:1], sorted(chosen, key=lambda i: len(data.ids[i]))[-8:], chosen[17:48]]
    for g in groups:
        if not g:
            continue
        ins = data.inputs(g, "cpu")
        with torch.no_grad():
            ref = model(*ins).numpy()
        got, runtime = run_onnx(path, {n: t.numpy() for n, t in zip(names, ins)})
        if got.shape != ref.shape or str(got.dtype) != "float32":
            raise SystemExit("parity: onnx output %s %s, torch %s" % (got.shape, got.dtype, ref.shape))
        worst = max(worst, float(abs(got - ref).max()))
    return worst, runtime


def train_pairs_epochs(a, model, data, y, train_idx, train_pairs, val_pairs, val_idx, device, amp_dtype):
    """The pairs objective: minibatches of pairs plus as many pointwise rows, AdamW, epochs with
    early stopping on the validation loss; returns the history and the best state."""
    t_train = time.time()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    scaler = make_scaler(amp_dtype == torch.float16)

    best, best_state, best_epoch, bad_epochs, step = float("inf"), None, 0, 0, 0
    history = []
    rng = random.Random(a.seed)
    point = list(train_idx)
    stop = False
    for epoch in range(1, a.epochs + 1):
        model.train()
        rng.shuffle(train_pairs)
        rng.shuffle(point)
        te = time.time()
        tot, nb = 0.0, 0
        for s in range(0, len(train_pairs), a.batch_size):
            bp = train_pairs[s : s + a.batch_size]
            # Each step: the pairs' PASS and FAIL rows, plus as many pointwise rows from all training
            # examples (problems with no pair still teach the pointwise target).
            pw = [point[(s + j) % len(point)] for j in range(len(bp))]
            rows = [p for p, _ in bp] + [f for _, f in bp] + pw
            target = torch.tensor([float(y[i]) for i in rows[2 * len(bp):]], device=device)
            with autocast_ctx(device, amp_dtype):
                e = model(*data.inputs(rows, device)).float()
            n = len(bp)
            rank = F.relu(a.margin + e[:n] - e[n : 2 * n]).mean()
            pointwise = F.binary_cross_entropy_with_logits(e[2 * n :], target)
            loss = rank + a.pointwise_weight * pointwise
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(opt)
            scaler.update()
            tot += float(loss)
            nb += 1
            step += 1
            if a.log_every and step % a.log_every == 0:
                emit("step", epoch=epoch, step=step, loss=round(float(loss), 5), seconds=round(time.time() - t_train, 2))
            if a.max_steps and step >= a.max_steps:
                stop = True
                break
        en = energies(model, data, val_idx, device, amp_dtype)
        vl = val_loss(val_pairs, en, y, val_idx, a.margin, a.pointwise_weight)
        acc = pair_accuracy(val_pairs, en)
        h = dict(epoch=epoch, steps=step, train_loss=round(tot / max(1, nb), 5), val_loss=round(vl, 5),
                 val_pair_accuracy=round(acc, 5) if acc == acc else None, epoch_seconds=round(time.time() - te, 2))
        history.append(h)
        emit("epoch", **h)
        if vl < best:
            best, best_epoch, bad_epochs = vl, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
            if bad_epochs >= a.patience:
                emit("early_stop", epoch=epoch, best_epoch=best_epoch)
                break
        if stop:
            break
    return history, best_epoch, best, step, best_state


def request_loss(e, pi, fi, w, margin):
    """Σ w · max(0, margin − (E_fail − E_pass)) over pairs; w = 1 / (pairs of its request) / requests."""
    return (F.relu(margin - (e[fi] - e[pi])) * w).sum()


def pair_tensors(pairs, req, rows=None):
    """Pairs as index tensors into rows (default: the example indexes) with the per-request weights:
    each request's pairs averaged, the requests averaged."""
    count = {}
    for p, _ in pairs:
        count[req[p]] = count.get(req[p], 0) + 1
    if not pairs:
        return None
    pos = {r: k for k, r in enumerate(rows)} if rows is not None else None
    m = (lambda i: pos[i]) if pos is not None else (lambda i: i)
    pi = torch.tensor([m(p) for p, _ in pairs], dtype=torch.long)
    fi = torch.tensor([m(f) for _, f in pairs], dtype=torch.long)
    w = torch.tensor([1.0 / count[req[p]] / len(count) for p, _ in pairs], dtype=torch.float32)
    return pi, fi, w


def train_requests(a, model, data, y, prob, train_pairs, val_pairs, val_idx, req, device, amp_dtype):
    """The request objective: margin ranking max(0, 1 − (E_fail − E_pass)) over the PASS×FAIL pairs
    of a request, averaged per request, averaged over the requests with a pair, plus l2·|w|² on the
    feature head's weights; Adam (β 0.9, 0.999, eps 1e-8), --max-steps steps over --batch-size
    requests (0: all of them, full batch). No early stopping: the model after the last step."""
    by_req = {}
    for p, f in train_pairs:
        by_req.setdefault(req[p], []).append((p, f))
    reqs = sorted(by_req)
    steps = a.max_steps
    feat_w = model.feature_weights()
    feat_params = list(model.feat.parameters()) if model.n_features else []
    feat_ids = {id(p) for p in feat_params}
    other = [p for p in model.parameters() if id(p) not in feat_ids]
    groups = [{"params": feat_params, "weight_decay": 0.0}] if feat_params else []
    if other:
        groups.append({"params": other, "weight_decay": a.weight_decay})
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.999), eps=1e-8)  # weight decay 0: Adam
    scaler = make_scaler(amp_dtype == torch.float16)
    rng = random.Random(a.seed)
    full = a.batch_size <= 0 or a.batch_size >= len(reqs)
    if full:
        rows_all = sorted({i for pr in train_pairs for i in pr})
        full_batch = (rows_all, pair_tensors(train_pairs, req, rows_all))
        full_inputs = data.inputs(rows_all, device) if not model.has_text else None
    checkpoints = sorted({max(1, round(steps * k / 5)) for k in range(1, 6)})
    history, t_train, order, cursor, tot, nb = [], time.time(), list(reqs), len(reqs), 0.0, 0
    val = pair_tensors(val_pairs, req, sorted(val_idx)) if val_pairs else None
    for step in range(1, steps + 1):
        model.train()
        if full:
            rows, (pi, fi, w) = full_batch
            inputs = full_inputs if full_inputs is not None else data.inputs(rows, device)
        else:
            chosen = []
            for _ in range(a.batch_size):
                if cursor >= len(order):
                    rng.shuffle(order)
                    cursor = 0
                chosen.append(order[cursor])
                cursor += 1
            bp = [pr for r in chosen for pr in by_req[r]]
            rows = sorted({i for pr in bp for i in pr})
            pi, fi, w = pair_tensors(bp, req, rows)
            inputs = data.inputs(rows, device)
        with autocast_ctx(device, amp_dtype):
            e = model(*inputs).float()
        loss = request_loss(e, pi.to(device), fi.to(device), w.to(device), a.margin)
        if a.pointwise_weight > 0:
            target = torch.tensor([float(y[i]) for i in rows], device=device)
            loss = loss + a.pointwise_weight * F.binary_cross_entropy_with_logits(e, target)
        if a.l2 > 0 and feat_w:
            loss = loss + a.l2 * sum((wt.float() ** 2).sum() for wt in feat_w)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        tot += float(loss)
        nb += 1
        if a.log_every and step % a.log_every == 0:
            emit("step", epoch=1, step=step, loss=round(float(loss), 5), seconds=round(time.time() - t_train, 2))
        if step in checkpoints:
            en = energies(model, data, val_idx, device, amp_dtype)
            vl = float("nan")
            if val is not None:
                ev = torch.tensor([en[i] for i in sorted(val_idx)])
                vl = float(request_loss(ev, val[0], val[1], val[2], a.margin))
            acc = pair_accuracy(val_pairs, en)
            h = dict(epoch=len(history) + 1, steps=step, train_loss=round(tot / max(1, nb), 5), val_loss=round(vl, 5) if vl == vl else None,
                     val_pair_accuracy=round(acc, 5) if acc == acc else None, epoch_seconds=round(time.time() - t_train, 2))
            history.append(h)
            emit("epoch", **h)
            tot, nb = 0.0, 0
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    last = history[-1]["val_loss"] if history else None
    if model.n_features and not model.has_text and isinstance(model.feat, nn.Linear):
        emit("linear", weights=[round(v, 6) for v in model.feat.weight.detach().cpu().view(-1).tolist()],
             bias=round(float(model.feat.bias), 6), mean=model.feat_mean.cpu().tolist(), std=model.feat_std.cpu().tolist())
    return history, len(history), last, steps, state


def add_shape_args(ap):
    """The encoder's shape, shared with tiny_model.py (an untrained model of the same graph)."""
    ap.add_argument("--vocab", type=int, default=260)
    ap.add_argument("--max-len", type=int, default=512)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ff", type=int, default=256)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--val-fold", type=int, default=0)
    add_shape_args(ap)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--margin", type=float, default=1.0)
    ap.add_argument("--pointwise-weight", type=float, default=0.5)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: no limit)")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--amp", default="auto", choices=["auto", "on", "off"], help="mixed precision (CUDA only)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--parity-tol", type=float, default=1e-4)
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--features", type=int, default=0, help="behaviour features per example (0: a code-only model)")
    ap.add_argument("--feature-hidden", type=int, default=32)
    ap.add_argument("--text-weight", type=float, default=1.0, help="scale of the token branch's energy (0: no token branch)")
    ap.add_argument("--text-dropout", type=float, default=0.0, help="probability of dropping a row's token term in training")
    ap.add_argument("--objective", default="pairs", choices=["pairs", "request"],
                    help="pairs: minibatches of pairs + pointwise BCE, AdamW, epochs with early stopping; "
                         "request: margin ranking averaged per request then over requests, L2 on the feature weights, "
                         "Adam, --max-steps steps over --batch-size requests (0: all, full batch)")
    ap.add_argument("--l2", type=float, default=1e-4, help="request objective: L2 on the feature head's weights (not biases)")
    a = ap.parse_args()

    t0 = time.time()
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    device = pick_device(a.device)
    amp_dtype = None
    if device == "cuda" and a.amp != "off":
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        torch.backends.cuda.matmul.allow_tf32 = True
    elif a.amp == "on":
        raise SystemExit("--amp on needs --device cuda")

    if a.objective == "request" and a.max_steps < 1:
        raise SystemExit("--objective request trains --max-steps steps: give --max-steps ≥ 1")
    if a.features == 0 and a.text_weight <= 0:
        raise SystemExit("--features 0 and --text-weight 0: the model would read nothing")
    ids, y, fold, prob, req, pairs, feats = load(a.data, a.features)
    if any(len(s) > a.max_len for s in ids):
        raise SystemExit("examples longer than --max-len %d" % a.max_len)
    train_idx = [i for i in range(len(ids)) if fold[i] != a.val_fold]
    val_idx = [i for i in range(len(ids)) if fold[i] == a.val_fold]
    train_pairs = [p for p in pairs if fold[p[0]] != a.val_fold]
    val_pairs = [p for p in pairs if fold[p[0]] == a.val_fold]
    if not train_pairs or not val_idx:
        raise SystemExit("need training pairs and validation examples (train pairs %d, val examples %d)" % (len(train_pairs), len(val_idx)))

    model = EnergyModel(a.vocab, a.max_len, a.d_model, a.layers, a.heads, a.ff, a.dropout,
                        n_features=a.features, feature_hidden=a.feature_hidden, text_weight=a.text_weight, text_dropout=a.text_dropout)
    data = Data(ids, feats, model)
    if model.n_features:
        # Standardise by the training examples' statistics; a constant column keeps std 1.
        xt = data.x[train_idx]
        std = xt.std(dim=0, unbiased=False)
        model.feat_mean.copy_(xt.mean(dim=0))
        if a.objective == "request":
            model.feat_std.copy_(std + 1e-6)  # standardisation stored in the graph
        else:
            model.feat_std.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))
    model = model.to(device)
    nparams = sum(p.numel() for p in model.parameters())
    emit("start", device=device, amp=str(amp_dtype).replace("torch.", "") if amp_dtype else "off", torch=torch.__version__,
         params=nparams, train_pairs=len(train_pairs), val_pairs=len(val_pairs), train_examples=len(train_idx), val_examples=len(val_idx))
    t_train = time.time()
    if a.objective == "request":
        history, best_epoch, best, step, best_state = train_requests(a, model, data, y, prob, train_pairs, val_pairs, val_idx, req, device, amp_dtype)
    else:
        history, best_epoch, best, step, best_state = train_pairs_epochs(a, model, data, y, train_idx, train_pairs, val_pairs, val_idx, device, amp_dtype)
    train_seconds = time.time() - t_train
    model.load_state_dict(best_state)

    os.makedirs(a.out, exist_ok=True)
    en = energies(model, data, val_idx, device, None)  # fp32 scores: what the exported model computes
    with open(os.path.join(a.out, "scores.jsonl"), "w") as f:
        for i in val_idx:
            f.write(json.dumps({"i": i, "e": en[i]}) + "\n")

    path = os.path.join(a.out, "model.onnx")
    export_onnx(model, path, a.max_len, a.opset)
    worst, runtime = parity(model, path, data, val_idx)
    emit("parity", max_abs_diff=worst, tolerance=a.parity_tol, runtime=runtime)
    result = dict(history=history, best_epoch=best_epoch, best_val_loss=best if best is not None and math.isfinite(best) else None, steps=step, device=device,
                  amp=str(amp_dtype).replace("torch.", "") if amp_dtype else "off",
                  torch=torch.__version__, cuda_device=torch.cuda.get_device_name(0) if device == "cuda" else "",
                  params=nparams, train_seconds=round(train_seconds, 3), total_seconds=round(time.time() - t0, 3),
                  parity_max_abs_diff=worst, parity_runtime=runtime, opset=a.opset,
                  train_pairs=len(train_pairs), val_pairs=len(val_pairs), inputs=model.input_names())
    with open(os.path.join(a.out, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    if not worst <= a.parity_tol:
        print("parity check failed: max |onnx - torch| = %g > %g" % (worst, a.parity_tol), file=sys.stderr)
        sys.exit(3)
    emit("done", train_seconds=round(train_seconds, 3), best_epoch=best_epoch)


if __name__ == "__main__":
    main()

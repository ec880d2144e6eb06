#!/usr/bin/env python3
"""Export an untrained energy model to ONNX, for tests and `codeverify bench reranker`.

The architecture mirrors trainer/train.py's EnergyModel (pre-norm encoder blocks written as plain
ops, masked mean pooling, one linear head), so its latency is the served model's. Weights are random
(seeded): the scores mean nothing, the graph and the timing do.

Output: --out FILE, inputs input_ids / attention_mask (int64 [batch, sequence]), output energy
(float32 [batch]), opset 17. Needs torch and onnx only (Debian's python3-torch 1.13 works).
"""
import argparse
import math

import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.heads, self.dh = heads, d // heads
        self.scale = 1.0 / math.sqrt(d // heads)
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.ff1 = nn.Linear(d, ff)
        self.ff2 = nn.Linear(ff, d)

    def forward(self, x, bias):
        b, l, d = x.shape
        h, dh = self.heads, self.dh
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        q = q.reshape(b, l, h, dh).transpose(1, 2)
        k = k.reshape(b, l, h, dh).transpose(1, 2)
        v = v.reshape(b, l, h, dh).transpose(1, 2)
        att = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * self.scale + bias, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, l, d)
        x = x + self.proj(y)
        return x + self.ff2(torch.relu(self.ff1(self.ln2(x))))


class EnergyModel(nn.Module):
    def __init__(self, vocab, max_len, d, layers, heads, ff):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(max_len, d)
        self.blocks = nn.ModuleList([Block(d, heads, ff) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, 1)

    def forward(self, input_ids, attention_mask):
        l = input_ids.shape[1]
        x = self.tok(input_ids) + self.pos.weight[:l].unsqueeze(0)
        m = attention_mask.to(x.dtype)
        bias = (1.0 - m)[:, None, None, :] * -1e4
        for blk in self.blocks:
            x = blk(x, bias)
        x = self.ln(x)
        mm = m.unsqueeze(-1)
        pooled = (x * mm).sum(dim=1) / mm.sum(dim=1).clamp(min=1.0)
        return self.head(pooled).squeeze(-1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab", type=int, default=260)
    ap.add_argument("--max-len", type=int, default=512)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ff", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--opset", type=int, default=17)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    model = EnergyModel(a.vocab, a.max_len, a.d_model, a.layers, a.heads, a.ff).eval()
    l = min(16, a.max_len)
    ids = torch.randint(4, a.vocab, (2, l), dtype=torch.long)
    mask = torch.ones((2, l), dtype=torch.long)
    torch.onnx.export(
        model,
        (ids, mask),
        a.out,
        input_names=["input_ids", "attention_mask"],
        output_names=["energy"],
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}, "energy": {0: "batch"}},
        opset_version=a.opset,
        do_constant_folding=True,
    )


if __name__ == "__main__":
    main()

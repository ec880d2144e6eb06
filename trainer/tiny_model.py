#!/usr/bin/env python3
"""Export an untrained energy model to ONNX, for tests and `codeverify bench reranker`.

The model and the exporter are trainer/train.py's own (written beside this file by the Go caller),
so the graph and its latency are the served model's. Weights are random (seeded): the scores mean
nothing, the graph and the timing do.

Output: --out FILE, inputs input_ids / attention_mask (int64 [batch, sequence]) unless --text-weight 0,
features (float32 [batch, F]) with --features F, output energy (float32 [batch]), opset 17. Needs torch and onnx only (Debian's python3-torch 1.13 works).
"""
import argparse

import torch

from train import EnergyModel, add_shape_args, export_onnx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    add_shape_args(ap)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--features", type=int, default=0)
    ap.add_argument("--text-weight", type=float, default=1.0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    model = EnergyModel(a.vocab, a.max_len, a.d_model, a.layers, a.heads, a.ff, 0.0,
                        n_features=a.features, text_weight=a.text_weight).eval()
    export_onnx(model, a.out, a.max_len, a.opset)


if __name__ == "__main__":
    main()

"""A small reference evaluator for ONNX graphs in numpy, for the export parity check where
onnxruntime is not installed (Debian ships python3-onnx but no onnxruntime). It implements, with
opset-13+ semantics, the operators that train.py's model exports to and fails loudly on any other,
so it can only pass when it computed the graph that was exported."""
import numpy as np
import onnx
from onnx import numpy_helper


def _np_dtype(t):
    if hasattr(onnx.helper, "tensor_dtype_to_np_dtype"):
        return onnx.helper.tensor_dtype_to_np_dtype(t)
    return onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[t]


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _axes(x, v, default=None):
    if v is None:
        return default
    return tuple(int(a) % x.ndim for a in np.atleast_1d(v))


def _layernorm(x, scale, bias=None, axis=-1, epsilon=1e-5, **_):
    axes = tuple(range(axis % x.ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + np.float32(epsilon))
    y = y * scale
    return y + bias if bias is not None else y


def _softmax(x, axis=-1, **_):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _slice(x, starts, ends, axes=None, steps=None):
    axes = list(range(len(starts))) if axes is None else [int(a) % x.ndim for a in axes]
    steps = [1] * len(starts) if steps is None else steps
    sl = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        sl[a] = slice(int(s), int(max(min(e, np.iinfo(np.int64).max), -(2**62))), int(st))
    return x[tuple(sl)]


def _reshape(x, shape, allowzero=0, **_):
    shape = [int(s) for s in shape]
    if not allowzero:
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _gemm(a, b, c=None, alpha=1.0, beta=1.0, transA=0, transB=0, **_):
    a = a.T if transA else a
    b = b.T if transB else b
    y = np.float32(alpha) * (a @ b)
    return y + np.float32(beta) * c if c is not None else y


def _reduce_sum(x, axes=None, keepdims=1, noop_with_empty_axes=0, **_):
    ax = _axes(x, axes)
    if ax is None and noop_with_empty_axes:
        return x
    return np.sum(x, axis=ax, keepdims=bool(keepdims)).astype(x.dtype)


def _reduce_mean(x, axes=None, keepdims=1, **kw):
    # ReduceMean takes axes as an attribute up to opset 17.
    ax = _axes(x, kw.get("axes_attr", axes))
    return np.mean(x, axis=ax, keepdims=bool(keepdims)).astype(x.dtype)


def _clip(x, lo=None, hi=None):
    if lo is not None:
        x = np.maximum(x, lo)
    if hi is not None:
        x = np.minimum(x, hi)
    return x


def _split(x, split=None, axis=0, num_outputs=None, n_out=1, **_):
    if split is None:
        return np.array_split(x, n_out, axis=axis)
    idx = np.cumsum([int(s) for s in split])[:-1]
    return np.split(x, idx, axis=axis)


def _erf(x):
    from math import erf

    return np.vectorize(erf, otypes=[x.dtype])(x)


def run(path, feeds):
    model = onnx.load(path)
    g = model.graph
    env = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    env.update(feeds)
    env[""] = None
    for node in g.node:
        a = _attrs(node)
        x = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Constant":
            out = numpy_helper.to_array(a["value"]) if "value" in a else np.array(a.get("value_float", a.get("value_int")))
        elif op == "Identity":
            out = x[0]
        elif op == "Add":
            out = x[0] + x[1]
        elif op == "Sub":
            out = x[0] - x[1]
        elif op == "Mul":
            out = x[0] * x[1]
        elif op == "Div":
            out = x[0] / x[1] if x[0].dtype.kind == "f" else x[0] // x[1]
        elif op == "Pow":
            out = np.power(x[0], x[1]).astype(x[0].dtype)
        elif op == "Sqrt":
            out = np.sqrt(x[0])
        elif op == "Neg":
            out = -x[0]
        elif op == "Erf":
            out = _erf(x[0])
        elif op == "Relu":
            out = np.maximum(x[0], 0).astype(x[0].dtype)
        elif op == "Max":
            out = np.maximum(x[0], x[1])
        elif op == "MatMul":
            out = np.matmul(x[0], x[1])
        elif op == "Gemm":
            out = _gemm(*x, **a)
        elif op == "Gather":
            out = np.take(x[0], x[1].astype(np.int64), axis=a.get("axis", 0))
        elif op == "Shape":
            out = np.array(x[0].shape, dtype=np.int64)
        elif op == "Unsqueeze":
            out = x[0]
            for ax in sorted(int(v) % (x[0].ndim + len(x[1])) for v in x[1]):
                out = np.expand_dims(out, ax)
        elif op == "Squeeze":
            out = np.squeeze(x[0], axis=_axes(x[0], x[1] if len(x) > 1 else None))
        elif op == "Concat":
            out = np.concatenate([np.atleast_1d(v) for v in x], axis=a["axis"])
        elif op == "Slice":
            out = _slice(*x)
        elif op == "Reshape":
            out = _reshape(x[0], x[1], **a)
        elif op == "Transpose":
            out = np.transpose(x[0], a.get("perm"))
        elif op == "Cast":
            out = x[0].astype(_np_dtype(a["to"]))
        elif op == "LayerNormalization":
            out = _layernorm(*x, **a)
        elif op == "Softmax":
            out = _softmax(x[0], **a)
        elif op == "ReduceSum":
            out = _reduce_sum(x[0], x[1] if len(x) > 1 else None, **a)
        elif op == "ReduceMean":
            out = _reduce_mean(x[0], axes_attr=a.get("axes"), keepdims=a.get("keepdims", 1))
        elif op == "Clip":
            out = _clip(x[0], x[1] if len(x) > 1 else None, x[2] if len(x) > 2 else None)
        elif op == "Split":
            out = _split(x[0], x[1] if len(x) > 1 else None, axis=a.get("axis", 0), n_out=len(node.output))
        elif op == "Where":
            out = np.where(x[0], x[1], x[2])
        elif op == "Equal":
            out = np.equal(x[0], x[1])
        elif op == "Expand":
            out = x[0] * np.ones(tuple(int(s) for s in x[1]), dtype=x[0].dtype)
        elif op == "ConstantOfShape":
            v = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
            out = np.full(tuple(int(s) for s in x[0]), v.reshape(-1)[0], dtype=v.dtype)
        elif op == "Range":
            out = np.arange(x[0], x[1], x[2]).astype(x[0].dtype)
        else:
            raise NotImplementedError("onnx_numpy: operator %s is not implemented" % op)
        outs = out if isinstance(out, list) else [out]
        for name, v in zip(node.output, outs):
            env[name] = np.asarray(v)
    return {o.name: env[o.name] for o in g.output}

#!/usr/bin/env python3
"""An ONNX model as a PyTorch module, for benchmarking models we only have as ONNX files.

convert(onnx_model) returns a torch.fx.GraphModule that runs each ONNX node, in the graph's
topological order, as the PyTorch op a PyTorch implementation of the model would call
(torch.nn.functional.conv2d for Conv, so cuDNN runs the convolutions as in PyTorch; F.silu for
the x * sigmoid(x) pairs that exporters write for nn.SiLU). Float initializers become buffers,
so .cuda() and .half() move and convert them like a PyTorch model's weights; integer
initializers that are operator arguments (Reshape targets, Slice bounds, Resize scales...)
become Python constants, and nodes whose inputs are all constants are evaluated once, at
conversion. What remains is straight-line tensor code (the GraphModule's `code`), with no
Python control flow on tensor values, so torch.compile, CUDA graph capture and .half() work.

Batch: a model exported at a static batch B (YOLOX-nano: 1) has B written into its Reshape
targets ([1, 85, -1]). Where a Reshape's input depends on the graph input, its inferred dim 0
is B and its target's dim 0 is B, the module reshapes to the input's actual batch
(x.shape[0]) instead, so the module runs at any batch. rebatch_onnx() makes the same change in
the ONNX file itself (input and output dim 0, those Reshape targets, a Resize's `sizes`), for
engines that need a static file per batch. check() verifies both against ONNX Runtime.

Limits: no Shape/Gather shape arithmetic on run-time shapes (simplify such a model with
onnxsim at a static shape first), no Loop/If/Scan, and float-to-float
Cast is a no-op (the module's precision is whatever .half()/.float() made it).

  python bench/onnx_to_torch.py ../shared/models/yolox_nano.onnx --check --batches=1,8 \\
      [--write-onnx=yolox_nano_b8.onnx --batch=8] [--print-code] [--compile]
"""
import argparse
import math
import re
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper, shape_inference

INT_MAX = 2**62  # Slice ends beyond this mean "to the end"
CONVERTERS = {}  # op_type -> (function(ctx, *inputs), indices of inputs that must be constants)


def converter(*op_types, static=()):
    def register(fn):
        for t in op_types:
            CONVERTERS[t] = (fn, frozenset(static))
        return fn
    return register


class Ctx:
    """What a converter knows of its node besides the input tensors: attributes, opset, the
    inputs' inferred static shapes (None where unknown) and whether each input carries the
    model's batch in dim 0."""

    def __init__(self, node, attrs, opset, shapes, dtypes, batched, static_batch):
        self.node, self.attrs, self.opset = node, attrs, opset
        self.shapes, self.dtypes = shapes, dtypes  # per input; None where unknown
        self.batched, self.static_batch = batched, static_batch

    def attr(self, name, default=None):
        return self.attrs.get(name, default)

    def rank(self, i, x=None):
        if self.shapes[i] is not None:
            return len(self.shapes[i])
        if isinstance(x, torch.Tensor) and not isinstance(x, torch.fx.Proxy):
            return x.dim()
        raise NotImplementedError(f"{self.where()}: rank of input {i} is unknown")

    def where(self):
        return f"{self.node.op_type} '{self.node.name}'"


def _ints(v):
    return [int(i) for i in np.asarray(v).reshape(-1)]


# ---------------------------------------------------------------- elementwise and activations
_UNARY = {"Relu": F.relu, "Sigmoid": torch.sigmoid, "Tanh": torch.tanh, "Exp": torch.exp,
          "Log": torch.log, "Sqrt": torch.sqrt, "Neg": torch.neg, "Abs": torch.abs,
          "Erf": torch.erf, "Floor": torch.floor, "Ceil": torch.ceil,
          "Reciprocal": torch.reciprocal, "Softplus": F.softplus, "Not": torch.logical_not,
          "HardSwish": F.hardswish, "SiLU": F.silu}
_BINARY = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Pow": torch.pow,
           "Equal": torch.eq, "Less": torch.lt, "Greater": torch.gt, "And": torch.logical_and,
           "Or": torch.logical_or}


def _unary(fn):
    return lambda c, x: fn(x)


def _binary(fn):
    return lambda c, a, b: fn(a, b)


for _t, _f in _UNARY.items():
    converter(_t)(_unary(_f))
for _t, _f in _BINARY.items():
    converter(_t)(_binary(_f))


@converter("Identity", "Dropout")
def _identity(c, x, *unused):
    return x


@converter("Div")
def _div(c, a, b):
    integer = c.dtypes[0] is not None and np.issubdtype(c.dtypes[0], np.integer)
    return torch.div(a, b, rounding_mode="trunc") if integer else torch.div(a, b)


@converter("Max", "Min", "Sum")
def _variadic(c, *xs):
    fn = {"Max": torch.maximum, "Min": torch.minimum, "Sum": torch.add}[c.node.op_type]
    out = xs[0]
    for x in xs[1:]:
        out = fn(out, x)
    return out


@converter("Where")
def _where(c, cond, a, b):
    return torch.where(cond, a, b)


@converter("LeakyRelu")
def _leaky_relu(c, x):
    return F.leaky_relu(x, c.attr("alpha", 0.01))


@converter("Elu")
def _elu(c, x):
    return F.elu(x, c.attr("alpha", 1.0))


@converter("HardSigmoid")
def _hard_sigmoid(c, x):
    alpha, beta = c.attr("alpha", 0.2), c.attr("beta", 0.5)
    if abs(alpha - 1 / 6) < 1e-7 and beta == 0.5:
        return F.hardsigmoid(x)  # what torch.nn.Hardsigmoid exports to
    return torch.clamp(x * alpha + beta, 0, 1)


@converter("Gelu")
def _gelu(c, x):
    return F.gelu(x, approximate=c.attr("approximate", b"none").decode())


@converter("Clip", static=(1, 2))
def _clip(c, x, lo=None, hi=None):
    if c.opset < 11:
        lo, hi = c.attr("min"), c.attr("max")
    lo = None if lo is None else float(np.asarray(lo))
    hi = None if hi is None else float(np.asarray(hi))
    if lo == 0 and hi == 6:
        return F.relu6(x)
    return torch.clamp(x, lo, hi)


@converter("Cast")
def _cast(c, x):
    to = helper.tensor_dtype_to_np_dtype(c.attr("to"))
    if np.issubdtype(to, np.floating) and (c.dtypes[0] is None
                                           or np.issubdtype(c.dtypes[0], np.floating)):
        return x  # float precision follows the module (.half() / .float())
    return x.to(getattr(torch, np.dtype(to).name if to != np.bool_ else "bool"))


@converter("Softmax", "LogSoftmax")
def _softmax(c, x):
    fn = F.softmax if c.node.op_type == "Softmax" else F.log_softmax
    rank = c.rank(0, x)
    axis = c.attr("axis", -1 if c.opset >= 13 else 1) % rank
    if c.opset >= 13 or axis == rank - 1:
        return fn(x, dim=axis)
    return fn(x.flatten(axis), dim=-1).reshape(x.shape)  # opset < 13: over dims axis..end


# ------------------------------------------------------------------ convolution, GEMM, norms
def _pads(c, x, spatial):
    """(symmetric padding per spatial dim, or None, F.pad list for asymmetric padding)."""
    auto = c.attr("auto_pad", b"NOTSET").decode()
    pads = list(c.attr("pads", [0] * (2 * spatial)))
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        shape = c.shapes[0]
        if shape is None or any(d is None for d in shape[2:]):
            raise NotImplementedError(f"{c.where()}: auto_pad needs static spatial dims")
        kernel = c.attr("kernel_shape")
        strides = c.attr("strides", [1] * spatial)
        dil = c.attr("dilations", [1] * spatial)
        for i in range(spatial):
            out = -(-shape[2 + i] // strides[i])
            total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - shape[2 + i])
            small, big = total // 2, total - total // 2
            pads[i], pads[i + spatial] = (small, big) if auto == "SAME_UPPER" else (big, small)
    elif auto == "VALID":
        pads = [0] * (2 * spatial)
    begin, end = pads[:spatial], pads[spatial:]
    if begin == end:
        return begin, None
    explicit = []
    for i in reversed(range(spatial)):
        explicit += [begin[i], end[i]]
    return [0] * spatial, explicit


@converter("Conv")
def _conv(c, x, w, b=None):
    spatial = w.dim() - 2 if not isinstance(w, torch.fx.Proxy) else len(c.shapes[1]) - 2
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[spatial]
    padding, explicit = _pads(c, x, spatial)
    if explicit:
        x = F.pad(x, explicit)
    return fn(x, w, b, stride=c.attr("strides", [1] * spatial), padding=padding,
              dilation=c.attr("dilations", [1] * spatial), groups=c.attr("group", 1))


@converter("ConvTranspose")
def _conv_transpose(c, x, w, b=None):
    spatial = len(c.shapes[1]) - 2
    if c.attr("output_shape") is not None or c.attr("auto_pad", b"NOTSET") != b"NOTSET":
        raise NotImplementedError(f"{c.where()}: output_shape/auto_pad")
    pads = c.attr("pads", [0] * (2 * spatial))
    if pads[:spatial] != pads[spatial:]:
        raise NotImplementedError(f"{c.where()}: asymmetric pads")
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[spatial]
    return fn(x, w, b, stride=c.attr("strides", [1] * spatial), padding=pads[:spatial],
              output_padding=c.attr("output_padding", [0] * spatial),
              groups=c.attr("group", 1), dilation=c.attr("dilations", [1] * spatial))


@converter("Gemm")
def _gemm(c, a, b, bias=None):
    alpha, beta = c.attr("alpha", 1.0), c.attr("beta", 1.0)
    if c.attr("transA", 0):
        a = a.t()
    if c.attr("transB", 0) and alpha == 1 and beta == 1:
        return F.linear(a, b, bias)  # what torch.nn.Linear exports to
    out = a @ (b.t() if c.attr("transB", 0) else b)
    out = out * alpha if alpha != 1 else out
    return out if bias is None else torch.add(out, bias, alpha=beta)  # bias may be a buffer


@converter("MatMul")
def _matmul(c, a, b):
    return torch.matmul(a, b)


@converter("BatchNormalization")
def _batch_norm(c, x, scale, bias, mean, var):
    return F.batch_norm(x, mean, var, scale, bias, False, 0.0, c.attr("epsilon", 1e-5))


@converter("LayerNormalization")
def _layer_norm(c, x, scale, bias=None):
    axis = c.attr("axis", -1) % c.rank(0, x)
    shape = c.shapes[0][axis:]
    if any(d is None for d in shape):
        raise NotImplementedError(f"{c.where()}: normalized dims must be static")
    return F.layer_norm(x, shape, scale, bias, c.attr("epsilon", 1e-5))


# ------------------------------------------------------------------------------------ pooling
@converter("MaxPool", "AveragePool")
def _pool(c, x):
    kernel = c.attr("kernel_shape")
    spatial = len(kernel)
    if c.attr("dilations", [1] * spatial) != [1] * spatial or len(c.node.output) > 1:
        raise NotImplementedError(f"{c.where()}: dilations or Indices output")
    padding, explicit = _pads(c, x, spatial)
    strides, ceil = c.attr("strides", [1] * spatial), bool(c.attr("ceil_mode", 0))
    if c.node.op_type == "MaxPool":
        if explicit:
            x = F.pad(x, explicit, value=-math.inf)
        fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[spatial]
        return fn(x, kernel, strides, padding, ceil_mode=ceil)
    if explicit:
        raise NotImplementedError(f"{c.where()}: asymmetric pads")
    fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[spatial]
    return fn(x, kernel, strides, padding, ceil_mode=ceil,
              count_include_pad=bool(c.attr("count_include_pad", 0)))


@converter("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(c, x):
    dims = list(range(2, c.rank(0, x)))
    if c.node.op_type == "GlobalAveragePool":
        return torch.mean(x, dim=dims, keepdim=True)
    return torch.amax(x, dim=dims, keepdim=True)


@converter("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", static=(1,))
def _reduce(c, x, axes=None):
    new_style = c.opset >= (13 if c.node.op_type == "ReduceSum" else 18)
    axes = _ints(axes) if new_style and axes is not None else c.attr("axes")
    if axes is None and new_style and c.attr("noop_with_empty_axes", 0):
        return x
    dims = list(range(c.rank(0, x))) if not axes else axes
    keep = bool(c.attr("keepdims", 1))
    fn = {"ReduceMean": torch.mean, "ReduceSum": torch.sum, "ReduceMax": torch.amax,
          "ReduceMin": torch.amin}[c.node.op_type]
    return fn(x, dim=dims, keepdim=keep)


# ------------------------------------------------------------------------ shape and indexing
@converter("Reshape", static=(1,))
def _reshape(c, x, shape):
    shape = _ints(shape)
    if (c.batched[0] and shape and c.static_batch is not None and shape[0] == c.static_batch
            and c.shapes[0] and c.shapes[0][0] == c.static_batch):
        shape[0] = x.shape[0]  # the model's static batch: use the input's actual batch
    if not c.attr("allowzero", 0):
        shape = [x.shape[i] if isinstance(d, int) and d == 0 else d for i, d in enumerate(shape)]
    return torch.reshape(x, shape)


@converter("Flatten")
def _flatten(c, x):
    axis = c.attr("axis", 1) % max(c.rank(0, x), 1)
    if axis == 0:
        return x.reshape(1, -1)
    return torch.flatten(torch.flatten(x, axis), 0, axis - 1)


@converter("Transpose")
def _transpose(c, x):
    perm = c.attr("perm") or list(reversed(range(c.rank(0, x))))
    return x.permute(*perm)


@converter("Concat")
def _concat(c, *xs):
    return torch.cat([x for x in xs], dim=c.attr("axis"))


@converter("Split", static=(1,))
def _split(c, x, split=None):
    axis = c.attr("axis", 0)
    sizes = _ints(split) if split is not None else c.attr("split")
    if sizes is None:
        dim = c.shapes[0][axis] if c.shapes[0] else None
        if dim is None:
            raise NotImplementedError(f"{c.where()}: split sizes need a static dim")
        parts = len(c.node.output)
        sizes = [-(-dim // parts)] * (parts - 1)
        sizes.append(dim - sum(sizes))
    parts = torch.split(x, sizes, dim=axis)
    return tuple(parts[i] for i in range(len(sizes)))  # fx cannot iterate a traced result


@converter("Slice", static=(1, 2, 3, 4))
def _slice(c, x, starts=None, ends=None, axes=None, steps=None):
    if c.opset < 10:
        starts, ends, axes = c.attr("starts"), c.attr("ends"), c.attr("axes")
    starts, ends = _ints(starts), _ints(ends)
    axes = _ints(axes) if axes is not None else list(range(len(starts)))
    steps = _ints(steps) if steps is not None else [1] * len(starts)
    rank = c.rank(0, x)
    index = [slice(None)] * rank
    for s, e, a, st in zip(starts, ends, axes, steps):
        a %= rank
        if st < 0:  # torch slicing has no negative steps: slice the flipped axis
            dim = c.shapes[0][a] if c.shapes[0] else None
            if not isinstance(x, torch.fx.Proxy):
                dim = x.shape[a]
            if dim is None:
                raise NotImplementedError(f"{c.where()}: negative step on a dynamic dim")
            start, stop, _ = slice(s, e, st).indices(dim)  # ONNX clamps as Python does
            x = x.flip(a)
            s, e, st = dim - 1 - start, dim - 1 - stop, -st
        s = None if s <= -INT_MAX else s
        e = None if e >= INT_MAX else e
        index[a] = slice(s, e, st)
    return x[tuple(index)]


@converter("Squeeze", static=(1,))
def _squeeze(c, x, axes=None):
    axes = _ints(axes) if axes is not None else c.attr("axes")
    if axes is None:
        shape = c.shapes[0]
        if shape is None or None in shape:
            raise NotImplementedError(f"{c.where()}: Squeeze without axes needs static dims")
        axes = [i for i, d in enumerate(shape) if d == 1 and not (i == 0 and c.batched[0])]
    rank = c.rank(0, x)
    for a in sorted((a % rank for a in axes), reverse=True):
        x = x.squeeze(a)
    return x


@converter("Unsqueeze", static=(1,))
def _unsqueeze(c, x, axes=None):
    axes = _ints(axes) if axes is not None else c.attr("axes")
    out_rank = c.rank(0, x) + len(axes)
    for a in sorted(a % out_rank for a in axes):
        x = x.unsqueeze(a)
    return x


@converter("Expand", static=(1,))
def _expand(c, x, shape):
    shape = _ints(shape)
    rank = max(len(shape), c.rank(0, x))
    shape = [1] * (rank - len(shape)) + shape
    return x.expand(*[-1 if d == 1 else d for d in shape]) if c.rank(0, x) == rank \
        else x * torch.ones(shape, dtype=x.dtype, device=x.device)


@converter("Gather")
def _gather(c, x, idx):
    axis = c.attr("axis", 0) % c.rank(0, x)
    return x[(slice(None),) * axis + (idx,)]


@converter("Pad", static=(1, 2, 3))
def _pad(c, x, pads=None, value=None, axes=None):
    if c.opset < 11:
        pads, value = c.attr("pads"), c.attr("value", 0.0)
    pads, rank = _ints(pads), c.rank(0, x)
    axes = [a % rank for a in _ints(axes)] if axes is not None else list(range(rank))
    n = len(axes)
    begin = dict(zip(axes, pads[:n]))
    end = dict(zip(axes, pads[n:]))
    explicit = []
    for d in reversed(range(rank)):
        explicit += [begin.get(d, 0), end.get(d, 0)]
    while explicit and explicit[-1] == 0 and explicit[-2] == 0:
        explicit = explicit[:-2]
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}[
        c.attr("mode", b"constant").decode()]
    if not explicit:
        return x
    if mode != "constant":
        return F.pad(x, explicit, mode=mode)
    return F.pad(x, explicit, value=0.0 if value is None else float(np.asarray(value)))


@converter("Resize", "Upsample", static=(1, 2, 3))
def _resize(c, x, *args):
    if c.node.op_type == "Upsample" or c.opset < 11:
        scales, sizes, cmode = args[0], None, "asymmetric"
    else:
        scales = args[1] if len(args) > 1 else None
        sizes = args[2] if len(args) > 2 else None
        cmode = c.attr("coordinate_transformation_mode", b"half_pixel").decode()
    mode = c.attr("mode", b"nearest").decode()
    nearest = c.attr("nearest_mode", b"round_prefer_floor").decode()
    spatial = c.rank(0, x) - 2
    kwargs = {}
    if sizes is not None and np.asarray(sizes).size:
        kwargs["size"] = _ints(sizes)[2:]
    else:
        s = [float(v) for v in np.asarray(scales).reshape(-1)]
        if s[:2] != [1.0, 1.0]:
            raise NotImplementedError(f"{c.where()}: scaling batch or channels")
        kwargs["scale_factor"] = s[2:]
    if mode == "nearest" and (cmode == "asymmetric" and nearest == "floor"):
        return F.interpolate(x, mode="nearest", **kwargs)
    if mode == "nearest" and cmode in ("half_pixel", "pytorch_half_pixel") \
            and nearest == "round_prefer_ceil":
        return F.interpolate(x, mode="nearest-exact", **kwargs)
    torch_mode = {("linear", 1): "linear", ("linear", 2): "bilinear",
                  ("linear", 3): "trilinear", ("cubic", 2): "bicubic"}.get((mode, spatial))
    if torch_mode and cmode in ("half_pixel", "pytorch_half_pixel", "align_corners"):
        return F.interpolate(x, mode=torch_mode, align_corners=cmode == "align_corners",
                             **kwargs)
    raise NotImplementedError(f"{c.where()}: mode {mode}, {cmode}, {nearest}")


@converter("ConstantOfShape", static=(0,))
def _constant_of_shape(c, shape):
    value = c.attr("value")
    array = numpy_helper.to_array(value) if value is not None else np.zeros(1, np.float32)
    return torch.from_numpy(np.full(_ints(shape), array.reshape(-1)[0], dtype=array.dtype))


# ------------------------------------------------------------------------------ conversion
def _attrs(node):
    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = list(v) if isinstance(v, (list, tuple)) or type(v).__name__.startswith(
            "Repeated") else v
    return out


def _constant_value(node):
    a = _attrs(node)
    if "value" in a:
        return numpy_helper.to_array(a["value"])
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32),
                       ("value_int", np.int64), ("value_ints", np.int64)):
        if key in a:
            return np.array(a[key], dtype=dtype)
    raise NotImplementedError(f"Constant '{node.name}': attributes {sorted(a)}")


def _static_shapes(model, with_dtypes=False):
    """value name -> list of dims (int or None), and value name -> numpy dtype, from ONNX
    shape inference."""
    inferred = shape_inference.infer_shapes(model)
    shapes, dtypes = {}, {}
    g = inferred.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        t = vi.type.tensor_type
        if t.elem_type:
            dtypes[vi.name] = helper.tensor_dtype_to_np_dtype(t.elem_type)
        if t.HasField("shape"):
            shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None
                               for d in t.shape.dim]
    for t in g.initializer:
        shapes[t.name] = list(t.dims)
        dtypes[t.name] = helper.tensor_dtype_to_np_dtype(t.data_type)
    return (shapes, dtypes) if with_dtypes else shapes


def topological_order(graph, available):
    """Nodes in an order where each runs after its inputs' producers (stable otherwise)."""
    ready, pending, order = set(available), list(graph.node), []
    while pending:
        progressed, rest = False, []
        for n in pending:
            if all(i == "" or i in ready for i in n.input):
                order.append(n)
                ready.update(n.output)
                progressed = True
            else:
                rest.append(n)
        if not progressed:
            raise ValueError(f"graph has a cycle or an undefined input at node "
                             f"{rest[0].op_type} '{rest[0].name}'")
        pending = rest
    return order


def _silu_pairs(nodes, graph_outputs):
    """Sigmoid nodes whose only use is Mul(x, Sigmoid(x)): {id(mul node): sigmoid node}."""
    users = {}
    for n in nodes:
        for i in n.input:
            users.setdefault(i, []).append(n)
    pairs = {}
    for n in nodes:
        if n.op_type != "Sigmoid" or n.output[0] in graph_outputs:
            continue
        use = users.get(n.output[0], [])
        if len(use) == 1 and use[0].op_type == "Mul" and sorted(use[0].input) == sorted(
                [n.input[0], n.output[0]]):
            pairs[id(use[0])] = n
    return pairs


class _Program(torch.nn.Module):
    """Interprets the converted node list; convert() traces it into straight-line code."""

    def __init__(self, steps, input_names, output_names):
        super().__init__()
        self.steps, self.input_names, self.output_names = steps, input_names, output_names

    def run(self, *inputs):
        env = dict(zip(self.input_names, inputs))
        for fn, ctx, refs, outs in self.steps:
            args = [None if r is None else (env[r[1]] if r[0] == "value" else
                    getattr(self, r[1]) if r[0] == "param" else r[1]) for r in refs]
            while args and args[-1] is None:
                args.pop()
            result = fn(ctx, *args)
            for name, v in zip(outs, result if isinstance(result, tuple) else (result,)):
                env[name] = v
        outputs = tuple(env[name] for name in self.output_names)
        return outputs[0] if len(outputs) == 1 else outputs


def convert(model, fuse_silu=True, trace=True):
    """ONNX ModelProto (or path) -> torch.nn.Module (a torch.fx.GraphModule if `trace`) taking
    the graph inputs positionally, returning one tensor or a tuple in graph output order."""
    if isinstance(model, str):
        model = onnx.load(model)
    g = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    inputs = [i.name for i in g.input if i.name not in consts]
    outputs = [o.name for o in g.output]
    shapes, dtypes = _static_shapes(model, with_dtypes=True)
    first = shapes.get(inputs[0]) if inputs else None
    static_batch = first[0] if first else None
    batched = {name: True for name in inputs}
    nodes = topological_order(g, list(consts) + inputs)
    silu = _silu_pairs(nodes, set(outputs)) if fuse_silu else {}
    skipped = {id(s) for s in silu.values()}

    program = _Program([], inputs, outputs)
    params = {}  # constant value name -> buffer attribute name

    def param(name):
        if name not in params:
            attr = f"c{len(params)}_" + re.sub(r"\W", "_", name)[-40:]
            program.register_buffer(attr, torch.from_numpy(np.array(consts[name])))
            params[name] = attr
        return ("param", params[name])

    for n in nodes:
        if id(n) in skipped:
            continue
        op_type = "SiLU" if id(n) in silu else n.op_type
        if op_type == "Constant":
            consts[n.output[0]] = _constant_value(n)
            continue
        if op_type not in CONVERTERS:
            raise NotImplementedError(f"{n.op_type} '{n.name}': no converter")
        fn, static = CONVERTERS[op_type]
        ins = [silu[id(n)].input[0]] if op_type == "SiLU" else list(n.input)
        ctx = Ctx(n, _attrs(n), opset, [shapes.get(i) for i in ins],
                  [dtypes.get(i) for i in ins], [batched.get(i, False) for i in ins],
                  static_batch)
        if all(i == "" or i in consts for i in ins):  # fold at conversion time
            args = [None if i == "" else (consts[i] if k in static else torch.from_numpy(
                np.array(consts[i]))) for k, i in enumerate(ins)]
            while args and args[-1] is None:
                args.pop()
            result = fn(ctx, *args)
            for name, v in zip(n.output, result if isinstance(result, tuple) else (result,)):
                consts[name] = v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
            continue
        refs = []
        for k, i in enumerate(ins):
            if i == "":
                refs.append(None)
            elif i in consts:
                refs.append(("const", consts[i]) if k in static else param(i))
            elif k in static:
                raise NotImplementedError(f"{n.op_type} '{n.name}': input {k} ('{i}') is "
                                          "computed at run time; simplify the model first")
            else:
                refs.append(("value", i))
        program.steps.append((fn, ctx, refs, list(n.output)))
        for o in n.output:
            batched[o] = any(ctx.batched)
    missing = [o for o in outputs if o in consts]
    if missing:
        raise NotImplementedError(f"constant graph outputs {missing}")
    # forward(self, <one argument per graph input>): fx traces a fixed signature only
    args = ", ".join(f"x{i}_" + re.sub(r"\W", "_", name) for i, name in enumerate(inputs))
    scope = {}
    exec(f"def forward(self, {args}):\n    return self.run({args})\n", scope)
    program.__class__ = type("OnnxProgram", (_Program,), {"forward": scope["forward"]})
    if not trace:
        return program.eval()
    return torch.fx.symbolic_trace(program).eval()


def rebatch_onnx(model, batch):
    """A copy of `model` (static batch B in dim 0 of its inputs) at batch `batch`: graph input
    and output dim 0, Reshape targets and Resize `sizes` that carry B for a batch-dependent
    input (as convert() decides), re-run shape inference. Check the result with check()."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    g = model.graph
    consts = {t.name: t for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant" and _attrs(n).get("value") is not None:
            consts[n.output[0]] = _attrs(n)["value"]
    inputs = [i for i in g.input if i.name not in consts]
    shapes = _static_shapes(model)
    old = shapes[inputs[0].name][0]
    if old is None:
        raise ValueError("the model's batch is not static")
    depends = {i.name for i in inputs}
    replaced = set()
    for n in topological_order(g, list(consts) + list(depends)):
        if any(i in depends for i in n.input):
            depends.update(n.output)
        # which input carries the batch: Reshape's shape (1), Resize's sizes (3)
        k = {"Reshape": 1, "Resize": 3}.get(n.op_type)
        if k is None or len(n.input) <= k or n.input[k] not in consts:
            continue
        data_shape = shapes.get(n.input[0])
        if n.input[0] not in depends or not data_shape or data_shape[0] != old:
            continue
        target = numpy_helper.to_array(consts[n.input[k]]).copy()
        if target.size == 0 or target.reshape(-1)[0] != old:
            continue
        target.reshape(-1)[0] = batch
        name = f"{n.input[k]}_batch{batch}_{n.name}"
        g.initializer.append(numpy_helper.from_array(target, name))
        replaced.add(n.input[k])
        n.input[k] = name
    used = {i for n in g.node for i in n.input}
    for t in [t for t in g.initializer if t.name in replaced and t.name not in used]:
        g.initializer.remove(t)
    for v in list(inputs) + list(g.output):
        dims = v.type.tensor_type.shape.dim
        if dims and dims[0].HasField("dim_value") and dims[0].dim_value == old:
            dims[0].dim_value = batch
    del g.value_info[:]
    return shape_inference.infer_shapes(model, check_type=True, strict_mode=True)


# ---------------------------------------------------------------------------------- checking
def rel_l2(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def _ort_run(model, feeds):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _torch_run(module, xs):
    with torch.no_grad():
        out = module(*[torch.from_numpy(x) for x in xs])
    return [t.numpy() for t in (out if isinstance(out, tuple) else (out,))]


def check(model, batches=(1, 8), low=-1.0, high=1.0, seed=0, compile_module=False, log=print):
    """Compares convert(model) with ONNX Runtime (CPU provider, no graph optimizations) on
    seeded uniform [low, high) inputs: at the file's batch, item by item (and the module in
    float64 too, which shows the conversion's own error apart from float32 rounding); at each
    other batch, each item against its batch-1 result, and the rebatch_onnx() file in ORT
    against ORT at batch 1. Returns {check description: max relative L2 error}."""
    module = convert(model)
    g = model.graph
    weights = {t.name for t in g.initializer}
    ins = [i for i in g.input if i.name not in weights]
    base = [[d.dim_value or 1 for d in i.type.tensor_type.shape.dim] for i in ins]
    symbolic = not ins[0].type.tensor_type.shape.dim[0].HasField("dim_value")
    rng = np.random.default_rng(seed)
    top = max(batches)
    full = [rng.uniform(low, high, [top] + s[1:]).astype(np.float32) for s in base]
    singles_ort = [_ort_run(model, {i.name: x[b:b + 1] for i, x in zip(ins, full)})
                   for b in range(top)]
    singles_torch = [_torch_run(module, [x[b:b + 1] for x in full]) for b in range(top)]
    results = {}

    def report(what, errors):
        results[what] = max(errors)
        log(f"{what}: max relative L2 error {max(errors):.3g}")

    report(f"batch 1, float32 module vs onnxruntime ({top} inputs)",
           [rel_l2(t, o) for ts, os_ in zip(singles_torch, singles_ort) for t, o in zip(ts, os_)])
    double = convert(model).double()
    with torch.no_grad():
        out64 = [double(*[torch.from_numpy(x[b:b + 1]).double() for x in full])
                 for b in range(top)]
    out64 = [[t.numpy() for t in (o if isinstance(o, tuple) else (o,))] for o in out64]
    report(f"batch 1, float64 module vs onnxruntime float32 ({top} inputs)",
           [rel_l2(o, d) for ds, os_ in zip(out64, singles_ort) for d, o in zip(ds, os_)])
    if compile_module:
        compiled = torch.compile(module)
        comp = [_torch_run(compiled, [x[b:b + 1] for x in full]) for b in range(2)]
        report("batch 1, torch.compile vs eager",
               [rel_l2(c, t) for cs, ts in zip(comp, singles_torch) for c, t in zip(cs, ts)])
    for batch in batches:
        if batch == base[0][0]:
            continue
        xs = [x[:batch] for x in full]
        out = _torch_run(module, xs)
        report(f"batch {batch}, float32 module, each item vs batch 1",
               [rel_l2(o[b], singles_torch[b][k][0]) for k, o in enumerate(out)
                for b in range(batch)])
        rebatched = model if symbolic else rebatch_onnx(model, batch)
        onnx.checker.check_model(rebatched)
        ort_out = _ort_run(rebatched, {i.name: x for i, x in zip(ins, xs)})
        report(f"batch {batch}, rebatched ONNX in onnxruntime, each item vs batch 1",
               [rel_l2(o[b], singles_ort[b][k][0]) for k, o in enumerate(ort_out)
                for b in range(batch)])
        report(f"batch {batch}, float32 module vs rebatched ONNX in onnxruntime",
               [rel_l2(t, o) for t, o in zip(out, ort_out)])
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("onnx")
    ap.add_argument("--check", action="store_true", help="compare with ONNX Runtime (CPU)")
    ap.add_argument("--batches", default="1,8", help="batches for --check")
    ap.add_argument("--tolerance", type=float, default=1e-5)
    ap.add_argument("--input-range", default="-1,1",
                    help="uniform input range for --check (YOLOX takes pixels: 0,255)")
    ap.add_argument("--compile", action="store_true", help="--check torch.compile too (slow)")
    ap.add_argument("--print-code", action="store_true", help="print the generated forward")
    ap.add_argument("--write-onnx", help="write the model rebatched to --batch here")
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    model = onnx.load(args.onnx)
    module = convert(model)
    steps = sum(1 for n in module.graph.nodes if n.op == "call_function")
    print(f"{args.onnx}: {len(model.graph.node)} ONNX nodes -> {steps} torch calls")
    if args.print_code:
        print(module.code)
    status = 0
    if args.check:
        low, high = (float(v) for v in args.input_range.split(","))
        worst = max(check(model, [int(b) for b in args.batches.split(",")], low, high,
                          compile_module=args.compile).values())
        ok = worst <= args.tolerance
        print(f"{'PASSED' if ok else 'FAILED'}: worst relative L2 error {worst:.3g} "
              f"(tolerance {args.tolerance:g})")
        status = 0 if ok else 1
    if args.write_onnx:
        onnx.save(rebatch_onnx(model, args.batch), args.write_onnx)
        print(f"wrote {args.write_onnx} at batch {args.batch}")
    return status


if __name__ == "__main__":
    sys.exit(main())

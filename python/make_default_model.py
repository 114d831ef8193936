#!/usr/bin/env python3
"""Writes tarmac's default model: a small single-stage camera detector built with onnx.helper.

The network is tarmac's own (seeded random weights, nothing downloaded): a strided conv
backbone with BatchNormalization, SiLU, HardSwish, a depthwise block and max pooling, a
nearest-neighbour upsampling neck with a skip connection, and a detection head whose
reshape target is computed by shape arithmetic (Shape -> Gather -> Concat -> Reshape), the
way exported detectors do it. Output: [1, anchors, 5 + classes] = (cx, cy, w, h, obj, cls...).
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NUM_CLASSES = 8  # apron objects: aircraft, tug, tractor, cart, loader, truck, person, cone


class Builder:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.count = 0

    def name(self, prefix):
        self.count += 1
        return f"{prefix}_{self.count}"

    def const(self, prefix, array):
        n = self.name(prefix)
        self.inits.append(numpy_helper.from_array(array, n))
        return n

    def node(self, op, inputs, prefix=None, **attrs):
        out = self.name(prefix or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def conv_bn(self, x, cin, cout, k=3, stride=1, group=1, act="silu"):
        fan_in = cin // group * k * k
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // group, k, k)).astype(np.float32)
        y = self.node("Conv", [x, self.const("w", w)], "conv", kernel_shape=[k, k],
                      strides=[stride, stride], pads=[k // 2] * 4, group=group)
        bn = [self.rng.uniform(0.5, 1.5, cout), self.rng.normal(0, 0.1, cout),
              self.rng.normal(0, 0.1, cout), self.rng.uniform(0.5, 2.0, cout)]
        y = self.node("BatchNormalization", [y] + [self.const("bn", a.astype(np.float32)) for a in bn],
                      "bn", epsilon=1e-5)
        if act == "silu":
            return self.node("Mul", [y, self.node("Sigmoid", [y])], "silu")
        if act == "hardswish":
            return self.node("HardSwish", [y])
        return self.node("Relu", [y])


def build(seed, size):
    b = Builder(seed)
    x = "images"
    c1 = b.conv_bn(x, 3, 16, stride=2)                            # /2
    c2 = b.conv_bn(c1, 16, 32, stride=2, act="relu")              # /4
    c2 = b.conv_bn(c2, 32, 32, group=32, act="relu")              # depthwise
    c2 = b.conv_bn(c2, 32, 32, k=1)                               # pointwise
    p3 = b.node("MaxPool", [c2], kernel_shape=[2, 2], strides=[2, 2])  # /8
    c3 = b.conv_bn(p3, 32, 64, act="hardswish")
    c4 = b.conv_bn(c3, 64, 64, stride=2)                          # /16
    scales = b.const("scales", np.array([1, 1, 2, 2], dtype=np.float32))
    up = b.node("Resize", [c4, "", scales], mode="nearest")       # back to /8
    neck = b.node("Concat", [up, c3], axis=1)
    neck = b.conv_bn(neck, 128, 64)
    head = b.node("Conv", [neck, b.const("w", b.rng.normal(0, 0.05, (5 + NUM_CLASSES, 64, 1, 1)).astype(np.float32)),
                           b.const("b", b.rng.normal(0, 0.1, 5 + NUM_CLASSES).astype(np.float32))],
                  "head", kernel_shape=[1, 1])
    # [1, 5+C, H, W] -> [1, 5+C, H*W] with the target shape computed from the tensor itself.
    shape = b.node("Shape", [head])
    batch = b.node("Gather", [shape, b.const("i", np.array([0], dtype=np.int64))], axis=0)
    chans = b.node("Gather", [shape, b.const("i", np.array([1], dtype=np.int64))], axis=0)
    target = b.node("Concat", [batch, chans, b.const("m1", np.array([-1], dtype=np.int64))], axis=0)
    flat = b.node("Reshape", [head, target])
    pred = b.node("Transpose", [flat], perm=[0, 2, 1])            # [1, anchors, 5+C]
    box = b.node("Slice", [pred, b.const("s", np.array([0], np.int64)), b.const("e", np.array([4], np.int64)),
                           b.const("a", np.array([2], np.int64))])
    score = b.node("Sigmoid", [b.node("Slice", [pred, b.const("s", np.array([4], np.int64)),
                                                b.const("e", np.array([5 + NUM_CLASSES], np.int64)),
                                                b.const("a", np.array([2], np.int64))])])
    b.nodes.append(helper.make_node("Concat", [box, score], ["detections"], name="detections", axis=2))
    anchors = (size // 8) ** 2
    graph = helper.make_graph(
        b.nodes, "tarmac_default_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("detections", TensorProto.FLOAT, [1, anchors, 5 + NUM_CLASSES])],
        b.inits)
    model = helper.make_model(graph, producer_name="tarmac", producer_version="0.1.0",
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output .onnx path")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=256, help="input height and width (multiple of 16)")
    args = ap.parse_args()
    if args.size % 16:
        ap.error("--size must be a multiple of 16")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    onnx.save(build(args.seed, args.size), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

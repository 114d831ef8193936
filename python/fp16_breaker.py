"""A small model built to break float16, for `tarmac compare` demonstrations and tests.

A shared stem feeds four branches; three outputs are wrong in float16, each for its own reason:
  features   - 'proj_up' writes activations above 1e5, beyond float16's 65504;
  total      - 'total_sum' adds 64 values of up to ~10^4 into one sum beyond 65504;
  normalized - 'offset' moves a signal of spread ~0.1 to 1000, where float16's resolution (0.5)
               leaves almost no variance, so the normalization divides ~0 by ~0;
  embedding  - an ordinary MLP that float16 computes well.
In float32 (and float64) every output is well inside float16's range.

Usage: python fp16_breaker.py OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BATCH, WIDTH = 4, 64


def build() -> onnx.ModelProto:
    rng = np.random.RandomState(0)
    def normal(name, scale, shape=(WIDTH, WIDTH)):
        return numpy_helper.from_array((rng.randn(*shape) * scale).astype(np.float32), name)

    inits = [
        normal("w_stem", 0.25),
        normal("b_stem", 0.1, (WIDTH,)),
        numpy_helper.from_array((4000 + 4000 * rng.rand(WIDTH, WIDTH)).astype(np.float32), "w_up"),
        numpy_helper.from_array((rng.randn(WIDTH, WIDTH) * 2e-6).astype(np.float32), "w_down"),
        normal("w_head", 0.1),
        numpy_helper.from_array(np.array(5000, np.float32), "gain"),
        numpy_helper.from_array(np.ones((WIDTH, 1), np.float32), "ones"),
        numpy_helper.from_array(np.array(1e-3, np.float32), "milli"),
        numpy_helper.from_array(np.array(0.1, np.float32), "spread"),
        numpy_helper.from_array(np.array(1000, np.float32), "level"),
        numpy_helper.from_array(np.array(1e-10, np.float32), "eps"),
        normal("w_mlp1", 0.2),
        normal("w_mlp2", 0.2),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w_stem"], ["stem_mm"], name="stem"),
        helper.make_node("Add", ["stem_mm", "b_stem"], ["stem_biased"], name="stem_bias"),
        helper.make_node("Relu", ["stem_biased"], ["h"], name="stem_relu"),
        # Overflowing activations.
        helper.make_node("MatMul", ["h", "w_up"], ["up"], name="proj_up"),
        helper.make_node("Relu", ["up"], ["up_relu"], name="proj_relu"),
        helper.make_node("MatMul", ["up_relu", "w_down"], ["down"], name="proj_down"),
        helper.make_node("MatMul", ["down", "w_head"], ["head"], name="head"),
        helper.make_node("Tanh", ["head"], ["features"], name="head_tanh"),
        # A large sum.
        helper.make_node("Mul", ["h", "gain"], ["gained"], name="gain_mul"),
        helper.make_node("MatMul", ["gained", "ones"], ["summed"], name="total_sum"),
        helper.make_node("Mul", ["summed", "milli"], ["total"], name="total_scale"),
        # A tiny variance on a large offset.
        helper.make_node("Mul", ["h", "spread"], ["narrow"], name="narrow"),
        helper.make_node("Add", ["narrow", "level"], ["shifted"], name="offset"),
        helper.make_node("ReduceMean", ["shifted"], ["mean"], name="mean", axes=[1], keepdims=1),
        helper.make_node("Sub", ["shifted", "mean"], ["centered"], name="center"),
        helper.make_node("Mul", ["centered", "centered"], ["squared"], name="square"),
        helper.make_node("ReduceMean", ["squared"], ["var"], name="variance", axes=[1], keepdims=1),
        helper.make_node("Add", ["var", "eps"], ["var_eps"], name="add_eps"),
        helper.make_node("Sqrt", ["var_eps"], ["std"], name="std"),
        helper.make_node("Div", ["centered", "std"], ["normalized"], name="normalize"),
        # An ordinary MLP.
        helper.make_node("MatMul", ["h", "w_mlp1"], ["mlp1_mm"], name="mlp1"),
        helper.make_node("Relu", ["mlp1_mm"], ["mlp1_relu"], name="mlp1_relu"),
        helper.make_node("MatMul", ["mlp1_relu", "w_mlp2"], ["embedding"], name="mlp2"),
    ]
    graph = helper.make_graph(
        nodes,
        "fp16_breaker",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [BATCH, WIDTH])],
        [
            helper.make_tensor_value_info("features", TensorProto.FLOAT, [BATCH, WIDTH]),
            helper.make_tensor_value_info("total", TensorProto.FLOAT, [BATCH, 1]),
            helper.make_tensor_value_info("normalized", TensorProto.FLOAT, [BATCH, WIDTH]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [BATCH, WIDTH]),
        ],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="tarmac-fp16-breaker")
    model.ir_version = 8  # opset 17's IR version, readable by older runtimes
    onnx.checker.check_model(model)
    return model


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    onnx.save(build(), sys.argv[1])
    print(f"wrote {sys.argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

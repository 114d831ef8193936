#!/usr/bin/env python3
"""CPU tests of the GPU benchmark scripts in bench/ (no GPU, no tarmac build needed).

- bench/onnx_to_torch.py: YOLOX-nano (../shared/models/yolox_nano.onnx) and a synthetic model
  covering the other converters, against ONNX Runtime (relative L2 <= 1e-5) at batch 1 and,
  item by item, at a larger batch, for the converted module and the rebatch_onnx() file; the
  converted YOLOX traces into one torch.compile graph (no graph breaks) and runs in float16.
- bench/roofline.py: the parsing of `tarmac run --exportProfile` JSON and each layer's FLOP
  and byte counts, checked against counts worked out by hand, on a SYNTHETIC profile written
  here (an NHWC and an NCHW convolution, NCHW and NHWC transposed convolutions, MatMul, Gemm,
  Reformat, Cast, Reshape and a fused elementwise layer; invented times), its report, and the
  `tarmac run` command it builds (with a FAKE tarmac script).
- bench/gpu_vs_pytorch.py: argument checks, the parsing of `tarmac run` output (again a FAKE
  log in run.cc's format), the batch-8 YOLOX file it gives tarmac, and its report.

  tests/bench/bench_scripts_test.py [--yolox=../shared/models/yolox_nano.onnx]
Exit 0: passed; 1: a failure; 77: torch, onnx or onnxruntime missing (skip).
"""
import argparse
import contextlib
import importlib.util
import io
import json
import os
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bench"))
sys.path.insert(0, os.path.join(REPO, "python"))
YOLOX = os.path.join(REPO, "..", "shared", "models", "yolox_nano.onnx")
TOLERANCE = 1e-5

# FAKE `tarmac run --device=cuda --useCudaGraph --profile` output, in tools/tarmac/run.cc's
# format, for parser tests only: the numbers are invented, nothing was run.
FAKE_PROFILE_LOG = """\
Model: yolox_nano.onnx (ai.onnx opset 11, 369 nodes, 4 layers)
Device: cuda, FAKE GPU; precision fp16; TF32 on; CUDA graph on
Memory: activations 1 bytes (lower bound 1, ratio 1.000), weights 1 bytes, workspace 0 bytes
Random inputs seed: 1
Input images: float32[1x3x416x416] random
Outputs:
  output: float32[1x3549x85] min 0 max 1 mean 0.5
    values: 0 1 ...
Latency: min = 1.000 ms, max = 1.000 ms, mean = 1.000 ms, median = 1.000 ms (10 iterations, \
host to host with transfers)
GPU compute: min = 0.400 ms, max = 0.500 ms, mean = 0.450 ms, median = 0.420 ms (10 iterations)
Per-layer GPU time (ms, each layer alone, median of 10 runs; total 0.600):
    0.2000  33.3%  Conv+Silu              Conv_41 + Sigmoid_42 + Mul_43
    0.1000  16.7%  Concat                 Concat_40
    0.0500   8.3%  SomethingNew           not_an_onnx_node
By layer type:
    0.2000  33.3%  Conv+Silu
"""


def synthetic_model():
    """Opset-14 model using most converters; Reshape and Resize `sizes` carry the batch."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(1)

    def const(name, a):
        return numpy_helper.from_array(np.asarray(a), name)

    w = lambda *s: rng.standard_normal(s).astype(np.float32) * 0.3  # noqa: E731
    inits = [const("w1", w(8, 4, 3, 3)), const("b1", w(8)), const("s", w(8) + 1),
             const("bb", w(8)), const("m", w(8)), const("v", np.abs(w(8)) + 0.5),
             const("scales", np.array([1, 1, 2, 2], np.float32)), const("wt", w(8, 4, 2, 2)),
             const("sizes", np.array([1, 4, 12, 12], np.int64)),
             const("st", np.array([-1], np.int64)), const("en", np.array([-2**63 + 1])),
             const("ax3", np.array([3], np.int64)), const("step", np.array([-1], np.int64)),
             const("split", np.array([3, 5], np.int64)),
             const("pads", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64)),
             const("padv", np.array(0.5, np.float32)), const("lo", np.array(0, np.float32)),
             const("hi", np.array(6, np.float32)), const("wg", w(5, 12)), const("bg", w(5)),
             const("shape", np.array([1, 4, 16], np.int64)), const("ax1", np.array([1])),
             const("wm", w(4, 3)), const("two", np.array(2, np.float32))]
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], pads=[0, 1, 1, 0], strides=[2, 2]),
        n("BatchNormalization", ["c1", "s", "bb", "m", "v"], ["bn"], epsilon=1e-3),
        n("Sigmoid", ["bn"], ["sg"]), n("Mul", ["bn", "sg"], ["silu"]),
        n("LeakyRelu", ["silu"], ["lr"], alpha=0.1),
        n("MaxPool", ["lr"], ["mp"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        n("Resize", ["mp", "", "scales"], ["up"], mode="nearest",
          coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        n("ConvTranspose", ["mp", "wt"], ["ct"], strides=[2, 2]),
        n("Resize", ["ct", "", "", "sizes"], ["rz"], mode="linear"),
        n("AveragePool", ["rz"], ["ap"], kernel_shape=[3, 3], strides=[3, 3],
          pads=[1, 1, 1, 1], count_include_pad=0),
        n("Slice", ["up", "st", "en", "ax3", "step"], ["sl"]),
        n("Split", ["sl", "split"], ["sp1", "sp2"], axis=1),
        n("Concat", ["sp2", "sp1"], ["cat"], axis=1),
        n("Pad", ["cat", "pads", "padv"], ["pd"]),
        n("Clip", ["pd", "lo", "hi"], ["cl"]), n("HardSwish", ["cl"], ["hs"]),
        n("HardSigmoid", ["hs"], ["hsg"], alpha=0.3, beta=0.4),
        n("ReduceMean", ["hsg"], ["rm"], axes=[2, 3], keepdims=1),
        n("GlobalAveragePool", ["ap"], ["gap"]),
        n("Concat", ["rm", "gap"], ["cat2"], axis=1), n("Flatten", ["cat2"], ["fl"]),
        n("Gemm", ["fl", "wg", "bg"], ["gm"], transB=1),
        n("Softmax", ["gm"], ["out1"], axis=-1),
        n("Reshape", ["ap", "shape"], ["rs"]), n("Transpose", ["rs"], ["tr"], perm=[0, 2, 1]),
        n("Unsqueeze", ["tr", "ax1"], ["us"]), n("Squeeze", ["us", "ax1"], ["sq"]),
        n("MatMul", ["sq", "wm"], ["mm"]), n("Div", ["mm", "two"], ["dv"]),
        n("Tanh", ["dv"], ["out2"])]
    graph = helper.make_graph(
        nodes, "synthetic", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("out1", TensorProto.FLOAT, [1, 5]),
         helper.make_tensor_value_info("out2", TensorProto.FLOAT, [1, 16, 3])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=8)


class OnnxToTorch(unittest.TestCase):
    def test_yolox_matches_onnxruntime_at_batch_1_and_8(self):
        import onnx
        import onnx_to_torch
        results = onnx_to_torch.check(onnx.load(YOLOX), (1, 8), low=0, high=255, log=print)
        for what, err in results.items():
            self.assertLessEqual(err, TOLERANCE, what)

    def test_synthetic_model_matches_onnxruntime(self):
        import onnx
        import onnx_to_torch
        model = synthetic_model()
        onnx.checker.check_model(model)
        results = onnx_to_torch.check(model, (1, 3), log=print)
        for what, err in results.items():
            self.assertLessEqual(err, TOLERANCE, what)
        code = onnx_to_torch.convert(model).code
        self.assertIn("silu", code)  # Sigmoid + Mul ran as F.silu

    def test_yolox_traces_without_graph_breaks_and_runs_in_half(self):
        import onnx
        import torch
        import onnx_to_torch
        module = onnx_to_torch.convert(onnx.load(YOLOX))
        x = torch.rand(2, 3, 416, 416) * 255
        explain = torch._dynamo.explain(module)(x)
        self.assertEqual(explain.graph_break_count, 0)
        self.assertEqual(explain.graph_count, 1)
        with torch.no_grad():
            ref = module(x)
            half = onnx_to_torch.convert(onnx.load(YOLOX)).half()(x.half()).float()
        self.assertEqual(half.shape, (2, 3549, 85))
        self.assertLess(float((half - ref).norm() / ref.norm()), 1e-2)

    def test_rebatched_file(self):
        import onnx
        import onnx_to_torch
        model = onnx_to_torch.rebatch_onnx(onnx.load(YOLOX), 8)
        onnx.checker.check_model(model, full_check=True)
        dims = lambda v: [d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
        self.assertEqual(dims(model.graph.input[0]), [8, 3, 416, 416])
        self.assertEqual(dims(model.graph.output[0]), [8, 3549, 85])


# SYNTHETIC FIXTURE for roofline.py's parsing and costing tests: a hand-written
# `tarmac run --exportProfile` file in tools/tarmac/run.cc's format. Nothing was run: the layer
# set is made up to cover each costing rule and the times are invented. Hand-computed counts
# (FLOPs = 2 x MACs for Conv/ConvTranspose/Gemm/MatMul, else 1 per output element; bytes = all
# input and output tensors at their dtype size) are in SYNTHETIC_COSTS below.
def _layer(name, type_, ms, inputs, outputs):
    return {"name": name, "type": type_, "device": "cuda", "timeMs": ms * 100,
            "averageMs": ms, "percentage": 100 * ms / 0.154, "inputs": inputs,
            "outputs": outputs}


SYNTHETIC_PROFILE = [{"count": 100}] + [
    _layer("images_cast", "Cast", 0.0100,
           ["float32[1, 3, 416, 416]"], ["float16[1, 3, 416, 416]"]),
    _layer("reformat_0", "Reformat(NCHW->NHWC)", 0.0050,
           ["float16[1, 64, 52, 52]"], ["float16[1, 52, 52, 64]"]),
    _layer("conv_nhwc + sig + mul", "Conv(NHWC)+Silu", 0.0800,  # group 2, 3x3, stride 2
           ["float16[1, 52, 52, 64]", "float16[128, 3, 3, 32]", "float16[128]"],
           ["float16[1, 26, 26, 128]"]),
    _layer("sig_1 + mul_1", "FusedElementwise(Sigmoid,Mul)", 0.0040,
           ["float16[1, 26, 26, 128]"], ["float16[1, 26, 26, 128]"]),
    _layer("conv_nchw + add + relu", "Conv+Relu", 0.0200,  # group 4, no bias, residual
           ["float32[2, 16, 20, 20]", "float32[32, 4, 3, 3]", "", "float32[2, 32, 20, 20]"],
           ["float32[2, 32, 20, 20]"]),
    _layer("deconv_nchw", "ConvTranspose", 0.0030,  # group 2, 2x2, stride 2
           ["float16[1, 32, 10, 10]", "float16[32, 8, 2, 2]"], ["float16[1, 16, 20, 20]"]),
    _layer("deconv_nhwc", "ConvTranspose(NHWC)+Relu", 0.0030,
           ["float16[1, 10, 10, 32]", "float16[32, 2, 2, 8]", "float16[16]"],
           ["float16[1, 20, 20, 16]"]),
    _layer("matmul + add + gelu", "MatMul+Bias+Gelu", 0.0150,  # B broadcast over [2, 4]
           ["float16[2, 4, 50, 64]", "float16[64, 96]", "float16[96]"],
           ["float16[2, 4, 50, 96]"]),
    _layer("fc", "Gemm", 0.0120,  # transB: B [N, K]
           ["float32[8, 256]", "float32[1000, 256]", "float32[1000]"], ["float32[8, 1000]"]),
    _layer("reshape", "Reshape", 0.0020,
           ["float16[1, 85, 52, 52]", "int64[3]"], ["float16[1, 85, 2704]"]),
]
# name: (FLOPs, bytes), by hand
SYNTHETIC_COSTS = {
    # 3*416*416 = 519168 elements; float32 in + float16 out
    "images_cast": (519168, 519168 * (4 + 2)),
    # 64*52*52 = 173056 elements in and out, 2 bytes
    "reformat_0": (173056, 173056 * 2 * 2),
    # Y 26*26*128 = 86528; per output C/g*kH*kW = 32*3*3 = 288 MACs; X 173056 + W 128*9*32 =
    # 36864 + B 128 + Y 86528 elements of 2 bytes
    "conv_nhwc + sig + mul": (2 * 86528 * 288, 2 * (173056 + 36864 + 128 + 86528)),
    "sig_1 + mul_1": (86528, 2 * 2 * 86528),
    # Y 2*32*20*20 = 25600; C/g*kH*kW = 4*9 = 36; X 12800 + W 1152 + residual 25600 + Y 25600
    # elements of 4 bytes (absent bias: nothing)
    "conv_nchw + add + relu": (2 * 25600 * 36, 4 * (12800 + 1152 + 25600 + 25600)),
    # N*H*W*C*(M/g)*kH*kW = 1*10*10*32*8*2*2 = 102400 MACs; X 3200 + W 1024 + Y 6400
    "deconv_nchw": (2 * 102400, 2 * (3200 + 1024 + 6400)),
    "deconv_nhwc": (2 * 102400, 2 * (3200 + 1024 + 16 + 6400)),
    # batch 2*4, M 50, N 96, K 64: 2*8*50*96*64; A 25600 + B 6144 + bias 96 + Y 38400
    "matmul + add + gelu": (2 * 8 * 50 * 96 * 64, 2 * (25600 + 6144 + 96 + 38400)),
    # M 8, N 1000, K 256; A 2048 + B 256000 + C 1000 + Y 8000 elements of 4 bytes
    "fc": (2 * 8 * 1000 * 256, 4 * (2048 + 256000 + 1000 + 8000)),
    # 85*52*52 = 229840 elements in and out, 2 bytes, + the int64[3] shape
    "reshape": (229840, 2 * 2 * 229840 + 8 * 3),
}
# SYNTHETIC `tarmac run` output (run.cc's lines), invented numbers
SYNTHETIC_RUN_LOG = """\
Model: synthetic.onnx (ai.onnx opset 17, 20 nodes, 10 layers)
Device: cuda, FAKE GPU; precision fp16; TF32 on; layout auto; CUDA graph on
GPU compute: min = 0.100 ms, max = 0.200 ms, mean = 0.120 ms, median = 0.110 ms (100 iterations)
"""
# Peaks for the tests (1 TFLOP/s fp16, 0.5 tf32, 0.25 fp32, 1000 GB/s): made up so the big
# layers are compute-bound and the peak each layer uses shows in its roofline time.
PEAK_ARGS = ["--peak-tflops=fp16=1,tf32=0.5,fp32=0.25", "--peak-gbps=1000"]
PEAKS = {"fp16": 1e12, "tf32": 0.5e12, "fp32": 0.25e12}


class Roofline(unittest.TestCase):
    def write(self, d, name, content):
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return path

    def test_tensor_strings(self):
        import roofline
        t = roofline.Tensor("float16[1, 52, 52, 64]")
        self.assertEqual((t.dtype, t.dims, t.numel, t.nbytes), ("float16", [1, 52, 52, 64],
                                                                173056, 346112))
        self.assertEqual(roofline.Tensor("float32[]").nbytes, 4)  # scalar
        self.assertEqual(roofline.Tensor("bool[2, 3]").nbytes, 6)
        self.assertEqual(roofline.Tensor("bfloat16[5]").nbytes, 10)
        self.assertEqual(roofline.Tensor("uint8[7]").nbytes, 7)
        self.assertEqual(roofline.Tensor("float64[2]").nbytes, 16)
        self.assertEqual(roofline.Tensor("int32[3]").nbytes, 12)
        for bad in ("float32[?]", "float32[N, 3]", "undefined[1]", "float32"):
            with self.assertRaises(ValueError):
                roofline.Tensor(bad)

    def test_synthetic_profile_costs(self):
        import roofline
        iterations, layers = roofline.parse_profile_json(SYNTHETIC_PROFILE)
        self.assertEqual(iterations, 100)
        self.assertEqual([layer.name for layer in layers], list(SYNTHETIC_COSTS))
        for layer in layers:
            self.assertEqual((layer.flops, layer.nbytes), SYNTHETIC_COSTS[layer.name], layer.name)
        kinds = {layer.name: layer.peak_kind(True) for layer in layers}
        self.assertEqual(kinds["conv_nhwc + sig + mul"], "fp16")
        self.assertEqual(kinds["conv_nchw + add + relu"], "tf32")
        self.assertEqual(kinds["images_cast"], "tf32")  # its first tensor is float32
        self.assertEqual(layers[4].peak_kind(False), "fp32")
        rows = roofline.layer_rows(layers, PEAKS, 1e12, True)
        for row, layer in zip(rows, layers):
            flops, nbytes = SYNTHETIC_COSTS[layer.name]
            expect = max(flops / PEAKS[kinds[layer.name]], nbytes / 1e12) * 1e3
            self.assertAlmostEqual(row.roof_ms, expect, places=12, msg=layer.name)
        self.assertAlmostEqual(rows[2].roof_ms, 2 * 86528 * 288 / 1e12 * 1e3)  # compute-bound
        self.assertAlmostEqual(rows[1].roof_ms, 173056 * 4 / 1e12 * 1e3)  # memory-bound
        no_tf32 = roofline.layer_rows(layers, PEAKS, 1e12, False)
        self.assertAlmostEqual(no_tf32[4].roof_ms, 2 * 25600 * 36 / 0.25e12 * 1e3)
        by_type = {g.type: g for g in roofline.type_rows(rows)}
        self.assertEqual(by_type["Conv(NHWC)+Silu"].count, 1)
        self.assertEqual(len(by_type), len(layers))

    def test_bad_profiles(self):
        import roofline
        with self.assertRaisesRegex(ValueError, "count"):
            roofline.parse_profile_json([{"name": "x"}])
        bad = json.loads(json.dumps(SYNTHETIC_PROFILE))
        del bad[3]["averageMs"]
        with self.assertRaisesRegex(ValueError, "layer 2 \\('conv_nhwc"):
            roofline.parse_profile_json(bad)
        bad = json.loads(json.dumps(SYNTHETIC_PROFILE))
        bad[3]["type"] = "Conv+Silu"  # channels-last tensors without "(NHWC)"
        with self.assertRaisesRegex(ValueError, "NCHW convolution"):
            roofline.parse_profile_json(bad)
        bad = json.loads(json.dumps(SYNTHETIC_PROFILE))
        bad[1]["inputs"] = ["float32[1, 3, s, 416]"]
        with self.assertRaisesRegex(ValueError, "images_cast.*no static shape"):
            roofline.parse_profile_json(bad)

    def test_report_from_saved_profile(self):
        import roofline
        with tempfile.TemporaryDirectory() as d:
            profile = self.write(d, "profile.json", SYNTHETIC_PROFILE)
            log = self.write(d, "run.txt", SYNTHETIC_RUN_LOG)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                roofline.main([f"--profile-json={profile}", f"--log={log}"] + PEAK_ARGS)
            text = out.getvalue()
            with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
                roofline.main([f"--profile-json={profile}", f"--log={log}", "--noTF32"]
                              + PEAK_ARGS)  # the log says TF32 on
        self.assertIn("FAKE GPU; precision fp16", text)
        self.assertIn("| 2 | conv_nhwc + sig + mul | Conv(NHWC)+Silu | fp16 | 0.0800 | 51.9% | "
                      "49.84 M | 593.15 kB | 84.0 | 0.0498 | compute | 1.6 |", text)
        self.assertIn("| 1 | reformat_0 | Reformat(NCHW->NHWC) | fp16 | 0.0050 | 3.2% | 173.06 k "
                      "| 692.22 kB | 0.2 | 0.0007 | memory | 7.2 |", text)
        self.assertIn("Sum of layer times (each layer alone, median of 100 runs): 0.1540 ms", text)
        self.assertIn("GPU compute with CUDA graph (median): 0.1100 ms", text)
        roof = sum(max(f / PEAKS["fp16" if n in ("conv_nhwc + sig + mul", "sig_1 + mul_1",
                                                  "reformat_0", "deconv_nchw", "deconv_nhwc",
                                                  "matmul + add + gelu", "reshape")
                                     else "tf32"], b / 1e12) * 1e3
                   for n, (f, b) in SYNTHETIC_COSTS.items())
        self.assertIn(f"Sum of layer roofline times: {roof:.4f} ms; layer times / roofline "
                      f"{0.154 / roof:.2f}, CUDA graph / roofline {0.11 / roof:.2f}", text)
        top = text.split("beyond the roofline")[1].split("By layer type")[0]
        names = [line.split(" | ")[1] for line in top.splitlines() if line.startswith("| ")
                 and line[2].isdigit()]
        # excess ms: conv_nhwc 0.0302, conv_nchw 0.0163, matmul 0.0101, cast 0.0069, ...
        self.assertEqual(names[:4], ["conv_nhwc + sig + mul", "conv_nchw + add + relu",
                                     "matmul + add + gelu", "images_cast"])
        self.assertEqual(len(names), 10)
        self.assertIn("| Conv(NHWC)+Silu | 1 | 0.0800 | 51.9% |", text)

    def test_runs_tarmac_with_export_profile(self):
        import roofline
        with tempfile.TemporaryDirectory() as d:
            fixture = self.write(d, "fixture.json", SYNTHETIC_PROFILE)
            self.write(d, "log.txt", SYNTHETIC_RUN_LOG)
            # FAKE tarmac: records its arguments, copies the fixture to --exportProfile and
            # prints the synthetic log
            fake = self.write(d, "tarmac", f"""#!/bin/sh
echo "$@" > {d}/args
for a in "$@"; do case "$a" in --exportProfile=*) cp {fixture} "${{a#--exportProfile=}}";; esac
done
cat {d}/log.txt
""")
            os.chmod(fake, 0o755)
            saved = os.path.join(d, "saved.json")
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                roofline.main([f"--onnx={YOLOX}", "--precision=fp16", f"--tarmac={fake}",
                               "--iterations=7", f"--save-profile={saved}",
                               f"--save-log={d}/saved.txt"] + PEAK_ARGS)
            with open(f"{d}/args") as f:
                args = f.read().split()
            with open(saved) as f:
                self.assertEqual(json.load(f), SYNTHETIC_PROFILE)
            with open(f"{d}/saved.txt") as f:
                self.assertEqual(f.read(), SYNTHETIC_RUN_LOG)
        self.assertEqual(args, ["run", f"--onnx={YOLOX}", "--device=cuda", "--useCudaGraph",
                                f"--exportProfile={saved}", "--iterations=7", "--warmUp=20",
                                "--shapes=images:1x3x416x416", "--fp16"])
        self.assertIn("GPU compute with CUDA graph (median): 0.1100 ms", out.getvalue())


class GpuVsPytorch(unittest.TestCase):
    def test_arguments(self):
        import gpu_vs_pytorch as g
        a = g.parse_args(["--no-compile", "--models=yolox_nano", "--batches=1,8"])
        self.assertEqual(a.baselines, ["eager", "graph"])
        self.assertEqual(a.batches, [1, 8])
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
            g.parse_args(["--baselines=eager,foo"])

    def test_parse_fake_tarmac_output(self):
        import gpu_vs_pytorch as g
        r = g.parse_tarmac_run(FAKE_PROFILE_LOG)
        self.assertEqual(r["tarmac ms"], 0.42)
        self.assertEqual(r["tarmac layers"], 4)
        self.assertTrue(r["tarmac device"].startswith("FAKE GPU; precision fp16"))

    def test_yolox_onnx_for_tarmac_and_report(self):
        import onnx
        import gpu_vs_pytorch as g
        with tempfile.TemporaryDirectory() as d:
            models = g.Models(d, YOLOX)
            self.assertEqual(models.onnx_path("yolox_nano", 1), YOLOX)
            path = models.onnx_path("yolox_nano", 8)
            self.assertEqual(g.input_shape(onnx.load(path)), (8, 3, 416, 416))
            self.assertEqual(g.onnx_input_name(path), "images")
            # FAKE numbers, to test the report only
            doc = {"card": "FAKE", "torch": "0", "cudnn": 0, "runs": [
                {"date": "d", "command": "c", "tarmac commit": "x"}], "rows": [
                {"model": "yolox_nano", "batch": 1, "precision": "fp16", "eager ms": 2.0,
                 "graph ms": 1.0, "compile ms": 0.8, "compile s": 60.0, "tarmac ms": 0.5,
                 "tarmac layers": 150, "tarmac device": "FAKE; precision fp16"}]}
            out_json = os.path.join(d, "r.json")
            g.write_json(out_json, doc)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                g.main([f"--out-json={out_json}", "--report-only"])
            text = out.getvalue()
            self.assertIn("| yolox_nano | 1 | fp16 | 2.000 | 1.000 | 0.800 | 0.500 | 0.62 | 150 "
                          "| 60 |", text)
            self.assertIn("0.560 ms: meets", text)
            with open(out_json) as f:
                self.assertEqual(json.load(f)["rows"][0]["tarmac ms"], 0.5)


class GpuVsPytorchLoop(unittest.TestCase):
    """The measurement loop on the CPU with CUDA FAKED: module.cuda() and tensor.cuda() are
    no-ops and the timers return invented numbers. Tests the configuration order, the tarmac
    call (its failure is recorded: no tarmac with a GPU here), --out-json and --merge."""

    def test_loop_with_fake_timers(self):
        from unittest import mock
        import torch
        import gpu_vs_pytorch as g
        calls = []

        def fake_times(run, iterations, stream, capture=False, before_each=None):
            with torch.no_grad():
                run()  # the model really runs, on the CPU
            calls.append("graph" if capture else "eager")
            return 2.0 if capture else 3.0

        def fake_compiled(model, x, iterations, stream):
            calls.append("compile")
            return 1.5, 42.0

        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        fake_tarmac = os.path.join(scratch.name, "tarmac")
        with open(fake_tarmac, "w") as f:  # FAKE tarmac: prints run.cc's lines, fixed numbers
            f.write("#!/bin/sh\necho 'Model: m (ai.onnx opset 11, 369 nodes, 153 layers)'\n"
                    "echo 'Device: cuda, FAKE; precision fp16; TF32 on; CUDA graph on'\n"
                    "echo 'GPU compute: min = 1.0 ms, max = 1.0 ms, mean = 1.0 ms, "
                    "median = 1.000 ms (1 iterations)'\n")
        os.chmod(fake_tarmac, 0o755)
        with tempfile.TemporaryDirectory() as d, \
                mock.patch.dict(os.environ), \
                mock.patch.object(g, "torch_times", fake_times), \
                mock.patch.object(g, "compiled_times", fake_compiled), \
                mock.patch.object(torch.cuda, "is_available", lambda: True), \
                mock.patch.object(torch.cuda, "get_device_name", lambda *a: "FAKE"), \
                mock.patch.object(torch.cuda, "Stream", lambda *a: None), \
                mock.patch.object(torch.cuda, "empty_cache", lambda: None), \
                mock.patch.object(torch.nn.Module, "cuda", lambda self, *a: self), \
                mock.patch.object(torch.Tensor, "cuda", lambda self, *a: self), \
                mock.patch.object(torch.backends.cudnn, "version", lambda: 0):
            out_json = os.path.join(d, "r.json")
            common = ["--models=yolox_nano", f"--yolox={YOLOX}", "--batches=1,2",
                      f"--work-dir={d}", f"--out-json={out_json}", "--iterations=1",
                      f"--inductor-cache={d}/cache"]
            with contextlib.redirect_stdout(io.StringIO()) as out:
                g.main(common + ["--precisions=fp32", "--no-compile", f"--tarmac={fake_tarmac}"])
            self.assertEqual(calls, ["eager", "graph"] * 2)
            self.assertIn("| yolox_nano | 2 | fp32 | 3.000 | 2.000 | n/a | 1.000 | 0.50 "
                          "(no compile) | 153 | n/a |", out.getvalue())
            calls.clear()
            with contextlib.redirect_stdout(io.StringIO()) as out:
                g.main(common + ["--precisions=fp32", "--baselines=compile", "--merge"])
            self.assertEqual(calls, ["compile"] * 2)
            self.assertIn("| yolox_nano | 1 | fp32 | 3.000 | 2.000 | 1.500 | 1.000 | 0.67 | "
                          "153 | 42 |", out.getvalue())
            with open(out_json) as f:
                doc = json.load(f)
            self.assertEqual(len(doc["runs"]), 2)
            self.assertEqual(len(doc["rows"]), 2)
            self.assertTrue(os.path.exists(os.path.join(d, "yolox_nano_b2.onnx")))
            combined = os.path.join(d, "c.json")
            with contextlib.redirect_stdout(io.StringIO()) as out:
                g.main(["--combine", out_json, out_json, f"--out-json={combined}"])
            with open(combined) as f:
                self.assertEqual(len(json.load(f)["rows"]), 2)


def main():
    global YOLOX
    ap = argparse.ArgumentParser()
    ap.add_argument("--yolox", default=YOLOX)
    args, rest = ap.parse_known_args()
    YOLOX = args.yolox
    missing = [m for m in ("onnx", "onnxruntime", "torch") if not importlib.util.find_spec(m)]
    if missing:
        print(f"skipped: Python packages {missing} absent")
        return 77
    if not os.path.exists(YOLOX):
        print(f"skipped: {YOLOX} absent")
        return 77
    result = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())

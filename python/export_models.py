#!/usr/bin/env python3
"""Exports the real-model test set: PyTorch-built architectures and YOLOX-nano test data.

For each model, writes DIR/<name>/model.onnx (except YOLOX-nano, which stays in ../shared and
is named in DIR/yolox_nano/model_path.txt) and one data set in the ONNX backend-test format,
DIR/<name>/test_data_set_0/{input_0.pb, output_N.pb}, whose outputs come from ONNX Runtime's
CPU provider. The PyTorch models (torchvision's, and OpenPCDet's KITTI PointPillars BEV
backbone + anchor head as pointpillars.py writes it, input "spatial_features" [1, 64, 496, 432])
use their seeded random initialisation (nothing is downloaded; see torchvision_models.py) and
are exported with the legacy TorchScript exporter, opset 17, batch 1; the "raw" ones
(RAW_EXPORTS: MobileNetV3 and a transformer encoder block) at opset 13 without constant folding
and with a symbolic batch, as graph-optimizer tests.
ONNX Runtime's outputs are checked against PyTorch's.

  python python/export_models.py --out=build/models [--models=resnet50,ssdlite]

A model whose stamp file shows it complete and made from the same scripts, package versions
and (for YOLOX-nano) model file is skipped, without importing PyTorch, so reruns are fast.
"""
import argparse
import hashlib
import importlib.metadata
import os
import shutil
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
YOLOX_DEFAULT = os.path.join(REPO, "..", "shared", "models", "yolox_nano.onnx")
TORCH_MODELS = ("resnet50", "mobilenet_v3_small", "ssdlite", "mobilenet_v3_small_raw",
                "encoder_block", "pointpillars_backbone")
ALL_MODELS = TORCH_MODELS + ("yolox_nano",)
OPSET = 17
SEED = 0
STAMP = "stamp.txt"
TORCH_MODULE = os.path.join(REPO, "python", "torchvision_models.py")
# Further sources a model is built from, so that editing one regenerates only its models.
MODEL_SOURCES = {"pointpillars_backbone": [os.path.join(REPO, "python", "pointpillars.py")]}
TORCH_ORT_LIMIT = 1e-4


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def rel_l2(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def ort_run(model_path, feeds):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def write_data_set(model_dir, inputs, outputs):
    """inputs: [(name, array)], outputs: [(name, array)]."""
    data_dir = os.path.join(model_dir, "test_data_set_0")
    shutil.rmtree(data_dir, ignore_errors=True)
    os.makedirs(data_dir)
    for prefix, tensors in (("input", inputs), ("output", outputs)):
        for i, (name, array) in enumerate(tensors):
            proto = numpy_helper.from_array(np.ascontiguousarray(array), name)
            with open(os.path.join(data_dir, f"{prefix}_{i}.pb"), "wb") as f:
                f.write(proto.SerializeToString())


def export_torch(name, model_dir):
    import torchvision_models  # imports torch, which takes seconds

    model, shape, output_names = torchvision_models.build(name)
    path = os.path.join(model_dir, "model.onnx")
    raw_opset = torchvision_models.RAW_EXPORTS.get(name)
    input_name = torchvision_models.input_name(name)
    torchvision_models.export(model, shape, input_name, output_names, path, raw_opset or OPSET,
                              raw=raw_opset is not None)
    onnx.checker.check_model(path)

    x = np.random.default_rng(SEED).standard_normal(shape).astype(np.float32)
    expected = ort_run(path, {input_name: x})
    got = torchvision_models.run(model, x)
    for out_name, t, ref in zip(output_names, got, expected):
        err = rel_l2(t, ref)
        print(f"  {name}/{out_name} {list(ref.shape)}: PyTorch vs ORT "
              f"relative L2 error {err:.2e} (limit {TORCH_ORT_LIMIT:.0e})")
        if err > TORCH_ORT_LIMIT:
            raise RuntimeError(f"{name}: PyTorch and ONNX Runtime disagree on {out_name}")
    write_data_set(model_dir, [(input_name, x)], list(zip(output_names, expected)))


def export_yolox(model_dir, yolox_path):
    model = onnx.load(yolox_path, load_external_data=False)
    inputs = [i for i in model.graph.input
              if i.name not in {t.name for t in model.graph.initializer}]
    if len(inputs) != 1:
        raise RuntimeError(f"{yolox_path}: expected one input, found {len(inputs)}")
    name = inputs[0].name
    shape = [d.dim_value for d in inputs[0].type.tensor_type.shape.dim]
    rng = np.random.default_rng(SEED)
    x = rng.uniform(0.0, 255.0, shape).astype(np.float32)  # BGR pixels, 0-255
    expected = ort_run(yolox_path, {name: x})
    output_names = [o.name for o in model.graph.output]
    for out_name, ref in zip(output_names, expected):
        print(f"  yolox_nano/{out_name} {list(ref.shape)}: ORT reference written")
    write_data_set(model_dir, [(name, x)], list(zip(output_names, expected)))
    stored = os.path.relpath(os.path.abspath(yolox_path), REPO)
    with open(os.path.join(model_dir, "model_path.txt"), "w") as f:
        f.write(stored + "\n")


def stamp_for(name, yolox_path):
    """Changes with this script, the packages' versions and the model's sources."""
    packages = ["numpy", "onnx", "onnxruntime"]
    parts = [sha256_file(os.path.abspath(__file__)), name]
    if name == "yolox_nano":
        parts.append(sha256_file(yolox_path))
    else:
        packages += ["torch", "torchvision"]
        parts += [sha256_file(p) for p in [TORCH_MODULE] + MODEL_SOURCES.get(name, [])]
    parts += [f"{p}=={importlib.metadata.version(p)}" for p in packages]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def is_complete(model_dir, stamp):
    try:
        with open(os.path.join(model_dir, STAMP)) as f:
            return f.read().strip() == stamp
    except OSError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--models", default=",".join(ALL_MODELS),
                        help=f"comma-separated subset of {','.join(ALL_MODELS)}")
    parser.add_argument("--yolox", default=YOLOX_DEFAULT, help="YOLOX-nano ONNX file")
    parser.add_argument("--force", action="store_true", help="regenerate complete models")
    args = parser.parse_args()

    names = [n for n in args.models.split(",") if n]
    unknown = [n for n in names if n not in ALL_MODELS]
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(ALL_MODELS)}")

    for name in names:
        model_dir = os.path.join(args.out, name)
        if name == "yolox_nano" and not os.path.isfile(args.yolox):
            print(f"{name}: skipped, {args.yolox} is absent")
            continue
        stamp = stamp_for(name, args.yolox)
        if not args.force and is_complete(model_dir, stamp):
            print(f"{name}: up to date")
            continue
        os.makedirs(model_dir, exist_ok=True)
        stamp_path = os.path.join(model_dir, STAMP)
        if os.path.exists(stamp_path):
            os.remove(stamp_path)  # a stale stamp must not outlive a failed regeneration
        start = time.time()
        print(f"{name}: generating")
        if name == "yolox_nano":
            export_yolox(model_dir, args.yolox)
        else:
            export_torch(name, model_dir)
        with open(stamp_path, "w") as f:  # last: marks the model as complete
            f.write(stamp + "\n")
        print(f"{name}: done in {time.time() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""End-to-end test of `tarmac sanitize` on the real-model set.

For every generated model (python/export_models.py) and several flag combinations it checks
that the sanitized file passes Debian's onnx.checker (python3-onnx, a checker we did not
write), uses only standard ONNX domains, keeps the graph's input and output names, metadata
and producer, and gives the same outputs as the original in ONNX Runtime (relative L2 <= 1e-5).
It also sanitizes a copy of ResNet-50 stored with external data. Prints node counts.

  sanitize_test.py --tarmac=build/tarmac --models-dir=build/models [--checker-python=/usr/bin/python3]
Exit 0: all passed; 1: a failure; 77: models or Python packages absent (skip).
"""
import argparse
import os
import subprocess
import sys
import tempfile

TOLERANCE = 1e-5
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKER = """
import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(sys.argv[1], full_check=True)
print(onnx.__version__)
"""


def model_path(models_dir, name):
    d = os.path.join(models_dir, name)
    if not os.path.exists(os.path.join(d, "stamp.txt")):
        return None, None
    p = os.path.join(d, "model.onnx")
    ref = os.path.join(d, "model_path.txt")
    if os.path.exists(ref):
        with open(ref) as f:
            p = os.path.join(REPO, f.read().strip())
    return (p, os.path.join(d, "test_data_set_0")) if os.path.exists(p) else (None, None)


def load_inputs(data_dir, onnx_mod, numpy_helper):
    feeds = {}
    i = 0
    while os.path.exists(os.path.join(data_dir, f"input_{i}.pb")):
        t = onnx_mod.TensorProto()
        with open(os.path.join(data_dir, f"input_{i}.pb"), "rb") as f:
            t.ParseFromString(f.read())
        feeds[t.name] = numpy_helper.to_array(t)
        i += 1
    return feeds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tarmac", required=True)
    ap.add_argument("--models-dir", required=True)
    ap.add_argument("--checker-python", default="/usr/bin/python3")
    args = ap.parse_args()
    try:
        import numpy as np
        import onnx
        import onnxruntime as ort
        from onnx import numpy_helper
    except ImportError as e:
        print(f"skipped: {e} (run scripts/setup.sh test)")
        return 77
    checker_ok = subprocess.run([args.checker_python, "-c", "import onnx"],
                                capture_output=True).returncode == 0
    if not checker_ok:
        print(f"FAIL: {args.checker_python} has no onnx module (Debian's python3-onnx; "
              "scripts/setup.sh installs it)")
        return 1

    def ort_outputs(path, feeds):
        so = ort.SessionOptions()
        so.log_severity_level = 3
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        return [o.name for o in s.get_outputs()], s.run(None, feeds)

    names = ["resnet50", "mobilenet_v3_small", "ssdlite", "yolox_nano",
             "mobilenet_v3_small_raw", "encoder_block"]
    failures, ran = [], 0
    tmp = tempfile.mkdtemp(prefix="tarmac_sanitize_")
    cases = []
    for name in names:
        path, data = model_path(args.models_dir, name)
        if not path:
            print(f"SKIP  {name}: not generated")
            continue
        feeds = load_inputs(data, onnx, numpy_helper)
        shapes = ",".join(f"{k}:{'x'.join(str(d) for d in v.shape)}" for k, v in feeds.items())
        cases.append((name, path, feeds, []))
        cases.append((name, path, feeds, ["--fold-constants"]))
        cases.append((name, path, feeds,
                      ["--fold-constants", f"--override-input-shapes={shapes}"]))

    # External data: ResNet-50's weights moved to a side file.
    path, data = model_path(args.models_dir, "resnet50")
    if path:
        ext_dir = os.path.join(tmp, "external")
        os.makedirs(ext_dir)
        ext = os.path.join(ext_dir, "resnet50_ext.onnx")
        onnx.save(onnx.load(path), ext, save_as_external_data=True,
                  all_tensors_to_one_file=True, location="resnet50_ext.weights")
        cases.append(("resnet50_external", ext, load_inputs(data, onnx, numpy_helper),
                      ["--fold-constants"]))

    if not cases:
        print("skipped: no generated models (python/export_models.py)")
        return 77
    for i, (name, path, feeds, flags) in enumerate(cases):
        out = os.path.join(tmp, f"{name}_{i}.onnx")
        label = f"{name} {' '.join(flags) or '(no flags)'}"
        r = subprocess.run([args.tarmac, "sanitize", path, "-o", out] + flags,
                           capture_output=True, text=True)
        ran += 1
        if r.returncode != 0:
            failures.append(f"{label}: tarmac sanitize failed: {r.stderr.strip()}")
            continue
        counts = [l.strip() for l in r.stdout.splitlines() if l.startswith("Nodes:")]
        c = subprocess.run([args.checker_python, "-c", CHECKER, out], capture_output=True,
                           text=True)
        if c.returncode != 0:
            failures.append(f"{label}: onnx.checker rejected the output: "
                            f"{c.stderr.strip().splitlines()[-1]}")
            continue
        src, dst = onnx.load(path), onnx.load(out)
        problems = []
        domains = {n.domain for n in dst.graph.node} - {"", "ai.onnx"}
        if domains:
            problems.append(f"non-standard domains {sorted(domains)}")
        init = {t.name for t in src.graph.initializer}
        src_inputs = [x.name for x in src.graph.input if x.name not in init]
        if [x.name for x in dst.graph.input] != src_inputs:
            problems.append("graph input names changed")
        if [x.name for x in dst.graph.output] != [x.name for x in src.graph.output]:
            problems.append("graph output names changed")
        if [(p.key, p.value) for p in dst.metadata_props] != \
                [(p.key, p.value) for p in src.metadata_props]:
            problems.append("metadata changed")
        if dst.producer_name != src.producer_name:
            problems.append("producer changed")
        if "external" in name:
            stored = onnx.load(out, load_external_data=False)  # loading resets the location
            if not any(t.data_location == onnx.TensorProto.EXTERNAL
                       for t in stored.graph.initializer):
                problems.append("weights were not written as external data")
        names_a, ref = ort_outputs(path, feeds)
        names_b, got = ort_outputs(out, feeds)
        worst = 0.0
        for a, b, n in zip(ref, got, names_a):
            if a.shape != b.shape:
                problems.append(f"output {n}: shape {b.shape} != {a.shape}")
                continue
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            err = float(np.linalg.norm(a64 - b64) / max(np.linalg.norm(a64), 1e-30))
            worst = max(worst, err)
            if err > TOLERANCE:
                problems.append(f"output {n}: relative L2 {err:.3g} > {TOLERANCE}")
        status = "FAIL" if problems else "PASS"
        print(f"{status}  {label}: {counts[0] if counts else '?'}; ORT outputs relative L2 "
              f"{worst:.3g}; checker onnx {c.stdout.strip()}")
        if problems:
            failures.append(f"{label}: {'; '.join(problems)}")
    for f in failures:
        print(f"FAIL  {f}")
    print(f"{ran - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

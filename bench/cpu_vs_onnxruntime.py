#!/usr/bin/env python3
"""Batch-1 CPU latency of tarmac against ONNX Runtime, measured in one run on one machine.

  python bench/cpu_vs_onnxruntime.py --tarmac=build/tarmac --models-dir=build/models \\
    --threads=2 --iterations=50

For each model, `tarmac run` reports the median of --iterations runs after 3 warm-up runs,
and an ONNX Runtime CPU session (intra-op threads = --threads, inter-op threads = 1) is timed
the same way on an input of the same shape and value range. The two alternate for --rounds
rounds, so that changes in machine load reach both; each latency is the median of its round
medians. Prints a markdown table. The models come from python/export_models.py --out=DIR.
"""
import argparse
import datetime
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARMUP = 3
LATENCY_RE = re.compile(r"^Latency:.*median = ([0-9.]+) ms", re.MULTILINE)


def model_path(models_dir, name):
    """DIR/<name>/model.onnx, or the file that DIR/<name>/model_path.txt names."""
    listed = os.path.join(models_dir, name, "model_path.txt")
    if os.path.isfile(listed):
        with open(listed) as f:
            return os.path.normpath(os.path.join(REPO, f.read().strip()))
    if name == "yolox_nano":
        return os.path.normpath(os.path.join(REPO, "..", "shared", "models", "yolox_nano.onnx"))
    return os.path.join(models_dir, name, "model.onnx")


def tarmac_median_ms(tarmac, path, threads, iterations):
    cmd = [tarmac, "run", f"--onnx={path}", f"--threads={threads}",
           f"--iterations={iterations}", f"--warmUp={WARMUP}", "--seed=0"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    match = LATENCY_RE.search(proc.stdout)
    if proc.returncode != 0 or not match:
        sys.exit(f"error: {shlex.join(cmd)} failed (exit {proc.returncode}):\n"
                 f"{proc.stderr.strip() or proc.stdout.strip()}")
    return float(match.group(1))


class OrtModel:
    def __init__(self, path, threads, seed):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(seed)
        self.feeds = {}
        for i in self.session.get_inputs():
            if not all(isinstance(d, int) for d in i.shape):
                sys.exit(f"error: {path}: input {i.name} has dynamic shape {i.shape}")
            # The distribution of `tarmac run`'s random inputs.
            self.feeds[i.name] = rng.uniform(-1, 1, i.shape).astype(np.float32)

    def median_ms(self, iterations):
        for _ in range(WARMUP):
            self.session.run(None, self.feeds)
        times = []
        for _ in range(iterations):
            start = time.perf_counter()
            self.session.run(None, self.feeds)
            times.append((time.perf_counter() - start) * 1e3)
        return statistics.median(times)


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tarmac", required=True, help="the tarmac executable")
    parser.add_argument("--models-dir", required=True, help="python/export_models.py --out")
    parser.add_argument("--models", default="yolox_nano,resnet50")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.threads < 1 or args.iterations < 1 or args.rounds < 1:
        parser.error("--threads, --iterations and --rounds must be at least 1")
    if not os.access(args.tarmac, os.X_OK):
        parser.error(f"--tarmac={args.tarmac} is not an executable")

    names = [n for n in args.models.split(",") if n]
    paths = {n: model_path(args.models_dir, n) for n in names}
    for name, path in paths.items():
        if not os.path.isfile(path):
            sys.exit(f"error: {name}: {path} is absent "
                     f"(python/export_models.py --out={args.models_dir} writes it)")

    rows = []
    for name in names:
        session = OrtModel(paths[name], args.threads, seed=0)
        tarmac_ms, ort_ms = [], []
        for r in range(args.rounds):
            # Alternate which engine goes first, so neither always runs on a warmer machine.
            for engine in ("tarmac", "ort") if r % 2 == 0 else ("ort", "tarmac"):
                if engine == "tarmac":
                    tarmac_ms.append(tarmac_median_ms(args.tarmac, paths[name], args.threads,
                                                      args.iterations))
                else:
                    ort_ms.append(session.median_ms(args.iterations))
            print(f"{name} round {r + 1}: tarmac {tarmac_ms[-1]:.2f} ms, "
                  f"ORT {ort_ms[-1]:.2f} ms", file=sys.stderr)
        shape = "x".join(str(d) for d in session.session.get_inputs()[0].shape)
        rows.append((name, shape, statistics.median(tarmac_ms), statistics.median(ort_ms)))

    print("| model | input | tarmac ms | ORT ms | tarmac/ORT |")
    print("|---|---|---:|---:|---:|")
    for name, shape, t, o in rows:
        print(f"| {name} | {shape} | {t:.2f} | {o:.2f} | {t / o:.2f} |")
    print()
    print(f"Machine: {cpu_model()}, nproc {len(os.sched_getaffinity(0))}; "
          f"{args.threads} threads; ONNX Runtime {ort.__version__}")
    print(f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"Latency: batch 1, median over {args.rounds} rounds of the median of "
          f"{args.iterations} runs after {WARMUP} warm-up runs")
    print(f"Command: `{shlex.join([sys.executable] + sys.argv)}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())

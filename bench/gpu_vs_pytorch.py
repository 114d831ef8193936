#!/usr/bin/env python3
"""GPU latency of tarmac's CUDA executor against PyTorch on the same card, in one run.

For each model, batch and precision it exports the PyTorch model to ONNX (legacy exporter,
opset 17), runs `tarmac run --device=cuda --useCudaGraph` and reads its median GPU compute
time (CUDA events around one inference), and measures PyTorch on the same weights and inputs:
eager (cudnn.benchmark on), eager + CUDA graph replay, and optionally torch.compile
(mode="max-autotune", slow to compile). Every PyTorch time is the median of per-iteration
CUDA-event times after warm-up. Prints a markdown table with the card, versions and command.

  python bench/gpu_vs_pytorch.py --tarmac=build-gpu/tarmac \\
      --models=resnet50,pointpillars_backbone --batches=1,8 --precisions=fp32,fp16 \\
      --iterations=200 [--compile]

Models are those of torchvision_models.build; each is exported under its own input name
(torchvision_models.input_name: "spatial_features" for pointpillars_backbone), which
tarmac_time reads back from the ONNX file for --shapes.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))


def torch_times(model, x, iterations, use_graph):
    import torch
    stream = torch.cuda.Stream()
    with torch.no_grad(), torch.cuda.stream(stream):
        for _ in range(10):
            model(x)
        torch.cuda.synchronize()
        run = lambda: model(x)  # noqa: E731
        if use_graph:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=stream):
                model(x)
            run = graph.replay
            for _ in range(5):
                run()
        times = []
        for _ in range(iterations):
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            a.record(stream)
            run()
            b.record(stream)
            b.synchronize()
            times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def onnx_input_name(onnx_path):
    """The graph's one input that is not an initializer, the name --shapes must give (tarmac
    refuses any other, and the model's row would read n/a)."""
    import onnx
    graph = onnx.load(onnx_path, load_external_data=False).graph
    weights = {t.name for t in graph.initializer}
    names = [i.name for i in graph.input if i.name not in weights]
    if len(names) != 1:
        raise RuntimeError(f"{onnx_path}: expected one input, found {names}")
    return names[0]


def tarmac_time(tarmac, onnx_path, shape, precision, iterations):
    dims = "x".join(map(str, shape))
    cmd = [tarmac, "run", f"--onnx={onnx_path}", "--device=cuda", "--useCudaGraph",
           f"--iterations={iterations}", "--warmUp=20",
           f"--shapes={onnx_input_name(onnx_path)}:{dims}"]
    if precision == "fp16":
        cmd.append("--fp16")
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr.strip().splitlines()[-1] if out.stderr else "failed"
    m = re.search(r"GPU compute: .*median = ([0-9.]+) ms", out.stdout)
    return (float(m.group(1)) if m else None), " ".join(cmd[1:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tarmac", required=True)
    ap.add_argument("--models", default="resnet50")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--precisions", default="fp32,fp16")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--compile", action="store_true", help="also torch.compile(max-autotune)")
    args = ap.parse_args()
    import torch
    import torchvision_models

    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True  # both sides use TF32 for float32, as
    torch.backends.cudnn.allow_tf32 = True        # tarmac and TensorRT do by default
    card = torch.cuda.get_device_name()
    rows = []
    tmp = tempfile.mkdtemp(prefix="tarmac_bench_")
    for name in args.models.split(","):
        base, shape, outputs = torchvision_models.build(name)
        for batch in map(int, args.batches.split(",")):
            bshape = (batch,) + tuple(shape[1:])
            path = os.path.join(tmp, f"{name}_b{batch}.onnx")
            torchvision_models.export(base, bshape, torchvision_models.input_name(name),
                                      outputs, path, 17)
            for prec in args.precisions.split(","):
                model = base.cuda().eval()
                x = torch.randn(bshape, device="cuda")
                if prec == "fp16":
                    model, x = model.half(), x.half()
                t_ms, how = tarmac_time(args.tarmac, path, bshape, prec, args.iterations)
                eager = torch_times(model, x, args.iterations, False)
                graph = torch_times(model, x, args.iterations, True)
                comp = None
                if args.compile:
                    compiled = torch.compile(model, mode="max-autotune")
                    comp = torch_times(compiled, x, args.iterations, False)
                best = min(v for v in (eager, graph, comp) if v is not None)
                rows.append((name, batch, prec, t_ms, eager, graph, comp, best))
                base = base.float().cpu()
    print(f"Card: {card}; PyTorch {torch.__version__}; TF32 on for float32 on both sides")
    print("Command: python " + " ".join(sys.argv))
    print("| model | batch | precision | tarmac ms | torch eager ms | torch CUDA graph ms | "
          "torch.compile ms | tarmac / best torch |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    for name, batch, prec, t, e, g, c, best in rows:
        ratio = "n/a" if t is None else f"{t / best:.2f}"
        print(f"| {name} | {batch} | {prec} | {fmt(t)} | {fmt(e)} | {fmt(g)} | {fmt(c)} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""GPU latency of tarmac's CUDA executor against PyTorch on the same card, in one run.

Models: resnet50 and pointpillars_backbone (python/torchvision_models.py, exported to ONNX per
batch with the legacy exporter, opset 17) and yolox_nano (the ONNX file --yolox, run in
PyTorch through bench/onnx_to_torch.py and given to tarmac rebatched by
onnx_to_torch.rebatch_onnx for batches other than the file's 1). For each precision, batch and
model it measures, on the same weights:

  eager    PyTorch eager, cudnn.benchmark on
  graph    the eager model captured once as a torch.cuda.CUDAGraph and replayed
  compile  torch.compile(mode="max-autotune", dynamic=False), which autotunes the convolutions
           and GEMMs and replays CUDA graphs itself (cudagraph trees); its compile time, the
           wall time of the first call, is reported per configuration
  tarmac   `tarmac run --device=cuda --useCudaGraph [--fp16]`: its "GPU compute" median
           (CUDA events around one graph launch on inputs already on the GPU)

Every PyTorch time is the median of --iterations per-iteration CUDA-event times after warm-up,
on a side stream. TF32 is on for float32 on both sides (tarmac's default; PyTorch flags set).
fp16 means the PyTorch model and input in float16 (module.half()) against `tarmac run --fp16`
(float16 compute, float32 input and output). Each configuration's markdown row is printed and
flushed as soon as it is measured, and --out-json is rewritten after each, so a run stopped by
a time limit keeps what it measured; --merge continues or completes an earlier file (same card).

  python bench/gpu_vs_pytorch.py --tarmac=build-gpu/tarmac \\
      --yolox=carry/models/yolox_nano/model.onnx \\
      [--models=resnet50,pointpillars_backbone,yolox_nano] [--batches=1,8] \\
      [--precisions=fp16,fp32] [--baselines=eager,graph,compile | --no-compile] \\
      [--inductor-cache=/tmp/tarmac_inductor] [--out-json=gpu_vs_pytorch.json [--merge]] \\
      [--deadline-s=540] [--iterations=200]

Without --tarmac only PyTorch is measured (e.g. a second call for the compile column:
--baselines=compile --merge). --report-only prints the table of --out-json and exits;
--combine A.json B.json [--out-json=C.json] merges the results of calls on the same card.
max-autotune takes about a minute or more per configuration; its autotuning results and
compiled kernels are cached in --inductor-cache (TORCHINDUCTOR_CACHE_DIR), so a later call on
the same machine reuses them. --deadline-s stops starting new work after that many seconds.
"""
import argparse
import copy
import datetime
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "python"))
sys.path.insert(0, HERE)

ALL_MODELS = ("resnet50", "pointpillars_backbone", "yolox_nano")
ALL_BASELINES = ("eager", "graph", "compile")
YOLOX_DEFAULT = os.path.join(REPO, "..", "shared", "models", "yolox_nano.onnx")
GPU_COMPUTE_RE = re.compile(r"^GPU compute: .*median = ([0-9.]+) ms", re.MULTILINE)
LAYERS_RE = re.compile(r"^Model: .*, (\d+) layers\)", re.MULTILINE)
DEVICE_RE = re.compile(r"^Device: cuda, (.*)$", re.MULTILINE)
COLUMNS = ("model", "batch", "precision", "eager ms", "graph ms", "compile ms", "tarmac ms",
           "tarmac / best PyTorch", "tarmac layers", "compile s")


def log(*parts):
    print(*parts, flush=True)


# ----------------------------------------------------------------------------- models
class Models:
    """Builds each model once (float32, CPU) and its ONNX file once per batch."""

    def __init__(self, work_dir, yolox_path):
        self.work_dir, self.yolox_path = work_dir, yolox_path
        self.built = {}

    def build(self, name):
        """(float32 CPU module, input shape at the model's own batch, output names)."""
        if name not in self.built:
            if name == "yolox_nano":
                import onnx
                import onnx_to_torch
                model = onnx.load(self.yolox_path)
                self.built[name] = (onnx_to_torch.convert(model), input_shape(model),
                                    [o.name for o in model.graph.output])
            else:
                import torchvision_models
                self.built[name] = torchvision_models.build(name)
        return self.built[name]

    def onnx_path(self, name, batch):
        """The ONNX file tarmac runs for `name` at `batch`."""
        if name == "yolox_nano":
            import onnx
            import onnx_to_torch
            model = onnx.load(self.yolox_path)
            if input_shape(model)[0] == batch:
                return self.yolox_path
            path = os.path.join(self.work_dir, f"yolox_nano_b{batch}.onnx")
            if not os.path.exists(path):
                onnx.save(onnx_to_torch.rebatch_onnx(model, batch), path)
            return path
        import torchvision_models
        path = os.path.join(self.work_dir, f"{name}_b{batch}.onnx")
        if not os.path.exists(path):
            module, shape, outputs = self.build(name)  # the weights PyTorch runs
            torchvision_models.export(module, (batch,) + tuple(shape[1:]),
                                      torchvision_models.input_name(name), outputs, path, 17)
        return path


def input_shape(model):
    weights = {t.name for t in model.graph.initializer}
    first = next(i for i in model.graph.input if i.name not in weights)
    return tuple(d.dim_value for d in first.type.tensor_type.shape.dim)


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


# ----------------------------------------------------------------------------- timing
def torch_times(run, iterations, stream, capture=False, before_each=None):
    """Median per-iteration CUDA-event time (ms) of run() on `stream` after 10 warm-up calls;
    with `capture`, of replaying one CUDA graph of run(). before_each() (host only) runs
    before each timed iteration, outside the events."""
    import torch
    with torch.no_grad(), torch.cuda.stream(stream):
        for _ in range(10):
            if before_each:
                before_each()
            run()
        torch.cuda.synchronize()
        if capture:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=stream):
                run()
            run = graph.replay
            for _ in range(5):
                run()
        times = []
        for _ in range(iterations):
            if before_each:
                before_each()
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            a.record(stream)
            run()
            b.record(stream)
            b.synchronize()
            times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def compiled_times(model, x, iterations, stream):
    """(median ms, compile seconds) of torch.compile(mode="max-autotune"). Its cudagraph trees
    overwrite the previous call's outputs on each replay, which nothing here keeps."""
    import torch
    torch._dynamo.reset()
    # The same input every call, as for the graph baseline: no copy into a cudagraph input.
    torch._dynamo.mark_static_address(x)
    compiled = torch.compile(model, mode="max-autotune", dynamic=False)
    with torch.no_grad(), torch.cuda.stream(stream):
        t0 = time.perf_counter()
        torch.compiler.cudagraph_mark_step_begin()
        compiled(x)
        torch.cuda.synchronize()
        compile_s = time.perf_counter() - t0
    ms = torch_times(lambda: compiled(x), iterations, stream,
                     before_each=torch.compiler.cudagraph_mark_step_begin)
    torch._dynamo.reset()
    return ms, compile_s


def tarmac_time(tarmac, onnx_path, shape, precision, iterations, timeout_s):
    """{"tarmac ms", "tarmac layers", "tarmac device", "tarmac command"} or {"tarmac error"}."""
    dims = "x".join(map(str, shape))
    cmd = [tarmac, "run", f"--onnx={onnx_path}", "--device=cuda", "--useCudaGraph",
           f"--iterations={iterations}", "--warmUp=20",
           f"--shapes={onnx_input_name(onnx_path)}:{dims}"]
    if precision == "fp16":
        cmd.append("--fp16")
    result = {"tarmac command": shlex.join(cmd)}
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {**result, "tarmac error": f"timed out after {timeout_s} s"}
    result.update(parse_tarmac_run(out.stdout))
    if out.returncode != 0 or "tarmac ms" not in result:
        lines = (out.stderr or out.stdout).strip().splitlines()
        result["tarmac error"] = f"exit {out.returncode}: " + (lines[-1] if lines else "")
    return result


def parse_tarmac_run(stdout):
    """The numbers `tarmac run --device=cuda` prints (tools/tarmac/run.cc)."""
    result = {}
    m = GPU_COMPUTE_RE.search(stdout)
    if m:
        result["tarmac ms"] = float(m.group(1))
    m = LAYERS_RE.search(stdout)
    if m:
        result["tarmac layers"] = int(m.group(1))
    m = DEVICE_RE.search(stdout)
    if m:
        result["tarmac device"] = m.group(1).strip()
    return result


# ----------------------------------------------------------------------------- report
def best_torch(row):
    values = [row.get(f"{b} ms") for b in ALL_BASELINES]
    values = [v for v in values if v is not None]
    return min(values) if values else None


def fmt(v, digits=3):
    return "n/a" if v is None else f"{v:.{digits}f}"


def table_row(row):
    best = best_torch(row)
    t = row.get("tarmac ms")
    ratio = "n/a" if t is None or best is None else f"{t / best:.2f}"
    if ratio != "n/a" and row.get("compile ms") is None:
        ratio += " (no compile)"
    cells = [row["model"], str(row["batch"]), row["precision"], fmt(row.get("eager ms")),
             fmt(row.get("graph ms")), fmt(row.get("compile ms")), fmt(t), ratio,
             str(row.get("tarmac layers", "n/a")), fmt(row.get("compile s"), 0)]
    return "| " + " | ".join(cells) + " |"


def table_header():
    return ("| " + " | ".join(COLUMNS) + " |\n|---|---:|---|" + "---:|" * (len(COLUMNS) - 3))


def print_report(doc):
    log(f"\nCard: {doc['card']}; PyTorch {doc['torch']}, cuDNN {doc['cudnn']}; "
        f"TF32 on for float32 on both sides")
    for run in doc["runs"]:
        log(f"Run {run['date']} (tarmac {run['tarmac commit']}): `{run['command']}`")
    flags = sorted({(r["precision"], r.get("tarmac device", "n/a")) for r in doc["rows"]
                    if r.get("tarmac device")})
    for prec, device in flags:
        extra = " --fp16" if prec == "fp16" else ""
        log(f"tarmac {prec}: `tarmac run --device=cuda --useCudaGraph{extra}` ({device})")
    log(table_header())
    order = lambda r: (ALL_MODELS.index(r["model"]) if r["model"] in ALL_MODELS else 99,  # noqa
                       r["batch"], r["precision"] != "fp32")
    for row in sorted(doc["rows"], key=order):
        log(table_row(row))
    errors = [(r, k, v) for r in doc["rows"] for k, v in r.items() if k.endswith("error")]
    for r, k, v in errors:
        log(f"- {r['model']} b{r['batch']} {r['precision']}: {k}: {v}")
    for r in doc["rows"]:
        best, t = best_torch(r), r.get("tarmac ms")
        if r["precision"] == "fp16" and r["batch"] == 1 and best and t:
            verdict = "meets" if t <= 0.7 * best else "misses"
            log(f"- target {r['model']} fp16 b1: tarmac {t:.3f} ms vs 0.7 x best PyTorch "
                f"{0.7 * best:.3f} ms: {verdict}")
    slower = [r for r in doc["rows"] if best_torch(r) and r.get("tarmac ms")
              and r["tarmac ms"] > best_torch(r)]
    log("- slower than PyTorch: " + (", ".join(
        f"{r['model']} b{r['batch']} {r['precision']}" for r in slower) or "nowhere"))


def merge_docs(docs):
    """One result document from several of the same card and PyTorch: rows by (model, batch,
    precision), later documents' measured columns replacing earlier ones."""
    out = {k: docs[0][k] for k in ("card", "torch", "cudnn")}
    out["runs"], out["rows"] = [], []
    for doc in docs:
        if (doc["card"], doc["torch"]) != (out["card"], out["torch"]):
            sys.exit(f"error: results from {doc['card']}, PyTorch {doc['torch']} cannot be "
                     f"merged with {out['card']}, PyTorch {out['torch']}")
        out["runs"] += doc["runs"]
        for row in doc["rows"]:
            key = (row["model"], row["batch"], row["precision"])
            old = next((r for r in out["rows"]
                        if (r["model"], r["batch"], r["precision"]) == key), None)
            if old is None:
                out["rows"].append(dict(row))
            else:
                measured = {k.split(" ")[0] for k in row if k.endswith((" ms", " error"))}
                for k in [k for k in old if k.split(" ")[0] in measured]:
                    del old[k]  # a column measured again replaces its value or error
                old.update(row)
    return out


def write_json(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def git_commit():
    try:
        sha = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "-uno"],
                               capture_output=True, text=True).stdout.strip()
        return (sha or "unknown") + ("+dirty" if dirty else "")
    except OSError:
        return "unknown"


# ----------------------------------------------------------------------------- main
def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--tarmac", help="tarmac CLI built with CUDA (omit: PyTorch only)")
    ap.add_argument("--models", default=",".join(ALL_MODELS))
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--precisions", default="fp16,fp32")
    ap.add_argument("--baselines", default=",".join(ALL_BASELINES),
                    help="PyTorch columns to measure: eager,graph,compile")
    ap.add_argument("--no-compile", action="store_true", help="drop compile from --baselines")
    ap.add_argument("--yolox", default=YOLOX_DEFAULT, help="yolox_nano ONNX file (batch 1)")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--inductor-cache", default="/tmp/tarmac_inductor_cache",
                    help="TORCHINDUCTOR_CACHE_DIR (reuse across calls on one machine)")
    ap.add_argument("--work-dir", help="where the ONNX exports go (default: a temp dir)")
    ap.add_argument("--out-json", help="results, rewritten after each configuration")
    ap.add_argument("--merge", action="store_true",
                    help="keep --out-json's rows and fill in the columns measured now")
    ap.add_argument("--deadline-s", type=float, default=0,
                    help="start no new measurement after this many seconds (0: none)")
    ap.add_argument("--tarmac-timeout-s", type=int, default=300)
    ap.add_argument("--report-only", action="store_true", help="print --out-json's table")
    ap.add_argument("--combine", nargs="+", metavar="JSON",
                    help="merge these result files (same card) into --out-json and print")
    args = ap.parse_args(argv)
    args.models = args.models.split(",")
    args.batches = [int(b) for b in args.batches.split(",")]
    args.precisions = args.precisions.split(",")
    args.baselines = [b for b in args.baselines.split(",") if b]
    if args.no_compile:
        args.baselines = [b for b in args.baselines if b != "compile"]
    for what, values, allowed in (("model", args.models, ALL_MODELS),
                                  ("precision", args.precisions, ("fp32", "fp16")),
                                  ("baseline", args.baselines, ALL_BASELINES)):
        bad = [v for v in values if v not in allowed]
        if bad:
            ap.error(f"unknown {what} {bad}; choose from {list(allowed)}")
    if (args.merge or args.report_only) and not args.out_json:
        ap.error("--merge and --report-only need --out-json")
    return args


def main(argv=None):
    start = time.monotonic()
    args = parse_args(argv)
    if args.report_only or args.combine:
        docs = []
        for path in args.combine or [args.out_json]:
            with open(path) as f:
                docs.append(json.load(f))
        doc = merge_docs(docs)
        if args.combine and args.out_json:
            write_json(args.out_json, doc)
        print_report(doc)
        return 0
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.abspath(args.inductor_cache)
    import torch  # after TORCHINDUCTOR_CACHE_DIR is set
    if not torch.cuda.is_available():
        sys.exit("error: no CUDA device for PyTorch")
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True  # both sides use TF32 for float32, as
    torch.backends.cudnn.allow_tf32 = True        # tarmac and TensorRT do by default
    run_info = {"date": datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC"), "command": "python " + shlex.join(sys.argv),
        "tarmac commit": git_commit()}
    doc = {"card": torch.cuda.get_device_name(), "torch": torch.__version__,
           "cudnn": torch.backends.cudnn.version(), "runs": [], "rows": []}
    if args.merge and os.path.exists(args.out_json):
        with open(args.out_json) as f:
            doc = merge_docs([json.load(f), doc])
    doc["runs"].append(run_info)
    log(f"Card: {doc['card']}; PyTorch {doc['torch']}, cuDNN {doc['cudnn']}; "
        f"inductor cache {os.environ['TORCHINDUCTOR_CACHE_DIR']}")
    log(f"Command: {run_info['command']}")
    log(table_header())
    models = Models(args.work_dir or tempfile.mkdtemp(prefix="tarmac_bench_"), args.yolox)
    os.makedirs(models.work_dir, exist_ok=True)
    stream = torch.cuda.Stream()

    def over_deadline():
        return args.deadline_s and time.monotonic() - start > args.deadline_s

    # fp16 batch 1 (the target) first, so a run cut short still has it for every model
    configs = [(m, b, p) for p in args.precisions for b in args.batches for m in args.models]
    for name, batch, prec in configs:
        if over_deadline():
            log(f"- deadline: {name} b{batch} {prec} and later configurations not run")
            break
        row = next((r for r in doc["rows"] if (r["model"], r["batch"], r["precision"])
                    == (name, batch, prec)), None)
        if row is None:
            row = {"model": name, "batch": batch, "precision": prec}
            doc["rows"].append(row)
        for baseline in args.baselines:
            for k in (f"{baseline} ms", f"{baseline} error", f"{baseline} s"):
                row.pop(k, None)
        base, shape, _ = models.build(name)
        bshape = (batch,) + tuple(shape[1:])
        row["input"] = "x".join(map(str, bshape))
        if args.tarmac:
            for k in [k for k in row if k.startswith("tarmac")]:
                del row[k]
            row.update(tarmac_time(args.tarmac, models.onnx_path(name, batch), bshape, prec,
                                   args.iterations, args.tarmac_timeout_s))
        model = copy.deepcopy(base).cuda().eval()
        x = torch.randn(bshape).cuda()
        if prec == "fp16":
            model, x = model.half(), x.half()
        for baseline in args.baselines:
            if baseline == "compile" and over_deadline():
                row["compile error"] = "skipped: deadline"
                continue
            try:
                if baseline == "eager":
                    row["eager ms"] = torch_times(lambda: model(x), args.iterations, stream)
                elif baseline == "graph":
                    row["graph ms"] = torch_times(lambda: model(x), args.iterations, stream,
                                                  capture=True)
                else:
                    row["compile ms"], row["compile s"] = compiled_times(
                        model, x, args.iterations, stream)
            except Exception as e:  # noqa: BLE001 - one failed baseline must not stop the run
                row[f"{baseline} error"] = f"{type(e).__name__}: {str(e)[:300]}"
                torch._dynamo.reset()
        model = x = None  # free the GPU copy before the next configuration
        torch.cuda.empty_cache()
        log(table_row(row))
        if args.out_json:
            write_json(args.out_json, doc)
    log(f"(measured in {time.monotonic() - start:.0f} s)")
    print_report(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())

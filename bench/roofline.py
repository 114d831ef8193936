#!/usr/bin/env python3
"""Per-layer GPU time of a tarmac engine against the roofline of the card it ran on.

Runs `tarmac run --device=cuda --useCudaGraph --exportProfile=FILE` on one ONNX model at one
batch and precision, or reads such a FILE (--profile-json), and sets every layer against its
roofline time max(FLOPs / peak FLOP/s, bytes / bandwidth). The profile (tools/tarmac/run.cc)
is a JSON array: {"count": iterations}, then one record per layer in execution order with its
type ("Conv(NHWC)+Silu", "MatMul+Bias+Gelu", "Reformat(NCHW->NHWC)", ...), GPU time
(each layer alone, replayed as a CUDA graph: no host launch gaps) and each input and output as stored,
"float16[1, 52, 52, 64]" (NHWC layers list physical dims; weights are inputs; "" = absent).
The whole inference's time with one CUDA graph launch is the "GPU compute" median that the
same `tarmac run` prints (--log reads it from a saved output).

Each layer is costed from its own record:
- bytes: the sum of its input and output tensors at their stored dtype (weights included; a
  layer reads each input once and writes each output once at best);
- FLOPs: 2 x multiply-adds for Conv / ConvTranspose (NCHW or, with "(NHWC)" in the type,
  channels-last) and Gemm / MatMul (batch dims included); about one per output element for
  everything else (pooling windows, reductions and fused elementwise chains are undercounted,
  but those layers are bandwidth-bound by far). Fused epilogues (bias, activation, residual
  add) are a few operations per output element beside 2 x C x k x k per convolution output,
  so they are not counted; their tensors (bias, residual) are in the bytes.
- peak: by the layer's precision (its first floating-point tensor): float16 and bfloat16
  layers the fp16 tensor-core peak (the same rate for bfloat16 on sm_80 and later); float32
  layers the TF32 peak, or the FP32 one when tarmac ran with --noTF32; other layers FP32.
  Measured here with PyTorch on the same card: an 8192^3 matrix product in float16, float32
  with TF32 and float32 without, and a 1 GiB device-to-device copy (bytes read + written per
  second). --peak-tflops / --peak-gbps override them.

The ratio time / roofline says how far each layer is from its bound (1.0 = at the bound).
Depthwise convolutions and elementwise layers cannot use tensor cores, so their compute bound
is optimistic; most of them are bandwidth-bound anyway. The report: every layer; the totals
(sum of layer times, CUDA-graph GPU compute, sum of roofline times); the layers with the most
time beyond their roofline; and the same by layer type.

  python bench/roofline.py --onnx=carry/models/yolox_nano/model.onnx --batch=1 \\
      --precision=fp16 --tarmac=build-gpu/tarmac [--iterations=200] [--noTF32] \\
      [--save-profile=profile.json] [--save-log=run.txt]
  python bench/roofline.py --profile-json=profile.json [--log=run.txt] [--noTF32] \\
      --peak-tflops=fp16=700,tf32=350,fp32=60 --peak-gbps=3000   # no GPU needed
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int64": 8,
               "int32": 4, "int8": 1, "uint8": 1, "bool": 1}
HALF_DTYPES = {"float16", "bfloat16"}
PEAK_KINDS = ("fp16", "tf32", "fp32")
TENSOR_RE = re.compile(r"^([a-z0-9]+)\[(.*)\]$")
GPU_COMPUTE_RE = re.compile(r"^GPU compute: .*median = ([0-9.]+) ms")
DEVICE_RE = re.compile(r"^Device: cuda, (.*)$")
MODEL_RE = re.compile(r"^Model: .*, (\d+) layers\)")


# ------------------------------------------------------------------------- costs per layer
class Tensor:
    """One "dtype[d0, d1, ...]" string of a profile record."""

    def __init__(self, text):
        m = TENSOR_RE.match(text.strip())
        if not m:
            raise ValueError(f"tensor '{text}' is not dtype[dims]")
        self.dtype, dims = m.group(1), m.group(2).strip()
        if self.dtype not in DTYPE_BYTES:
            raise ValueError(f"tensor '{text}': unknown dtype '{self.dtype}'")
        try:
            self.dims = [int(d) for d in dims.split(",")] if dims else []  # [] is a scalar
        except ValueError:
            raise ValueError(f"tensor '{text}' has no static shape") from None

    @property
    def numel(self):
        return math.prod(self.dims)

    @property
    def nbytes(self):
        return self.numel * DTYPE_BYTES[self.dtype]


class Layer:
    """One layer record of `tarmac run --exportProfile`, with its FLOPs and bytes."""

    def __init__(self, index, record):
        try:
            self.index = index
            self.name, self.type = record["name"], record["type"]
            self.device = record.get("device", "cuda")
            self.ms = float(record["averageMs"])
            self.inputs = [Tensor(t) if t else None for t in record["inputs"]]
            self.outputs = [Tensor(t) if t else None for t in record["outputs"]]
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"profile layer {index} ('{record.get('name', '?')}'): "
                             f"{e if isinstance(e, ValueError) else f'bad record ({e!r})'}")
        self.op = re.match(r"[A-Za-z]*", self.type).group(0)
        self.nhwc = "(NHWC)" in self.type
        self.nbytes = sum(t.nbytes for t in self.inputs + self.outputs if t)
        try:
            self.flops = self._flops()
        except (IndexError, TypeError, ValueError) as e:
            raise ValueError(f"{self.type} '{self.name}': {e or 'missing tensor'}") from None
        dtypes = [t.dtype for t in self.inputs + self.outputs if t and t.dtype.startswith(
            ("float", "bfloat"))]
        self.dtype = dtypes[0] if dtypes else None

    def _flops(self):
        x, w = (self.inputs + [None, None])[:2]
        y = self.outputs[0]
        if self.op == "Conv":
            # NCHW: X [N, C, H, W], W [M, C/g, kH, kW], Y [N, M, H', W'];
            # NHWC: X [N, H, W, C], W [M, kH, kW, C/g], Y [N, H', W', M]
            c, c_g = (x.dims[-1], w.dims[-1]) if self.nhwc else (x.dims[1], w.dims[1])
            m = y.dims[-1] if self.nhwc else y.dims[1]
            if m != w.dims[0] or c % c_g:
                raise ValueError(f"X {x.dims}, W {w.dims}, Y {y.dims} do not fit a "
                                 f"{'NHWC' if self.nhwc else 'NCHW'} convolution")
            return 2 * y.numel * math.prod(w.dims[1:])  # per output: C/g x kH x kW MACs
        if self.op == "ConvTranspose":
            # NCHW: W [C, M/g, kH, kW]; NHWC: W [C, kH, kW, M/g]. Each input element is
            # multiplied into M/g x kH x kW outputs.
            c = x.dims[-1] if self.nhwc else x.dims[1]
            if c != w.dims[0]:
                raise ValueError(f"X {x.dims}, W {w.dims} do not fit a "
                                 f"{'NHWC' if self.nhwc else 'NCHW'} transposed convolution")
            return 2 * x.numel * math.prod(w.dims[1:])
        if self.op == "Gemm":  # A [M, K] or [K, M] (transA), Y [M, N]
            return 2 * y.numel * (x.numel // y.dims[0])
        if self.op == "MatMul":  # A [..., M, K], B [..., K, N], Y [..., M, N] (numpy)
            return 2 * y.numel * x.dims[-1]
        return sum(t.numel for t in self.outputs if t)

    def peak_kind(self, tf32):
        if self.dtype in HALF_DTYPES:
            return "fp16"
        return "tf32" if self.dtype == "float32" and tf32 else "fp32"


def parse_profile_json(doc):
    """(iterations, [Layer]) from the parsed JSON of `tarmac run --exportProfile`."""
    if not isinstance(doc, list) or not doc or not isinstance(doc[0], dict) \
            or "count" not in doc[0]:
        raise ValueError("not a tarmac profile: expected a JSON array starting with "
                         "{\"count\": iterations}")
    for i, r in enumerate(doc[1:]):
        if not isinstance(r, dict):
            raise ValueError(f"profile layer {i}: not a JSON object")
    return int(doc[0]["count"]), [Layer(i, r) for i, r in enumerate(doc[1:])]


def parse_run_log(text):
    """{"gpu_compute_ms", "device", "tf32", "layer_count"} found in `tarmac run` output."""
    out = {}
    for line in text.splitlines():
        m = GPU_COMPUTE_RE.match(line)
        if m:
            out["gpu_compute_ms"] = float(m.group(1))
        m = DEVICE_RE.match(line)
        if m:
            out["device"] = m.group(1).strip()
            if "; TF32 off" in line:
                out["tf32"] = False
            elif "; TF32 on" in line:
                out["tf32"] = True
        m = MODEL_RE.match(line)
        if m:
            out["layer_count"] = int(m.group(1))
    return out


# ------------------------------------------------------------------------- tarmac
def model_input(onnx_path, batch):
    """(ONNX file to run, input name, input shape): the model rebatched if `batch` differs."""
    import onnx
    model = onnx.load(onnx_path)
    weights = {t.name for t in model.graph.initializer}
    first = next(i for i in model.graph.input if i.name not in weights)
    shape = [d.dim_value for d in first.type.tensor_type.shape.dim]
    if batch and batch != shape[0]:
        import onnx_to_torch
        model = onnx_to_torch.rebatch_onnx(model, batch)
        shape[0] = batch
        onnx_path = os.path.join(tempfile.mkdtemp(prefix="roofline_"), f"b{batch}.onnx")
        onnx.save(model, onnx_path)
    return onnx_path, first.name, shape


def tarmac_command(tarmac, onnx_path, input_name, shape, precision, tf32, iterations,
                   profile_path):
    cmd = [tarmac, "run", f"--onnx={onnx_path}", "--device=cuda", "--useCudaGraph",
           f"--exportProfile={profile_path}", f"--iterations={iterations}", "--warmUp=20",
           f"--shapes={input_name}:{'x'.join(map(str, shape))}"]
    if precision in ("fp16", "bf16"):
        cmd.append(f"--{precision}")
    if not tf32:
        cmd.append("--noTF32")
    return cmd


def run_tarmac(cmd):
    """tarmac's stdout; exits with its stderr if it fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed (exit {proc.returncode}):\n"
                 f"{proc.stderr or proc.stdout}")
    return proc.stdout


# ------------------------------------------------------------------------- peaks
def parse_peak_tflops(text):
    """"700" (every kind) or "fp16=700,tf32=350,fp32=60" -> {kind: FLOP/s}."""
    if not text:
        return {}
    if "=" not in text:
        return {k: float(text) * 1e12 for k in PEAK_KINDS}
    peaks = {}
    for item in text.split(","):
        kind, _, value = item.partition("=")
        if kind not in PEAK_KINDS:
            raise ValueError(f"--peak-tflops: unknown kind '{kind}' (use {', '.join(PEAK_KINDS)})")
        peaks[kind] = float(value) * 1e12
    return peaks


def measure_peaks(kinds, bandwidth):
    """({kind: FLOP/s of an 8192^3 matmul}, bytes/s of a 1 GiB device copy or None)."""
    import torch
    if not torch.cuda.is_available():
        sys.exit("error: no CUDA device for PyTorch to measure peaks; give --peak-tflops "
                 "(every kind) and --peak-gbps")

    def timed(fn, reps):
        for _ in range(3):
            fn()
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(reps):
            fn()
        stop.record()
        stop.synchronize()
        return start.elapsed_time(stop) / 1e3 / reps

    n, flops = 8192, {}
    saved = torch.get_float32_matmul_precision()
    try:
        for kind in kinds:
            dtype = torch.float16 if kind == "fp16" else torch.float32
            torch.set_float32_matmul_precision("high" if kind == "tf32" else "highest")
            a = torch.randn(n, n, device="cuda", dtype=dtype)
            b = torch.randn(n, n, device="cuda", dtype=dtype)
            flops[kind] = 2 * n**3 / timed(lambda: a @ b, 20)
            del a, b
    finally:
        torch.set_float32_matmul_precision(saved)
    bw = None
    if bandwidth:
        src = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
        dst = torch.empty_like(src)
        bw = 2 * src.numel() / timed(lambda: dst.copy_(src), 20)
    return flops, bw


# ------------------------------------------------------------------------- report
class Row:
    """A layer (or a group of them) against the roofline."""

    def __init__(self, name, type_, ms, flops, nbytes, roof_ms, kind="", count=1):
        self.name, self.type, self.ms, self.flops, self.nbytes = name, type_, ms, flops, nbytes
        self.roof_ms, self.kind, self.count = roof_ms, kind, count

    @property
    def excess_ms(self):
        return self.ms - self.roof_ms

    @property
    def ratio(self):
        return self.ms / self.roof_ms if self.roof_ms > 0 else None


def roofline_ms(flops, nbytes, peak, bw):
    return max(flops / peak, nbytes / bw) * 1e3


def layer_rows(layers, peaks, bw, tf32):
    rows = []
    for layer in layers:
        kind = layer.peak_kind(tf32)
        type_ = layer.type + ("" if layer.device == "cuda" else f" [{layer.device}]")
        rows.append(Row(layer.name, type_, layer.ms, layer.flops, layer.nbytes,
                        roofline_ms(layer.flops, layer.nbytes, peaks[kind], bw), kind))
    return rows


def type_rows(rows):
    """One row per layer type, by time."""
    groups = {}
    for r in rows:
        g = groups.setdefault(r.type, Row(r.type, r.type, 0.0, 0, 0, 0.0, count=0))
        g.ms += r.ms
        g.flops += r.flops
        g.nbytes += r.nbytes
        g.roof_ms += r.roof_ms
        g.count += 1
    return sorted(groups.values(), key=lambda g: -g.ms)


def si(v, unit=""):
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:.2f} {prefix}{unit}".strip()
    return f"{v:.0f} {unit}".strip()


def fmt_ratio(r):
    return "n/a" if r.ratio is None else f"{r.ratio:.1f}"


def print_report(rows, iterations, run, peaks, bw, tf32, title, top):
    total = sum(r.ms for r in rows) or 1.0
    print(title)
    print("Peaks: " + ", ".join(f"{k} {si(v, 'FLOP/s')}" for k, v in peaks.items())
          + f"; copy {si(bw, 'B/s')}; float32 layers use the {'tf32' if tf32 else 'fp32'} peak")
    print("\n| # | layer | type | peak | time ms | share | FLOPs | bytes | FLOP/byte | "
          "roofline ms | bound | time / roofline |")
    print("|---:|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for i, r in enumerate(rows):
        bound = "compute" if r.flops / peaks[r.kind] > r.nbytes / bw else "memory"
        intensity = f"{r.flops / r.nbytes:.1f}" if r.nbytes else "n/a"
        print(f"| {i} | {r.name} | {r.type} | {r.kind} | {r.ms:.4f} | {100 * r.ms / total:.1f}% "
              f"| {si(r.flops)} | {si(r.nbytes, 'B')} | {intensity} | {r.roof_ms:.4f} | {bound} "
              f"| {fmt_ratio(r)} |")

    roof = sum(r.roof_ms for r in rows)
    print(f"\nLayers: {len(rows)}; {si(sum(r.flops for r in rows), 'FLOP')}, "
          f"{si(sum(r.nbytes for r in rows), 'B')} moved")
    print(f"Sum of layer times (each layer alone, median of {iterations} runs): {total:.4f} ms")
    graph_ms = run.get("gpu_compute_ms")
    print("GPU compute with CUDA graph (median): "
          + (f"{graph_ms:.4f} ms" if graph_ms else "n/a (no `tarmac run` output; give --log)"))
    line = f"Sum of layer roofline times: {roof:.4f} ms; layer times / roofline {total / roof:.2f}"
    if graph_ms:
        line += f", CUDA graph / roofline {graph_ms / roof:.2f}"
    print(line)

    print(f"\nTop {top} layers by time beyond the roofline (time - roofline):")
    print("| # | layer | type | time ms | roofline ms | excess ms | share of total | "
          "time / roofline |")
    print("|---:|---|---|---:|---:|---:|---:|---:|")
    order = sorted(range(len(rows)), key=lambda i: -rows[i].excess_ms)
    for i in order[:top]:
        r = rows[i]
        print(f"| {i} | {r.name} | {r.type} | {r.ms:.4f} | {r.roof_ms:.4f} | {r.excess_ms:.4f} | "
              f"{100 * r.excess_ms / total:.1f}% | {fmt_ratio(r)} |")

    print("\nBy layer type:")
    print("| type | layers | time ms | share | FLOPs | bytes | roofline ms | excess ms | "
          "time / roofline |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for g in type_rows(rows):
        print(f"| {g.type} | {g.count} | {g.ms:.4f} | {100 * g.ms / total:.1f}% | {si(g.flops)} "
              f"| {si(g.nbytes, 'B')} | {g.roof_ms:.4f} | {g.excess_ms:.4f} | {fmt_ratio(g)} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--onnx", help="model to run (with --tarmac)")
    ap.add_argument("--batch", type=int, help="rebatch the model (default: the file's)")
    ap.add_argument("--precision", default="fp16", choices=("fp32", "fp16", "bf16"))
    ap.add_argument("--noTF32", action="store_true",
                    help="tarmac without TF32 (passed on); float32 layers use the fp32 peak")
    ap.add_argument("--tarmac", help="tarmac CLI built with CUDA")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--profile-json", help="read this `tarmac run --exportProfile` file "
                    "instead of running tarmac")
    ap.add_argument("--log", help="with --profile-json: the saved `tarmac run` output (CUDA "
                    "graph time, device, TF32)")
    ap.add_argument("--save-profile", help="keep tarmac's profile JSON here")
    ap.add_argument("--save-log", help="write tarmac's output here")
    ap.add_argument("--peak-tflops", help="instead of measuring: T (every kind) or "
                    "fp16=T,tf32=T,fp32=T")
    ap.add_argument("--peak-gbps", type=float, help="instead of measuring")
    ap.add_argument("--top", type=int, default=10, help="layers listed by time beyond roofline")
    args = ap.parse_args(argv)
    tf32 = not args.noTF32
    try:
        given = parse_peak_tflops(args.peak_tflops)
    except ValueError as e:
        ap.error(str(e))

    if args.profile_json:
        profile_path, text = args.profile_json, ""
        if args.log:
            with open(args.log) as f:
                text = f.read()
        title = f"Roofline of {args.profile_json}"
        how = f"read from {args.profile_json}" + (f" and {args.log}" if args.log else "")
    elif args.tarmac and args.onnx:
        onnx_path, input_name, shape = model_input(args.onnx, args.batch)
        profile_path = args.save_profile or os.path.join(
            tempfile.mkdtemp(prefix="roofline_"), "profile.json")
        cmd = tarmac_command(args.tarmac, onnx_path, input_name, shape, args.precision, tf32,
                             args.iterations, profile_path)
        text = run_tarmac(cmd)
        title = (f"Roofline of {args.onnx}, input {input_name}:{'x'.join(map(str, shape))}, "
                 f"{args.precision}")
        how = "`" + " ".join(cmd) + "`"
    else:
        ap.error("give --tarmac and --onnx, or --profile-json")
    if args.save_log:
        with open(args.save_log, "w") as f:
            f.write(text)
    run = parse_run_log(text)
    if run.get("tf32", tf32) != tf32:
        sys.exit(f"error: the tarmac output says TF32 {'on' if run['tf32'] else 'off'}; "
                 f"{'drop' if args.noTF32 else 'pass'} --noTF32")
    try:
        with open(profile_path) as f:
            iterations, layers = parse_profile_json(json.load(f))
    except (OSError, ValueError) as e:
        sys.exit(f"error: {profile_path}: {e}")

    needed = sorted({layer.peak_kind(tf32) for layer in layers}, key=PEAK_KINDS.index)
    missing = [k for k in PEAK_KINDS if k not in given]
    if missing or not args.peak_gbps:
        measured, bw = measure_peaks(missing, not args.peak_gbps)
        peaks_from = "measured with PyTorch" + (" (some given)" if given or args.peak_gbps
                                                else "")
    else:
        measured, bw, peaks_from = {}, None, "given"
    peaks = {k: given.get(k, measured.get(k)) for k in PEAK_KINDS}
    bw = args.peak_gbps * 1e9 if args.peak_gbps else bw
    rows = layer_rows(layers, peaks, bw, tf32)
    title += (f"; {run.get('device', 'device n/a')}; {len(layers)} layers "
              f"(peaks used: {', '.join(needed)})\nProfile: {how}; peaks {peaks_from}")
    print_report(rows, iterations, run, peaks, bw, tf32, title, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())

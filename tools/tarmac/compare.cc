// `tarmac compare`: accuracy of an engine against the reference, per output and per layer,
// and the float32 layers a half-precision engine needs (library: src/compare).
#include <cstdio>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "compare/compare.h"
#include "runtime/device_engine.h"

namespace tarmac::cli {

namespace {

struct CompareFlags {
  compare::CompareOptions o;
  std::string device = "auto";
  bool fp16 = false, bf16 = false;
  std::string shapes, layer_precisions, val_range, error_stat = "elemwise";
  bool no_histogram = false;
};

StatusOr<std::pair<double, double>> parse_range(const std::string& text) {
  const size_t comma = text.find(',');
  if (comma == std::string::npos)
    return invalid_argument("--val-range: '{}' is not lo,hi (e.g. 0,1)", text);
  try {
    size_t used = 0;
    const std::string a = text.substr(0, comma), b = text.substr(comma + 1);
    const double lo = std::stod(a, &used);
    if (used != a.size()) throw std::invalid_argument(a);
    const double hi = std::stod(b, &used);
    if (used != b.size()) throw std::invalid_argument(b);
    return std::make_pair(lo, hi);
  } catch (const std::exception&) {
    return invalid_argument("--val-range: '{}' is not lo,hi (e.g. 0,1)", text);
  }
}

int compare_command(CompareFlags f) {
  compare::CompareOptions& o = f.o;
  if (f.fp16 && f.bf16) return fail("--fp16 and --bf16 exclude each other");
  if (!o.load_engine.empty() && (f.fp16 || f.bf16 || !f.layer_precisions.empty()))
    return fail(
        "--loadEngine runs the plan as built: --fp16, --bf16 and --layerPrecisions "
        "apply only when building from --onnx");
  o.engine.precision = f.fp16 ? DType::kFloat16 : f.bf16 ? DType::kBFloat16 : DType::kFloat32;
  auto shapes = parse_shapes(f.shapes);
  if (!shapes.is_ok()) return fail(shapes.status().message());
  o.engine.shapes = *shapes;
  auto keep = parse_fp32_layers(f.layer_precisions);
  if (!keep.is_ok()) return fail(keep.status().message());
  o.engine.keep_fp32 = *keep;
  auto stat = compare::parse_error_stat(f.error_stat);
  if (!stat.is_ok()) return fail(stat.status().message());
  o.check.stat = *stat;
  if (!(o.check.quantile >= 0 && o.check.quantile <= 1))
    return fail("--error-quantile must be within [0, 1]");
  o.check.histogram = !f.no_histogram;
  if (!f.val_range.empty()) {
    auto r = parse_range(f.val_range);
    if (!r.is_ok()) return fail(r.status().message());
    o.low = r->first;
    o.high = r->second;
  }
  if (f.device == "auto") {
    o.engine.device = query_device_identity().is_ok() ? "cuda" : "cpu";
  } else if (f.device == "cpu" || f.device == "cuda") {
    o.engine.device = f.device;
  } else {
    return fail("--device must be auto, cpu or cuda, not '" + f.device + "'");
  }
  auto passed = compare::run_compare(o, [](const std::string& line) {
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
  });
  std::fflush(stdout);
  if (!passed.is_ok()) return fail(passed.status().message());
  return *passed ? 0 : 1;
}

}  // namespace

void add_compare_command(CLI::App& app, Action* action) {
  auto f = std::make_shared<CompareFlags>();
  compare::CompareOptions& o = f->o;
  CLI::App* sub = app.add_subcommand(
      "compare",
      "Compare an engine with the reference on the same inputs: per-output error statistics, "
      "per-layer comparison (--mark-all) and float32 layer search (--bisect-precision)");
  sub->add_option("--onnx", o.onnx, "ONNX model (with --loadEngine: weights of a stripped plan)");
  sub->add_option("--loadEngine", o.load_engine, "Plan to test instead of building from --onnx");
  sub->add_option("--device", f->device, "Engine under test: auto (cuda when present), cpu, cuda");
  sub->add_flag("--fp16", f->fp16, "Build the engine under test in float16");
  sub->add_flag("--bf16", f->bf16, "Build the engine under test in bfloat16");
  sub->add_flag("--tf32", o.engine.tf32, "Allow TF32 for float32 convolutions and GEMMs (CUDA)");
  sub->add_option("--layerPrecisions", f->layer_precisions, "Layers kept in float32: a:fp32,...");
  sub->add_option("--shapes", f->shapes, "Input shapes name:1x3x224x224,...");
  sub->add_option("--reference-precision", o.reference,
                  "Reference: fp32, fp64 (float64 everywhere) or auto (fp64 when the engine "
                  "under test is the CPU in float32)");
  sub->add_option("--loadInputs", o.load_inputs,
                  "Inputs: name:file.npy or name:file.bin items, and/or file.npz (one sample "
                  "each); others random");
  sub->add_option("--samples", o.samples, "Random input samples (default 1)");
  sub->add_option("--seed", o.seed, "Seed of the random inputs (default 1)");
  sub->add_option("--val-range", f->val_range, "Range of random inputs lo,hi (default 0,1)");
  sub->add_option("--atol", o.check.tol.atol, "Absolute tolerance (default 1e-5)");
  sub->add_option("--rtol", o.check.tol.rtol, "Relative tolerance (default 1e-5)");
  sub->add_option("--check-error-stat", f->error_stat,
                  "elemwise (default), mean, median, max or quantile");
  sub->add_option("--error-quantile", o.check.quantile, "Quantile for quantile (default 0.99)");
  sub->add_flag("--no-histogram", f->no_histogram, "Leave out the value histograms");
  sub->add_flag("--mark-all", o.mark_all, "Compare every tensor of the engine with the reference");
  sub->add_flag("--bisect-precision", o.bisect,
                "Find layers to keep in float32 so that a --fp16/--bf16 engine passes");
  sub->add_option("--save-inputs", o.save_inputs, "Write the inputs (.npz per sample)");
  sub->add_option("--save-outputs", o.save_outputs,
                  "Write the engine's outputs (.npz or trtexec .json per sample)");
  sub->add_option("--save-reference", o.save_reference,
                  "Write the reference outputs (.npz or trtexec .json per sample)");
  sub->add_option("--load-outputs", o.load_outputs,
                  "Golden outputs instead of the reference run: .npz or trtexec .json, one "
                  "file per sample, comma-separated");
  sub->callback([f, action] { *action = [f] { return compare_command(*f); }; });
}

}  // namespace tarmac::cli

// `tarmac run`: load an ONNX model, run it on given or seeded random inputs, print outputs
// and latency, optionally export outputs as trtexec JSON.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <random>

#include "cli_common.h"
#include "commands.h"
#include "core/parallel.h"
#include "onnx/importer.h"
#include "runtime/executor.h"

namespace tarmac::cli {

namespace {

struct RunOptions {
  std::string onnx;
  std::string shapes;
  std::string load_inputs;
  std::string export_output;
  std::string device = "cpu";
  uint64_t seed = 0;
  bool seed_given = false;
  int iterations = 10;
  int warmup = 1;
  int threads = 0;
  bool profile = false;
};

void print_tensor_summary(const std::string& name, const Tensor& t) {
  std::printf("  %s: %s[%s]", name.c_str(), std::string(dtype_name(t.dtype())).c_str(),
              dims_to_string(t.dims()).c_str());
  const int64_t n = t.numel();
  if (n == 0) {
    std::printf(" (empty)\n");
    return;
  }
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = t.as_double(i);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
  }
  std::printf(" min %.6g max %.6g mean %.6g\n    values:", lo, hi, sum / static_cast<double>(n));
  for (int64_t i = 0; i < std::min<int64_t>(n, 8); ++i) std::printf(" %.6g", t.as_double(i));
  std::printf(n > 8 ? " ...\n" : "\n");
}

int run_command(const RunOptions& o) {
  if (o.device != "cpu") {
    return fail("--device=" + o.device +
                " is not available: this build runs on the CPU only (--device=cpu)");
  }
  if (o.iterations < 1) return fail("--iterations must be at least 1");
  if (o.warmup < 0) return fail("--warmUp must not be negative");
  auto shapes = parse_shapes(o.shapes);
  if (!shapes.is_ok()) return fail(shapes.status().message());
  auto files = parse_name_files(o.load_inputs);
  if (!files.is_ok()) return fail(files.status().message());

  auto imported = import_onnx_file(o.onnx);
  if (!imported.is_ok()) return fail(imported.status().message());
  // Loaded inputs without --shapes take the model's static shape.
  ExecutorOptions eo;
  eo.num_threads = o.threads;
  eo.input_shapes = *shapes;
  eo.profile = o.profile;
  const Graph& g0 = imported->model.graph;
  for (const auto& [name, path] : *files) {
    const Value* v = g0.find_value(name);
    if (!v || !v->is_graph_input)
      return fail("--loadInputs names '" + name + "', which is not an input of the model");
  }
  for (const auto& [name, dims] : *shapes) {
    const Value* v = g0.find_value(name);
    if (!v || !v->is_graph_input)
      return fail("--shapes names '" + name + "', which is not an input of the model");
  }
  auto ex = Executor::create(std::move(imported->model), eo);
  if (!ex.is_ok()) return fail(ex.status().message());
  const Graph& g = (*ex)->model().graph;

  const uint64_t seed = o.seed_given ? o.seed : std::random_device{}();
  std::printf("Model: %s (ai.onnx opset %lld, %zu nodes, %zu run at inference)\n", o.onnx.c_str(),
              static_cast<long long>((*ex)->model().onnx_opset()), g.nodes.size(),
              (*ex)->num_runtime_nodes());
  std::printf("Device: cpu, %d threads\n", num_threads());
  std::printf("Random inputs seed: %llu\n", static_cast<unsigned long long>(seed));
  std::vector<std::pair<std::string, Tensor>> inputs;
  uint64_t k = 0;
  for (const Value* v : g.inputs) {
    if (!v->type.has_shape || !shape_is_static(v->type.shape)) {
      return fail("input '" + v->name + "' has dynamic shape " + v->type.to_string() +
                  "; pass --shapes=" + v->name + ":<dims like 1x3x416x416>");
    }
    const Dims dims = static_dims(v->type.shape);
    if (auto it = files->find(v->name); it != files->end()) {
      auto t = load_raw_tensor(it->second, v->type.dtype, dims);
      if (!t.is_ok()) return fail(t.status().message());
      inputs.emplace_back(v->name, std::move(t).value());
      std::printf("Input %s: %s[%s] from %s\n", v->name.c_str(),
                  std::string(dtype_name(v->type.dtype)).c_str(), dims_to_string(dims).c_str(),
                  it->second.c_str());
    } else {
      auto probe = Tensor::create(v->type.dtype, dims);  // refuses absurd sizes
      if (!probe.is_ok()) return fail("input '" + v->name + "': " + probe.status().message());
      inputs.emplace_back(v->name, random_tensor(v->type.dtype, dims, seed + k++));
      std::printf("Input %s: %s[%s] random\n", v->name.c_str(),
                  std::string(dtype_name(v->type.dtype)).c_str(), dims_to_string(dims).c_str());
    }
  }

  std::vector<Tensor> outputs;
  for (int i = 0; i < o.warmup; ++i) {
    Status s = (*ex)->run(inputs, &outputs);
    if (!s.is_ok()) return fail(s.message());
  }
  std::vector<double> ms;
  for (int i = 0; i < o.iterations; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    Status s = (*ex)->run(inputs, &outputs);
    if (!s.is_ok()) return fail(s.message());
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::vector<std::string> names;
  std::printf("Outputs:\n");
  for (size_t i = 0; i < outputs.size(); ++i) {
    names.push_back(g.outputs[i]->name);
    print_tensor_summary(names.back(), outputs[i]);
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  double mean = 0;
  for (double v : ms) mean += v;
  mean /= static_cast<double>(ms.size());
  std::printf(
      "Latency: min = %.3f ms, max = %.3f ms, mean = %.3f ms, median = %.3f ms (%d iterations)\n",
      sorted.front(), sorted.back(), mean, sorted[sorted.size() / 2], o.iterations);
  if (o.profile) {
    std::printf("Per-node time (ms, mean over runs):\n");
    for (const auto& t : (*ex)->timings()) {
      if (t.calls)
        std::printf("  %-40s %-20s %.4f\n", t.name.c_str(), t.op_type.c_str(),
                    t.total_ms / t.calls);
    }
  }
  if (!o.export_output.empty()) {
    Status s = write_output_json(o.export_output, names, outputs);
    if (!s.is_ok()) return fail(s.message());
    std::printf("Outputs written to %s\n", o.export_output.c_str());
  }
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app, Action* action) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* sub = app.add_subcommand("run", "Run an ONNX model and print its outputs and latency");
  sub->add_option("--onnx", o->onnx, "ONNX model file")->required();
  sub->add_option("--shapes", o->shapes, "Input shapes: name:1x3x416x416,...");
  sub->add_option("--loadInputs", o->load_inputs, "Raw input files: name:file.bin,...");
  sub->add_option("--exportOutput", o->export_output, "Write outputs as trtexec JSON");
  sub->add_option("--device", o->device, "Execution device")->check(CLI::IsMember({"cpu", "cuda"}));
  sub->add_option("--seed", o->seed, "Seed for random inputs")->each([o](const std::string&) {
    o->seed_given = true;
  });
  sub->add_option("--iterations", o->iterations, "Timed runs");
  sub->add_option("--warmUp", o->warmup, "Untimed runs before timing");
  sub->add_option("--threads", o->threads, "CPU threads (default: all cores)");
  sub->add_flag("--profile", o->profile, "Print per-node times");
  sub->callback([o, action] { *action = [o] { return run_command(*o); }; });
}

}  // namespace tarmac::cli

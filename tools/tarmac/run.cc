// `tarmac run`: load an ONNX model, run it on given or seeded random inputs, print outputs
// and latency, optionally export outputs as trtexec JSON.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "commands.h"
#include "compare/tensor_files.h"
#include "core/parallel.h"
#include "onnx/importer.h"
#include "runtime/device_executor.h"
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
  bool no_tf32 = false;
  bool fp16 = false;
  bool bf16 = false;
  bool cuda_graph = false;
  bool cpu_fallback = false;
  bool verbose = false;
  std::string layer_precisions;
  std::string layout = "auto";
  std::string export_profile;
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

/// The two executors behind one call shape.
class Runner {
 public:
  virtual ~Runner() = default;
  virtual Status run(const std::vector<std::pair<std::string, Tensor>>& in,
                     std::vector<Tensor>* out) = 0;
};

class CpuRunner final : public Runner {
 public:
  explicit CpuRunner(std::unique_ptr<Executor> ex) : ex_(std::move(ex)) {}
  Status run(const std::vector<std::pair<std::string, Tensor>>& in,
             std::vector<Tensor>* out) override {
    return ex_->run(in, out);
  }
  Executor& executor() { return *ex_; }

 private:
  std::unique_ptr<Executor> ex_;
};

class DeviceRunner final : public Runner {
 public:
  explicit DeviceRunner(std::unique_ptr<DeviceExecutor> ex) : ex_(std::move(ex)) {}
  Status run(const std::vector<std::pair<std::string, Tensor>>& in,
             std::vector<Tensor>* out) override {
    return ex_->run(in, out);
  }
  DeviceExecutor& executor() { return *ex_; }

 private:
  std::unique_ptr<DeviceExecutor> ex_;
};

int run_command(const RunOptions& o) {
  if (o.iterations < 1) return fail("--iterations must be at least 1");
  if (o.warmup < 0) return fail("--warmUp must not be negative");
  auto shapes = parse_shapes(o.shapes);
  if (!shapes.is_ok()) return fail(shapes.status().message());
  auto files = parse_name_files(o.load_inputs);
  if (!files.is_ok()) return fail(files.status().message());

  auto imported = import_onnx_file(o.onnx);
  if (!imported.is_ok()) return fail(imported.status().message());
  Model& model = imported->model;
  const Graph& g = model.graph;
  for (const auto& [name, path] : *files) {
    const Value* v = g.find_value(name);
    if (!v || !v->is_graph_input)
      return fail("--loadInputs names '" + name + "', which is not an input of the model");
  }
  if (Status s = override_input_shapes(model.graph, *shapes); !s.is_ok()) return fail(s.message());

  const uint64_t seed = o.seed_given ? o.seed : std::random_device{}();
  std::vector<std::pair<std::string, Tensor>> inputs;
  std::vector<std::string> input_lines;
  uint64_t k = 0;
  for (const Value* v : g.inputs) {
    if (!v->type.has_shape || !shape_is_static(v->type.shape)) {
      return fail("input '" + v->name + "' has dynamic shape " + v->type.to_string() +
                  "; pass --shapes=" + v->name + ":<dims like 1x3x416x416>");
    }
    const Dims dims = static_dims(v->type.shape);
    const std::string desc =
        std::string(dtype_name(v->type.dtype)) + "[" + dims_to_string(dims) + "]";
    auto probe = Tensor::create(v->type.dtype, dims);  // refuses absurd sizes
    if (!probe.is_ok()) return fail("input '" + v->name + "': " + probe.status().message());
    if (auto it = files->find(v->name); it != files->end()) {
      auto t = read_raw_tensor(it->second, v->type.dtype, dims);
      if (!t.is_ok()) return fail(t.status().message());
      inputs.emplace_back(v->name, std::move(t).value());
      input_lines.push_back("Input " + v->name + ": " + desc + " from " + it->second);
    } else {
      inputs.emplace_back(v->name, random_tensor(v->type.dtype, dims, seed + k++));
      input_lines.push_back("Input " + v->name + ": " + desc + " random");
    }
  }
  std::vector<std::string> names;
  for (const Value* v : g.outputs) names.push_back(v->name);
  const std::string onnx_desc =
      fmt::format("{} (ai.onnx opset {}, {} nodes", o.onnx, model.onnx_opset(), g.nodes.size());

  const auto keep_fp32 = parse_fp32_layers(o.layer_precisions);
  if (!keep_fp32.is_ok()) return fail(keep_fp32.status().message());
  std::unique_ptr<Runner> runner;
  CpuRunner* cpu = nullptr;
  DeviceRunner* gpu = nullptr;
  if (o.device == "cpu") {
    ExecutorOptions eo;
    eo.num_threads = o.threads;
    if (o.fp16 && o.bf16) return fail("--fp16 and --bf16 exclude each other");
    if (o.fp16) eo.precision = DType::kFloat16;
    if (o.bf16) eo.precision = DType::kBFloat16;
    eo.keep_fp32 = *keep_fp32;
    eo.profile = o.profile;
    if (o.verbose) eo.log = [](const std::string& l) { std::printf("  %s\n", l.c_str()); };
    auto ex = Executor::create(std::move(model), eo);
    if (!ex.is_ok()) return fail(ex.status().message());
    std::printf("Model: %s, %zu run at inference)\n", onnx_desc.c_str(),
                (*ex)->num_runtime_nodes());
    std::printf("Device: cpu, %d threads\n", num_threads());
    runner = std::make_unique<CpuRunner>(std::move(ex).value());
    cpu = static_cast<CpuRunner*>(runner.get());
  } else {
    DeviceExecutorOptions eo;
    eo.config.allow_tf32 = !o.no_tf32;
    if (o.fp16 && o.bf16) return fail("--fp16 and --bf16 exclude each other");
    if (o.fp16) eo.precision = DType::kFloat16;
    if (o.bf16) eo.precision = DType::kBFloat16;
    eo.keep_fp32 = *keep_fp32;
    const auto layout = parse_layout_mode(o.layout);
    if (!layout.is_ok()) return fail(layout.status().message());
    eo.layout = *layout;
    eo.use_cuda_graph = o.cuda_graph;
    eo.allow_cpu_fallback = o.cpu_fallback;
    if (o.verbose) eo.log = [](const std::string& l) { std::printf("  %s\n", l.c_str()); };
    auto ex = DeviceExecutor::create(std::move(model), eo);
    if (!ex.is_ok()) return fail(ex.status().message());
    const DeviceMemoryReport& m = (*ex)->memory();
    size_t on_cpu = 0;
    for (const DeviceLayer& l : (*ex)->layers()) on_cpu += l.device == "cpu" ? 1 : 0;
    std::printf("Model: %s, %zu layers)\n", onnx_desc.c_str(), (*ex)->layers().size());
    std::printf("Device: cuda, %s; precision %s; TF32 %s; layout %s; CUDA graph %s%s\n",
                (*ex)->device_name().c_str(), o.fp16 ? "fp16" : (o.bf16 ? "bf16" : "fp32"),
                o.no_tf32 ? "off" : "on", o.layout.c_str(), o.cuda_graph ? "on" : "off",
                on_cpu ? fmt::format("; {} layers on the CPU (fallback)", on_cpu).c_str() : "");
    std::printf(
        "Memory: activations %zu bytes (lower bound %zu, ratio %.3f), weights %zu bytes, "
        "workspace %zu bytes\n",
        m.arena_bytes, m.lower_bound_bytes,
        m.lower_bound_bytes ? static_cast<double>(m.arena_bytes) / m.lower_bound_bytes : 1.0,
        m.weight_bytes, m.workspace_bytes);
    runner = std::make_unique<DeviceRunner>(std::move(ex).value());
    gpu = static_cast<DeviceRunner*>(runner.get());
  }
  std::printf("Random inputs seed: %llu\n", static_cast<unsigned long long>(seed));
  for (const std::string& l : input_lines) std::printf("%s\n", l.c_str());

  std::vector<Tensor> outputs;
  for (int i = 0; i < o.warmup; ++i) {
    Status s = runner->run(inputs, &outputs);
    if (!s.is_ok()) return fail(s.message());
  }
  std::vector<double> ms;
  for (int i = 0; i < o.iterations; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    Status s = runner->run(inputs, &outputs);
    if (!s.is_ok()) return fail(s.message());
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("Outputs:\n");
  for (size_t i = 0; i < outputs.size(); ++i) print_tensor_summary(names[i], outputs[i]);
  auto summary = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    double mean = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    return fmt::format("min = {:.3f} ms, max = {:.3f} ms, mean = {:.3f} ms, median = {:.3f} ms",
                       v.front(), v.back(), mean, v[v.size() / 2]);
  };
  std::printf("Latency: %s (%d iterations%s)\n", summary(ms).c_str(), o.iterations,
              gpu ? ", host to host with transfers" : "");
  if (gpu) {
    std::vector<double> compute;
    for (int i = 0; i < o.iterations; ++i) {
      auto t = gpu->executor().time_compute();
      if (!t.is_ok()) return fail(t.status().message());
      compute.push_back(*t);
    }
    std::printf("GPU compute: %s (%d iterations)\n", summary(compute).c_str(), o.iterations);
  }
  if ((o.profile || !o.export_profile.empty()) && gpu) {
    auto prof = gpu->executor().profile_layers(o.iterations);
    if (!prof.is_ok()) return fail(prof.status().message());
    const auto& layers = gpu->executor().layers();
    std::vector<size_t> order(layers.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return (*prof)[a] > (*prof)[b]; });
    double total = 0;
    for (double v : *prof) total += v;
    std::printf("Per-layer GPU time (ms, each layer alone, median of %d runs; total %.3f):\n",
                o.iterations, total);
    for (size_t k = 0; k < order.size() && k < 25; ++k) {
      const size_t i = order[k];
      std::printf("  %8.4f %5.1f%%  %-22s %s\n", (*prof)[i], 100.0 * (*prof)[i] / total,
                  layers[i].op_type.c_str(), layers[i].name.c_str());
    }
    if (!o.export_profile.empty()) {
      // trtexec's --exportProfile layout: a count record, then one record per layer (here in
      // execution order, with the stored tensors for roofline analysis).
      nlohmann::json j = nlohmann::json::array();
      j.push_back({{"count", o.iterations}});
      for (size_t i = 0; i < layers.size(); ++i)
        j.push_back({{"name", layers[i].name},
                     {"type", layers[i].op_type},
                     {"device", layers[i].device},
                     {"timeMs", (*prof)[i] * o.iterations},
                     {"averageMs", (*prof)[i]},
                     {"percentage", 100.0 * (*prof)[i] / total},
                     {"inputs", layers[i].inputs},
                     {"outputs", layers[i].outputs}});
      Status s = write_json_file(o.export_profile, j.dump(2));
      if (!s.is_ok()) return fail(s.message());
      std::printf("Per-layer profile written to %s\n", o.export_profile.c_str());
    }
    std::map<std::string, double> by_type;
    for (size_t i = 0; i < layers.size(); ++i) by_type[layers[i].op_type] += (*prof)[i];
    std::printf("By layer type:\n");
    for (const auto& [t, v] : by_type)
      std::printf("  %8.4f %5.1f%%  %s\n", v, 100.0 * v / total, t.c_str());
  }
  if (o.profile && cpu) {
    std::printf("Per-node time (ms, mean over runs):\n");
    for (const auto& t : cpu->executor().timings()) {
      if (t.calls)
        std::printf("  %-40s %-20s %.4f\n", t.name.c_str(), t.op_type.c_str(),
                    t.total_ms / t.calls);
    }
  }
  if (!o.export_output.empty()) {
    std::vector<std::pair<std::string, Tensor>> named;
    for (size_t i = 0; i < outputs.size() && i < names.size(); ++i)
      named.emplace_back(names[i], outputs[i]);
    Status s = write_trtexec_json(o.export_output, named);
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
  sub->add_flag("--profile", o->profile, "Print per-node (cpu) or per-layer GPU (cuda) times");
  sub->add_option("--exportProfile", o->export_profile,
                  "cuda: write every layer's GPU time as JSON (implies --profile)");
  sub->add_flag("--noTF32", o->no_tf32, "cuda: no TF32 tensor-core math for float32");
  sub->add_flag("--fp16", o->fp16, "compute in float16 (float32 inputs and outputs)");
  sub->add_flag("--bf16", o->bf16, "compute in bfloat16 (float32 inputs and outputs)");
  sub->add_flag("--useCudaGraph", o->cuda_graph, "cuda: replay the inference as a CUDA graph");
  sub->add_flag("--allowCpuFallback", o->cpu_fallback,
                "cuda: run nodes without a CUDA kernel on the CPU instead of failing");
  sub->add_option("--layerPrecisions", o->layer_precisions,
                  "Layers kept in float32 under --fp16/--bf16: name:fp32,...");
  sub->add_option("--layout", o->layout,
                  "cuda: convolution layout: auto (NHWC for fp16/bf16, and for TF32 without "
                  "grouped convolutions), nchw, nhwc");
  sub->add_flag("-v,--verbose", o->verbose, "Log the graph passes' rewrites");
  sub->callback([o, action] { *action = [o] { return run_command(*o); }; });
}

}  // namespace tarmac::cli

// `tarmac exec`: trtexec's build / benchmark / profiling command over the public C++ API.
// Parse and build (or load) an engine, run it with trtexec's timing loop and print trtexec's
// "=== Performance summary ==="; flags, statistics and JSON exports follow trtexec.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "compare/tensor_files.h"
#include "core/random.h"
#include "exec_options.h"
#include "exec_runner.h"
#include "runtime/perf_report.h"
#include "tarmac/builder.h"
#include "tarmac/engine.h"
#include "tarmac/network.h"

namespace tarmac::cli {

namespace {

/// Random inputs come from a fixed seed, so two runs of one model see the same data.
constexpr uint64_t kInputSeed = 0;

void say(const std::string& line) { std::printf("%s\n", line.c_str()); }
void warn(const std::string& line) { std::printf("[W] %s\n", line.c_str()); }
void section(const char* title) { std::printf("=== %s ===\n", title); }
const char* on_off(bool b) { return b ? "Enabled" : "Disabled"; }

/// Library messages: warnings always, the rest with --verbose.
std::function<void(const std::string&)> library_log(bool verbose) {
  return [verbose](const std::string& m) {
    if (m.rfind("warning: ", 0) == 0) {
      warn(m.substr(9));
    } else if (verbose) {
      std::printf("[V] %s\n", m.c_str());
    }
  };
}

std::string profile_text(const OptimizationProfile& p) {
  std::string s;
  for (const auto& [name, r] : p.inputs)
    s += fmt::format("{}{}: min {} opt {} max {}", s.empty() ? "" : ", ", name,
                     dims_to_string(r.min), dims_to_string(r.opt), dims_to_string(r.max));
  return s.empty() ? "static shapes" : s;
}

std::string shapes_text(const std::map<std::string, Dims>& shapes) {
  std::string s;
  for (const auto& [name, d] : shapes) s += (s.empty() ? "" : ",") + name + ":" + dims_to_string(d);
  return s.empty() ? "model" : s;
}

void print_options(const ExecOptions& o, const ExecSettings& s) {
  const BuildConfig& b = s.build;
  section("Model Options");
  say(o.onnx.empty() ? "Model: none (engine loaded)" : "Format: ONNX\nModel: " + o.onnx);
  section("Build Options");
  if (!o.load_engine.empty()) {
    say("Load engine: " + o.load_engine);
  } else {
    say(fmt::format("Device: {}", b.device == DeviceKind::kCpu ? "cpu" : "cuda"));
    say(fmt::format("Precision: FP32{}{}{}", b.fp16 ? "+FP16" : "", b.bf16 ? "+BF16" : "",
                    b.precision_constraints == PrecisionConstraints::kObey
                        ? " (obey precision constraints)"
                    : b.precision_constraints == PrecisionConstraints::kPrefer
                        ? " (prefer precision constraints)"
                        : ""));
    say(fmt::format("TF32: {}", on_off(b.tf32)));
    for (size_t p = 0; p < b.profiles.size(); ++p)
      say(fmt::format("Profile {}: {}", p, profile_text(b.profiles[p])));
    if (b.profiles.empty()) say(fmt::format("Input build shapes: {}", shapes_text(s.shapes)));
    say(fmt::format("Builder optimization level: {}", b.optimization_level));
    say(b.workspace_limit ? fmt::format("Workspace limit: {} bytes", b.workspace_limit)
                          : std::string("Workspace limit: none"));
    say("Timing cache: " + (b.timing_cache_file.empty() ? "none" : b.timing_cache_file));
    for (const auto& [layer, p] : b.layer_precisions) say("Layer precision: " + layer + ":" + p);
    say(fmt::format("Refit: {}; strip weights: {}; CPU fallback: {}", on_off(b.refittable),
                    on_off(b.strip_weights), on_off(b.allow_cpu_fallback)));
    if (!o.save_engine.empty()) say("Save engine: " + o.save_engine);
  }
  section("Inference Options");
  if (s.skip_inference) {
    say("Inference: skipped (--skipInference)");
  } else {
    say(fmt::format("Optimization profile: {}", s.profile));
    say("Input inference shapes: " + shapes_text(s.shapes));
    say(fmt::format("Iterations: {}; warm up: {} ms; duration: {} s; inference streams: {}",
                    s.iterations, s.warmup_ms, s.duration_s, s.inf_streams));
    say(fmt::format("CUDA graph: {}; data transfers: {}; spin wait: {}", on_off(o.use_cuda_graph),
                    on_off(!o.no_data_transfers), on_off(o.use_spin_wait)));
  }
  section("Reporting Options");
  std::string pct;
  for (double p : s.percentiles) pct += (pct.empty() ? "" : ",") + fmt::format("{:g}", p);
  say(fmt::format("Averages: {} inferences; percentiles: {}; profile: {}", s.avg_runs, pct,
                  on_off(s.profile_layers)));
}

/// The engine: loaded from --loadEngine, or built from --onnx (and saved with --saveEngine).
StatusOr<std::shared_ptr<Engine>> make_engine(const ExecOptions& o, ExecSettings& s) {
  LoadOptions load;
  load.weights_onnx = o.onnx;  // refits plans written with --stripWeights
  load.log = library_log(o.verbose);
  if (!o.load_engine.empty()) {
    if (!s.build.profiles.empty() || o.fp16 || o.bf16 || o.best)
      warn("build options are ignored with --loadEngine");
    return Engine::load_file(o.load_engine, load);
  }
  TARMAC_ASSIGN_OR_RETURN(Network net, Network::parse_onnx_file(o.onnx));
  BuildConfig& config = s.build;
  std::vector<std::string> dynamic;
  for (const TensorInfo& t : net.inputs())
    for (int64_t d : t.shape)
      if (d < 0) {
        dynamic.push_back(t.name);
        break;
      }
  if (config.profiles.empty() && !dynamic.empty()) {
    // --shapes alone gives the dynamic inputs a static profile, as trtexec does.
    OptimizationProfile p;
    for (const std::string& name : dynamic) {
      auto it = s.shapes.find(name);
      if (it == s.shapes.end()) {
        const TensorInfo* t = nullptr;
        for (const TensorInfo& i : net.inputs()) t = i.name == name ? &i : t;
        return invalid_argument(
            "input '{}' has dynamic shape {}: pass --shapes={}:<dims> for a static profile, or "
            "--minShapes, --optShapes and --maxShapes ({}:<dims> each) for a range",
            name, dims_to_string(t->shape), name, name);
      }
      p.inputs[name] = ShapeRange{it->second, it->second, it->second};
    }
    config.profiles.push_back(p);
  }
  int last_percent = -100;
  config.progress = [&last_percent](double f, const std::string& what) {
    const int percent = static_cast<int>(f * 100.0);
    if (percent < 100 && percent < last_percent + 10) return;  // a line per 10% is enough
    last_percent = percent;
    std::printf("Build progress: %3d%% %s\n", percent, what.c_str());
    std::fflush(stdout);
  };
  config.log = library_log(o.verbose);
  BuildReport report;
  auto plan = build_serialized_engine(net, config, &report);
  config.progress = nullptr;
  config.log = nullptr;
  if (!plan.is_ok()) return plan.status();
  say(fmt::format("Engine built in {:.3f} s: {} layers, {} timed, {} from the timing cache",
                  report.build_ms / 1000.0, report.layers, report.tactics_timed,
                  report.tactics_from_cache));
  if (!o.save_engine.empty()) {
    TARMAC_RETURN_IF_ERROR(write_plan_file(o.save_engine, *plan));
    say(fmt::format("Engine saved to {} ({} bytes)", o.save_engine, plan->size()));
  }
  return Engine::deserialize(*plan, load);
}

LayerInfoVerbosity layer_verbosity(const std::string& v) {
  if (v == "detailed") return LayerInfoVerbosity::kDetailed;
  if (v == "none") return LayerInfoVerbosity::kNone;
  return LayerInfoVerbosity::kLayerNamesOnly;
}

Status export_layer_info(const ExecOptions& o, const Engine& engine, int profile) {
  if (!o.dump_layer_info && o.export_layer_info.empty()) return Status::ok();
  const LayerInfoVerbosity v = layer_verbosity(o.profiling_verbosity);
  if (v == LayerInfoVerbosity::kNone)
    warn("--profilingVerbosity=none: the layer information holds no layers");
  std::vector<std::string> bindings;
  for (const TensorInfo& t : engine.info().inputs) bindings.push_back(t.name);
  for (const TensorInfo& t : engine.info().outputs) bindings.push_back(t.name);
  const auto& layers = engine.layers(profile);
  if (o.dump_layer_info) {
    section("Layer Information");
    std::fputs(format_layer_info(layers, bindings, v).c_str(), stdout);
  }
  if (!o.export_layer_info.empty()) {
    TARMAC_RETURN_IF_ERROR(
        write_json_file(o.export_layer_info, layer_info_json(layers, bindings, v)));
    say("Layer information written to " + o.export_layer_info);
  }
  return Status::ok();
}

/// Each input's data: --loadInputs files or seeded random values.
StatusOr<std::vector<NamedTensor>> make_inputs(const Engine& engine, ExecutionContext& ctx,
                                               const ExecSettings& s) {
  std::vector<NamedTensor> inputs;
  uint64_t k = 0;
  for (const TensorInfo& t : engine.info().inputs) {
    TARMAC_ASSIGN_OR_RETURN(Dims dims, ctx.tensor_shape(t.name));
    const std::string desc =
        fmt::format("{}[{}]", std::string(dtype_name(t.dtype)), dims_to_string(dims));
    if (auto it = s.load_inputs.find(t.name); it != s.load_inputs.end()) {
      TARMAC_ASSIGN_OR_RETURN(Tensor x, read_raw_tensor(it->second, t.dtype, dims));
      say(fmt::format("Input {}: {} from {}", t.name, desc, it->second));
      inputs.emplace_back(t.name, std::move(x));
    } else {
      TARMAC_RETURN_IF_ERROR(Tensor::create(t.dtype, dims).status());  // refuses absurd sizes
      say(fmt::format("Input {}: {} random", t.name, desc));
      inputs.emplace_back(t.name, random_tensor(t.dtype, dims, kInputSeed + k++));
    }
  }
  return inputs;
}

Status run_inference(const ExecOptions& o, const ExecSettings& s, Engine& engine, bool on_cuda) {
  if (s.profile >= engine.num_profiles())
    return invalid_argument("--profile={} is out of range: the engine has {} profile(s) (0..{})",
                            s.profile, engine.num_profiles(), engine.num_profiles() - 1);
  for (const auto& [name, path] : s.load_inputs) {
    bool known = false;
    for (const TensorInfo& t : engine.info().inputs) known = known || t.name == name;
    if (!known) return invalid_argument("--loadInputs names '{}', which is not an input", name);
  }
  std::vector<std::unique_ptr<ExecutionContext>> owned;
  std::vector<ExecutionContext*> contexts;
  for (int i = 0; i < s.inf_streams; ++i) {
    TARMAC_ASSIGN_OR_RETURN(auto ctx, engine.create_execution_context());
    TARMAC_RETURN_IF_ERROR(ctx->set_optimization_profile(s.profile));
    for (const auto& [name, dims] : s.shapes)
      TARMAC_RETURN_IF_ERROR(ctx->set_input_shape(name, dims).with_context("--shapes"));
    if (on_cuda) ctx->set_use_cuda_graph(o.use_cuda_graph);
    contexts.push_back(ctx.get());
    owned.push_back(std::move(ctx));
  }
  ExecutionContext& ctx0 = *contexts.front();
  TARMAC_ASSIGN_OR_RETURN(auto inputs, make_inputs(engine, ctx0, s));
  std::vector<NamedTensor> outputs;
  std::vector<std::string> output_names;
  for (const TensorInfo& t : engine.info().outputs) {
    TARMAC_ASSIGN_OR_RETURN(Dims dims, ctx0.tensor_shape(t.name));
    TARMAC_ASSIGN_OR_RETURN(Tensor x, Tensor::create(t.dtype, dims));
    outputs.emplace_back(t.name, std::move(x));
    output_names.push_back(t.name);
  }

  BenchmarkOptions bo;
  bo.iterations = s.iterations;
  bo.warmup_ms = s.warmup_ms;
  bo.duration_s = s.duration_s;
  bo.data_transfers = !o.no_data_transfers;
  bo.spin_wait = o.use_spin_wait;
  TARMAC_ASSIGN_OR_RETURN(BenchmarkResult r, run_benchmark(on_cuda, contexts, inputs, outputs, bo));

  PerfReportOptions po;
  po.percentiles = s.percentiles;
  po.avg_runs = s.avg_runs;
  po.warmup_ms = s.warmup_ms;
  po.synchronous_enqueue = !on_cuda;
  TARMAC_ASSIGN_OR_RETURN(PerfSummary summary, summarize_performance(r.trace, po));
  std::fputs(format_prolog(summary, po).c_str(), stdout);
  std::fputs(format_trace_details(summary, po).c_str(), stdout);
  std::fputs(format_performance_summary(summary, po).c_str(), stdout);
  for (const std::string& w : summary.warnings) warn(w);
  if (!on_cuda)
    say("On the CPU device, GPU Compute Time is the host time of execute() and nothing is copied.");
  if (o.verbose) {
    std::fputs(performance_metric_explanations().c_str(), stdout);
  } else {
    say("Explanations of the performance metrics are printed with --verbose.");
  }
  if (!o.export_times.empty()) {
    TARMAC_RETURN_IF_ERROR(write_json_file(o.export_times, times_json(r.trace, po)));
    say("Timing trace written to " + o.export_times);
  }
  if (!o.export_output.empty()) {
    std::vector<std::pair<std::string, Tensor>> named;
    for (size_t i = 0; i < r.outputs.size() && i < output_names.size(); ++i)
      named.emplace_back(output_names[i], r.outputs[i]);
    TARMAC_RETURN_IF_ERROR(write_trtexec_json(o.export_output, named));
    say("Outputs written to " + o.export_output);
  }
  if (s.profile_layers) {
    // Always a pass of its own after timing, so the timed run is never perturbed.
    say(fmt::format(
        "Profiling {} inferences layer by layer in a separate run after timing (the timed run "
        "above was not profiled)",
        s.iterations));
    TARMAC_ASSIGN_OR_RETURN(std::vector<double> ms, ctx0.profile_layers(s.iterations));
    const auto& layers = engine.layers(s.profile);
    if (ms.size() != layers.size())
      warn(fmt::format("the profile has {} layer times for {} layers", ms.size(), layers.size()));
    const LayerProfileReport profile = layer_profile_from_times(layers, ms, s.iterations);
    if (o.dump_profile) std::fputs(format_profile_table(profile).c_str(), stdout);
    if (!o.export_profile.empty()) {
      TARMAC_RETURN_IF_ERROR(write_json_file(o.export_profile, profile_json(profile)));
      say("Profile written to " + o.export_profile);
    }
  }
  return Status::ok();
}

Status run_exec(const ExecOptions& o, const std::vector<std::string>& extras,
                const std::vector<std::string>& known_flags) {
  for (const std::string& e : extras) {
    if (e.rfind("-", 0) != 0)
      return invalid_argument("unexpected argument '{}' (flags take the form --flag=value)", e);
    const std::string name = e.substr(0, e.find('='));
    const std::string near = nearest_flag(name, known_flags);
    if (!near.empty())
      return invalid_argument("unknown option '{}'; did you mean '{}'?", name, near);
    return invalid_argument("unknown option '{}' (see 'tarmac exec --help')", name);
  }
  TARMAC_ASSIGN_OR_RETURN(ExecSettings s, validate_exec_options(o));
#if !TARMAC_WITH_CUDA
  // A loaded plan names its own device unless --device is given.
  if (s.build.device == DeviceKind::kCuda && (o.device_given || o.load_engine.empty()))
    return unavailable("this tarmac was built without CUDA: pass --device=cpu");
#endif
  print_options(o, s);
  for (const std::string& w : s.warnings) warn(w);
  TARMAC_ASSIGN_OR_RETURN(std::shared_ptr<Engine> engine, make_engine(o, s));
  const EngineInfo& info = engine->info();
  if (o.device_given && info.device != s.build.device)
    return invalid_argument("the engine was built for {}, not --device={}",
                            info.device == DeviceKind::kCpu ? "cpu" : "cuda", o.device);
  section("Engine");
  std::string precisions;
  for (const std::string& p : info.precisions) precisions += (precisions.empty() ? "" : ", ") + p;
  say(fmt::format("Device: {}; precisions: {}; profiles: {}; layers: {}", info.device_name,
                  precisions, engine->num_profiles(),
                  engine->layers(std::min(s.profile, engine->num_profiles() - 1)).size()));
  if (!info.build_flags.empty()) say("Built with: " + info.build_flags);
  TARMAC_RETURN_IF_ERROR(export_layer_info(o, *engine, s.profile));
  if (s.skip_inference) {
    say("Inference skipped (--skipInference)");
    return Status::ok();
  }
  section("Inference");
  return run_inference(o, s, *engine, info.device == DeviceKind::kCuda);
}

}  // namespace

void add_exec_command(CLI::App& app, Action* action) {
  auto o = std::make_shared<ExecOptions>();
  CLI::App* sub = app.add_subcommand(
      "exec", "Build (or load) and benchmark an engine with trtexec's flags and report");
  add_exec_flags(sub, o.get());
  // Unknown flags are kept so the action can name the nearest valid one.
  sub->allow_extras();
  sub->callback([o, action, sub] {
    std::vector<std::string> known;
    for (const CLI::Option* opt : sub->get_options())
      for (const std::string& n : opt->get_lnames()) known.push_back("--" + n);
    const std::vector<std::string> extras = sub->remaining();
    *action = [o, extras, known] {
      std::printf("&&&& RUNNING tarmac exec\n");
      const Status s = run_exec(*o, extras, known);
      std::fflush(stdout);
      if (!s.is_ok()) {
        std::printf("&&&& FAILED tarmac exec\n");
        std::fflush(stdout);
        return fail(s.message());
      }
      std::printf("&&&& PASSED tarmac exec\n");
      return 0;
    };
  });
}

}  // namespace tarmac::cli

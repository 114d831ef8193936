// build_serialized_engine: profiles checked, precision and layout assigned, tactics timed on the
// device (through the timing cache), and the plan written with what the build decided.
#include <chrono>
#include <ctime>
#include <set>

#include "api/engine_build.h"
#include "api/network_impl.h"
#include "api/plan_header.h"
#include "builder/built_graph.h"
#include "builder/plan_file.h"
#include "builder/timing_cache.h"
#include "ir/fused_ops.h"
#include "runtime/device_engine.h"
#include "runtime/executor.h"
#include "tarmac/builder.h"

namespace tarmac {

namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string flags_text(const BuildConfig& c) {
  std::string s = c.device == DeviceKind::kCuda ? "--device=cuda" : "--device=cpu";
  if (c.fp16) s += " --fp16";
  if (c.bf16) s += " --bf16";
  if (!c.tf32) s += " --noTF32";
  for (const auto& [layer, p] : c.layer_precisions) s += " --layerPrecisions=" + layer + ":" + p;
  s += fmt::format(" --builderOptimizationLevel={}", c.optimization_level);
  if (c.refittable) s += " --refit";
  if (c.strip_weights) s += " --stripWeights";
  if (c.workspace_limit) s += fmt::format(" --memPoolSize=workspace:{}B", c.workspace_limit);
  if (c.allow_cpu_fallback) s += " --allowCpuFallback";
  return s;
}

/// Every input's range per profile (static inputs: min = opt = max), or why the profiles
/// do not fit the model.
StatusOr<std::vector<std::map<std::string, ShapeRange>>> resolve_profiles(
    const std::vector<TensorInfo>& inputs, const std::vector<OptimizationProfile>& given) {
  std::vector<std::string> dynamic;
  for (const TensorInfo& t : inputs)
    for (int64_t d : t.shape)
      if (d < 0) {
        dynamic.push_back(t.name);
        break;
      }
  std::vector<OptimizationProfile> profiles = given;
  if (profiles.empty()) {
    if (!dynamic.empty()) {
      std::string flags;
      for (const std::string& n : dynamic) flags += (flags.empty() ? "" : ",") + n + ":...";
      return invalid_argument(
          "input '{}' has dynamic dimensions and no optimization profile was given: pass "
          "--minShapes/--optShapes/--maxShapes (or --shapes) for {}, e.g. --shapes={}",
          dynamic.front(), dynamic.size() == 1 ? "it" : "each dynamic input", flags);
    }
    profiles.emplace_back();
  }
  std::vector<std::map<std::string, ShapeRange>> out;
  for (size_t p = 0; p < profiles.size(); ++p) {
    std::map<std::string, ShapeRange> ranges;
    for (const auto& [name, r] : profiles[p].inputs) {
      bool known = false;
      for (const TensorInfo& t : inputs) known = known || t.name == name;
      if (!known) return invalid_argument("profile {} names '{}', which is not an input", p, name);
    }
    for (const TensorInfo& t : inputs) {
      auto it = profiles[p].inputs.find(t.name);
      if (it == profiles[p].inputs.end()) {
        for (int64_t d : t.shape)
          if (d < 0)
            return invalid_argument(
                "profile {} has no range for dynamic input '{}' (pass --minShapes/--optShapes/"
                "--maxShapes for it)",
                p, t.name);
        ranges[t.name] = ShapeRange{t.shape, t.shape, t.shape};
        continue;
      }
      const ShapeRange& r = it->second;
      if (r.min.size() != t.shape.size() || r.opt.size() != t.shape.size() ||
          r.max.size() != t.shape.size())
        return invalid_argument("profile {}: input '{}' has rank {}, but the range gives {}/{}/{}",
                                p, t.name, t.shape.size(), r.min.size(), r.opt.size(),
                                r.max.size());
      for (size_t d = 0; d < t.shape.size(); ++d) {
        if (r.min[d] < 0 || r.min[d] > r.opt[d] || r.opt[d] > r.max[d])
          return invalid_argument(
              "profile {}: input '{}' dimension {} needs 0 <= min <= opt <= max, got {}/{}/{}", p,
              t.name, d, r.min[d], r.opt[d], r.max[d]);
        if (t.shape[d] >= 0 && (r.min[d] != t.shape[d] || r.max[d] != t.shape[d]))
          return invalid_argument("profile {}: input '{}' dimension {} is fixed at {} in the model",
                                  p, t.name, d, t.shape[d]);
      }
      ranges[t.name] = r;
    }
    out.push_back(std::move(ranges));
  }
  return out;
}

std::map<std::string, Dims> opt_shapes(const std::map<std::string, ShapeRange>& ranges) {
  std::map<std::string, Dims> s;
  for (const auto& [name, r] : ranges) s[name] = r.opt;
  return s;
}

/// Whether the plan stores profile 0 as built: a single profile of static shapes (an instance
/// for other shapes is built from the source model), and weights that are neither stripped
/// nor meant to be refitted (the built weights derive from them).
bool stores_built_engine(const BuildConfig& c,
                         const std::vector<std::map<std::string, ShapeRange>>& ranges) {
  if (c.strip_weights || c.refittable || ranges.size() != 1) return false;
  for (const auto& [name, r] : ranges.front())
    if (r.min != r.max) return false;
  return true;
}

std::string precision_of(const std::string& type_text) {
  return type_text.substr(0, type_text.find('['));
}

}  // namespace

StatusOr<PlanBuild> plan_build_from(const BuildConfig& c) {
  if (c.fp16 && c.bf16)
    return invalid_argument("--fp16 and --bf16 together are not supported: choose one");
  if (c.optimization_level < 0 || c.optimization_level > 5)
    return invalid_argument("--builderOptimizationLevel must be 0..5, got {}",
                            c.optimization_level);
  PlanBuild b;
  b.fp16 = c.fp16;
  b.bf16 = c.bf16;
  b.tf32 = c.tf32;
  b.allow_cpu_fallback = c.allow_cpu_fallback;
  b.workspace_limit = c.workspace_limit;
  b.optimization_level = c.optimization_level;
  const std::string global = c.fp16 ? "fp16" : c.bf16 ? "bf16" : "fp32";
  for (const auto& [layer, p] : c.layer_precisions) {
    if (p != "fp32" && p != "fp16" && p != "bf16")
      return invalid_argument("--layerPrecisions: '{}' for '{}' is not fp32, fp16 or bf16", p,
                              layer);
    if (p == "fp32" && global != "fp32") {
      b.keep_fp32.push_back(layer);
    } else if (p != global) {
      // Lowering one layer below the engine's precision is not offered; a hint is dropped.
      const std::string msg = fmt::format(
          "--layerPrecisions={}:{} asks for a precision the engine ({}) does not enable", layer, p,
          global);
      if (c.precision_constraints == PrecisionConstraints::kObey) return unsupported("{}", msg);
      if (c.log) c.log("warning: " + msg + "; ignored");
    }
  }
  return b;
}

DeviceExecutorOptions device_options(const PlanBuild& b, const std::map<std::string, Dims>& shapes,
                                     const std::map<std::string, std::string>& tactics) {
  DeviceExecutorOptions o;
  o.input_shapes = shapes;
  o.precision = b.fp16 ? DType::kFloat16 : b.bf16 ? DType::kBFloat16 : DType::kFloat32;
  o.keep_fp32 = std::set<std::string>(b.keep_fp32.begin(), b.keep_fp32.end());
  o.config.allow_tf32 = b.tf32;
  o.allow_cpu_fallback = b.allow_cpu_fallback;
  o.tactics = tactics;
  return o;
}

ExecutorOptions cpu_options(const PlanBuild& b, const std::map<std::string, Dims>& shapes) {
  ExecutorOptions o;
  o.input_shapes = shapes;
  o.precision = b.fp16 ? DType::kFloat16 : b.bf16 ? DType::kBFloat16 : DType::kFloat32;
  o.keep_fp32 = std::set<std::string>(b.keep_fp32.begin(), b.keep_fp32.end());
  return o;
}

std::vector<LayerInfo> cpu_layers(const Model& built) {
  std::vector<LayerInfo> layers;
  for (const auto& n : built.graph.nodes) {
    bool folded = true;
    for (const Value* o : n->outputs)
      if (o && !o->constant) folded = false;
    if (folded) continue;
    LayerInfo l{n->name, layer_type(*n), "", "", {}, {}};
    for (const Value* v : n->inputs) l.inputs.push_back(v ? v->type.to_string() : "");
    for (const Value* v : n->outputs) l.outputs.push_back(v ? v->type.to_string() : "");
    if (!l.outputs.empty()) l.precision = precision_of(l.outputs[0]);
    layers.push_back(std::move(l));
  }
  return layers;
}

StatusOr<std::string> build_serialized_engine(const Network& network, const BuildConfig& c,
                                              BuildReport* report) {
  const auto start = std::chrono::steady_clock::now();
  const Network::Impl& net = network.impl();
  PlanHeader h;
  TARMAC_ASSIGN_OR_RETURN(h.build, plan_build_from(c));
  TARMAC_ASSIGN_OR_RETURN(auto ranges, resolve_profiles(net.inputs, c.profiles));
  EngineInfo& info = h.info;
  info.format_version = kPlanFormatVersion;
  info.tarmac_version = TARMAC_VERSION;
  info.device = c.device;
  info.onnx_hash = fnv1a64_hex(net.onnx);
  info.build_flags = flags_text(c);
  info.precisions = {"float32"};
  if (c.tf32 && c.device == DeviceKind::kCuda) info.precisions.push_back("tf32");
  if (c.fp16) info.precisions.push_back("float16");
  if (c.bf16) info.precisions.push_back("bfloat16");
  info.refittable = c.refittable;
  info.weights_stripped = c.strip_weights;
  info.inputs = net.inputs;
  info.outputs = net.outputs;
  info.created = utc_now();
  auto progress = [&](double f, const std::string& what) {
    if (c.progress) c.progress(f, what);
  };
  BuildReport r;
  std::string built;  // profile 0 as built, for plans that can load it directly

  if (c.device == DeviceKind::kCpu) {
    info.device_name = "cpu";
    for (size_t p = 0; p < ranges.size(); ++p) {
      progress(static_cast<double>(p) / static_cast<double>(ranges.size()),
               fmt::format("building profile {}", p));
      ExecutorOptions o = cpu_options(h.build, opt_shapes(ranges[p]));
      o.log = c.log;
      TARMAC_ASSIGN_OR_RETURN(auto ex, Executor::create(clone_model(net.model), o));
      PlanProfile prof{ranges[p], {}, cpu_layers(ex->model())};
      r.layers = static_cast<int>(prof.layers.size());
      h.profiles.push_back(std::move(prof));
    }
  } else {
    TARMAC_ASSIGN_OR_RETURN(DeviceIdentity id, query_device_identity());
    info.device_name = id.name;
    info.compute_capability = id.compute_capability;
    info.cuda_runtime_version = id.cuda_runtime_version;
    info.cudnn_version = id.cudnn_version;
    info.cublaslt_version = id.cublaslt_version;
    std::map<std::string, TimedTactic> cache;
    if (!c.timing_cache_file.empty()) {
      std::string warning;
      TARMAC_RETURN_IF_ERROR(load_timing_cache(c.timing_cache_file, id, &cache, &warning));
      if (!warning.empty() && c.log) c.log("warning: " + warning);
    }
    for (size_t p = 0; p < ranges.size(); ++p) {
      const double base = static_cast<double>(p) / static_cast<double>(ranges.size());
      const double span = 1.0 / static_cast<double>(ranges.size());
      progress(base, fmt::format("profile {}: optimizing the graph", p));
      DeviceExecutorOptions o = device_options(h.build, opt_shapes(ranges[p]), {});
      o.log = c.log;
      TARMAC_ASSIGN_OR_RETURN(auto timing_engine, DeviceEngine::create(clone_model(net.model), o));
      TacticTimingOptions t;
      t.level = c.optimization_level;
      t.cache = &cache;
      t.progress = [&](double f, const std::string& what) {
        progress(base + span * 0.9 * f, fmt::format("profile {}: {}", p, what));
      };
      TARMAC_ASSIGN_OR_RETURN(std::vector<TacticChoice> choices, timing_engine->time_tactics(t));
      timing_engine.reset();
      PlanProfile prof;
      prof.ranges = ranges[p];
      for (const TacticChoice& ch : choices) {
        prof.tactics[ch.node] = ch.tactic;
        if (c.log)
          c.log(ch.from_cache
                    ? fmt::format("tactic {}: {} (timing cache)", ch.node, ch.tactic)
                    : fmt::format("tactic {}: {} chosen of:{}", ch.node, ch.tactic, ch.detail));
        (ch.from_cache ? r.tactics_from_cache : r.tactics_timed) += 1;
      }
      // The final build with the chosen tactics gives the layer table the plan records.
      o.tactics = prof.tactics;
      TARMAC_ASSIGN_OR_RETURN(auto engine, DeviceEngine::create(clone_model(net.model), o));
      TARMAC_ASSIGN_OR_RETURN(auto ctx, engine->create_context());
      if (c.workspace_limit && ctx->memory().workspace_bytes > c.workspace_limit)
        return resource_exhausted(
            "the engine needs {} bytes of workspace, more than the {} bytes --memPoolSize allows",
            ctx->memory().workspace_bytes, c.workspace_limit);
      const std::vector<std::string> tactics = ctx->layer_tactics();
      const std::vector<DeviceLayer>& layers = ctx->layers();
      for (size_t i = 0; i < layers.size(); ++i) {
        LayerInfo l{layers[i].name,   layers[i].op_type, "", i < tactics.size() ? tactics[i] : "",
                    layers[i].inputs, layers[i].outputs};
        if (!l.outputs.empty()) l.precision = precision_of(l.outputs[0]);
        if (layers[i].device == "cpu") l.type += " (CPU fallback)";
        prof.layers.push_back(std::move(l));
      }
      r.layers = static_cast<int>(prof.layers.size());
      if (p == 0 && stores_built_engine(c, ranges)) {
        auto bytes = serialize_built_model(engine->built_model());
        if (bytes.is_ok()) {
          built = std::move(bytes).value();
        } else if (c.log) {
          c.log("warning: the plan will rebuild at load: " + bytes.status().message());
        }
      }
      h.profiles.push_back(std::move(prof));
    }
    if (!c.timing_cache_file.empty())
      TARMAC_RETURN_IF_ERROR(save_timing_cache(c.timing_cache_file, id, cache));
  }
  for (const auto& prof : h.profiles) {
    OptimizationProfile pub;
    for (const auto& [name, range] : prof.ranges)
      if (range.min != range.max) pub.inputs[name] = range;
    info.profiles.push_back(std::move(pub));
  }
  std::string model = net.onnx;
  if (c.strip_weights) {
    TARMAC_ASSIGN_OR_RETURN(model, strip_onnx_weights(net.onnx));
  }
  progress(1.0, "plan written");
  r.build_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (report) *report = r;
  return serialize_plan(header_to_json(h), model, c.strip_weights ? kPlanWeightsStripped : 0,
                        built);
}

Status write_plan_file(const std::string& path, const std::string& plan) {
  return write_file_atomically(path, plan);
}

}  // namespace tarmac

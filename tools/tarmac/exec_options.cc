#include "exec_options.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

#include "cli_common.h"

namespace tarmac::cli {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t e = s.find(sep, start);
    if (e == std::string::npos) e = s.size();
    out.push_back(s.substr(start, e - start));
    start = e + 1;
  }
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

StatusOr<long long> parse_int(const std::string& flag, const std::string& text, long long lo,
                              long long hi) {
  long long v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size())
    return invalid_argument("{}: '{}' is not an integer", flag, text);
  if (v < lo || v > hi) return invalid_argument("{} must be in {}..{}, not {}", flag, lo, hi, v);
  return v;
}

StatusOr<double> parse_number(const std::string& flag, const std::string& text, double lo,
                              double hi) {
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v))
    return invalid_argument("{}: '{}' is not a number", flag, text);
  if (v < lo || v > hi) return invalid_argument("{} must be in [{}, {}], not {}", flag, lo, hi, v);
  return v;
}

/// Splits "name:value" at the last ':' (names may hold ':'); single quotes around the name, as
/// trtexec allows them, are dropped.
StatusOr<std::pair<std::string, std::string>> name_value(const std::string& item,
                                                         const char* flag) {
  const size_t colon = item.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == item.size())
    return invalid_argument("{}: '{}' is not of the form name:value", flag, item);
  std::string name = item.substr(0, colon);
  name.erase(std::remove(name.begin(), name.end(), '\''), name.end());
  return std::make_pair(name, item.substr(colon + 1));
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

void add_exec_flags(CLI::App* sub, ExecOptions* o) {
  const char* kModel = "Model Options";
  const char* kBuild = "Build Options";
  const char* kInference = "Inference Options";
  const char* kReport = "Reporting Options";
  auto opt = [&](const char* name, std::string* v, const char* help, const char* group) {
    sub->add_option(name, *v, help)->group(group);
  };
  auto flag = [&](const char* name, bool* v, const char* help, const char* group) {
    sub->add_flag(name, *v, help)->group(group);
  };
  auto repeated = [&](const char* name, std::vector<std::string>* v, const char* help) {
    sub->add_option(name, *v, help)
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->group(kBuild);
  };
  opt("--onnx", &o->onnx, "ONNX model", kModel);

  repeated("--minShapes", &o->min_shapes,
           "Build a profile with these min shapes (name:1x3x224x224,...); repeat the "
           "--minShapes/--optShapes/--maxShapes triple for more profiles");
  repeated("--optShapes", &o->opt_shapes,
           "The profile's opt shapes, timed by the builder (alone: min = max = opt)");
  repeated("--maxShapes", &o->max_shapes, "The profile's max shapes");
  flag("--fp16", &o->fp16, "Enable float16 layers in addition to float32", kBuild);
  flag("--bf16", &o->bf16, "Enable bfloat16 layers in addition to float32", kBuild);
  flag("--best", &o->best, "Enable every faster precision (here: --fp16)", kBuild);
  flag("--noTF32", &o->no_tf32, "Disable TF32 tensor-core math for float32 layers", kBuild);
  opt("--memPoolSize", &o->mem_pool_size,
      "Pool limits, e.g. workspace:1024M (suffix B/K/M/G, default MiB); only workspace is used",
      kBuild);
  opt("--timingCacheFile", &o->timing_cache_file, "Read and update this timing cache", kBuild);
  opt("--builderOptimizationLevel", &o->optimization_level,
      "0 (no timing) .. 5 (time every candidate longer); default 3", kBuild);
  opt("--layerPrecisions", &o->layer_precisions,
      "Per-layer precision: layer:fp32,*:fp16 (fp32, fp16, bf16)", kBuild);
  opt("--precisionConstraints", &o->precision_constraints,
      "none | prefer | obey (obey: a --layerPrecisions entry the engine cannot honour is an error)",
      kBuild);
  flag("--refit", &o->refit, "Mark the engine refittable", kBuild);
  flag("--stripWeights", &o->strip_weights,
       "Save the engine without weights (refitted from --onnx at load)", kBuild);
  flag("--skipInference", &o->skip_inference, "Build (and save) only, run nothing", kBuild);
  flag("--buildOnly", &o->build_only, "Same as --skipInference", kBuild);
  flag("--allowCpuFallback", &o->allow_cpu_fallback,
       "Run nodes without a CUDA kernel on the CPU instead of failing", kBuild);
  opt("--saveEngine", &o->save_engine, "Write the built engine (plan) to this file", kBuild);
  opt("--loadEngine", &o->load_engine, "Run this engine (plan) instead of building", kBuild);
  opt("--profilingVerbosity", &o->profiling_verbosity,
      "layer_names_only | detailed | none: the layer information shown and exported", kBuild);

  sub->add_option("--device", o->device, "cuda (default) or cpu")
      ->group(kInference)
      ->each([o](const std::string&) { o->device_given = true; });
  opt("--shapes", &o->shapes,
      "Run-time input shapes name:1x3x224x224,...; also a static profile when none is given",
      kInference);
  opt("--loadInputs", &o->load_inputs, "Raw input files name:file.bin,... (else random)",
      kInference);
  opt("--profile", &o->profile, "Optimization profile to run (default 0)", kInference);
  opt("--iterations", &o->iterations, "Run at least N inferences (default 10)", kInference);
  opt("--warmUp", &o->warmup_ms, "Warm up for N ms before timing (default 200)", kInference);
  opt("--duration", &o->duration_s, "Time for at least N seconds (default 3)", kInference);
  opt("--infStreams", &o->inf_streams, "N execution contexts on N streams (default 1)", kInference);
  flag("--useCudaGraph", &o->use_cuda_graph, "Replay each inference as a CUDA graph", kInference);
  flag("--noDataTransfers", &o->no_data_transfers, "Do not copy inputs and outputs per inference",
       kInference);
  flag("--useSpinWait", &o->use_spin_wait, "Busy-wait on CUDA events instead of blocking",
       kInference);
  flag("--separateProfileRun", &o->separate_profile_run,
       "Profile layers in a run of their own after timing", kInference);

  opt("--avgRuns", &o->avg_runs, "Inferences per 'Average on N runs' line (default 10)", kReport);
  opt("--percentile", &o->percentiles, "Percentiles to report (default 90,95,99)", kReport);
  flag("--dumpProfile", &o->dump_profile, "Print the per-layer profile", kReport);
  opt("--exportProfile", &o->export_profile, "Write the per-layer profile as JSON", kReport);
  opt("--exportTimes", &o->export_times, "Write each inference's timestamps as JSON", kReport);
  opt("--exportOutput", &o->export_output, "Write the outputs as JSON", kReport);
  opt("--exportLayerInfo", &o->export_layer_info, "Write the engine's layers as JSON", kReport);
  flag("--dumpLayerInfo", &o->dump_layer_info, "Print the engine's layers", kReport);
  sub->add_flag("-v,--verbose", o->verbose, "Log the build and explain the metrics")
      ->group(kReport);
}

StatusOr<size_t> parse_mem_pool_size(const std::string& spec, std::vector<std::string>* warnings) {
  static const std::set<std::string> kPools = {"workspace", "dlaSRAM", "dlaLocalDRAM",
                                               "dlaGlobalDRAM", "tacticSharedMem"};
  size_t workspace = 0;
  if (spec.empty()) return workspace;
  for (const std::string& item : split(spec, ',')) {
    TARMAC_ASSIGN_OR_RETURN(auto nv, name_value(item, "--memPoolSize"));
    const auto& [pool, size] = nv;
    if (!kPools.count(pool))
      return invalid_argument(
          "--memPoolSize: unknown pool '{}' (workspace, dlaSRAM, dlaLocalDRAM, dlaGlobalDRAM, "
          "tacticSharedMem)",
          pool);
    double unit = 1024.0 * 1024.0;  // MiB when no suffix is given
    std::string number = size;
    switch (size.back()) {
      case 'B':
        unit = 1;
        break;
      case 'K':
        unit = 1024.0;
        break;
      case 'M':
        unit = 1024.0 * 1024.0;
        break;
      case 'G':
        unit = 1024.0 * 1024.0 * 1024.0;
        break;
      default:
        break;
    }
    if (std::isalpha(static_cast<unsigned char>(size.back()))) number.pop_back();
    auto v = parse_number("--memPoolSize " + pool, number, 0, 1e15);
    if (!v.is_ok())
      return invalid_argument("--memPoolSize: '{}' is not a size like 1024M, 2G or 512K", size);
    if (pool != "workspace") {
      warnings->push_back("--memPoolSize: pool '" + pool + "' has no meaning here; ignored");
      continue;
    }
    workspace = static_cast<size_t>(std::llround(*v * unit));
  }
  return workspace;
}

StatusOr<std::map<std::string, std::string>> parse_layer_precisions(const std::string& spec) {
  std::map<std::string, std::string> out;
  if (spec.empty()) return out;
  for (const std::string& item : split(spec, ',')) {
    TARMAC_ASSIGN_OR_RETURN(auto nv, name_value(item, "--layerPrecisions"));
    if (nv.second != "fp32" && nv.second != "fp16" && nv.second != "bf16")
      return invalid_argument("--layerPrecisions: '{}' asks for '{}'; use fp32, fp16 or bf16", item,
                              nv.second);
    out[nv.first] = nv.second;
  }
  return out;
}

StatusOr<std::vector<OptimizationProfile>> parse_profiles(const std::vector<std::string>& min,
                                                          const std::vector<std::string>& opt,
                                                          const std::vector<std::string>& max) {
  std::vector<OptimizationProfile> profiles;
  const bool opt_only = !opt.empty() && min.empty() && max.empty();
  if (!opt_only && (min.size() != opt.size() || max.size() != opt.size()))
    return invalid_argument(
        "give --optShapes alone or all of --minShapes, --optShapes and --maxShapes, once per "
        "profile (got {} --minShapes, {} --optShapes, {} --maxShapes)",
        min.size(), opt.size(), max.size());
  for (size_t p = 0; p < opt.size(); ++p) {
    TARMAC_ASSIGN_OR_RETURN(auto o, parse_shapes(opt[p], "--optShapes"));
    auto lo = o, hi = o;
    if (!opt_only) {
      TARMAC_ASSIGN_OR_RETURN(lo, parse_shapes(min[p], "--minShapes"));
      TARMAC_ASSIGN_OR_RETURN(hi, parse_shapes(max[p], "--maxShapes"));
    }
    OptimizationProfile prof;
    for (const auto& [name, dims] : o) {
      if (!lo.count(name) || !hi.count(name))
        return invalid_argument(
            "profile {}: input '{}' has --optShapes but no --minShapes or --maxShapes", p, name);
      prof.inputs[name] = ShapeRange{lo.at(name), dims, hi.at(name)};
    }
    for (const auto* m : {&lo, &hi})
      for (const auto& [name, dims] : *m)
        if (!o.count(name))
          return invalid_argument("profile {}: input '{}' has no --optShapes", p, name);
    profiles.push_back(std::move(prof));
  }
  return profiles;
}

StatusOr<std::vector<double>> parse_percentiles(const std::string& spec) {
  std::vector<double> out;
  for (const std::string& item : split(spec, ',')) {
    TARMAC_ASSIGN_OR_RETURN(double p, parse_number("--percentile", item, 0, 100));
    out.push_back(p);
  }
  return out;
}

std::string nearest_flag(const std::string& given, const std::vector<std::string>& known) {
  const std::string name = lower(given.substr(0, given.find('=')));
  std::string best;
  size_t best_d = std::string::npos;
  for (const std::string& k : known) {
    const size_t d = edit_distance(name, lower(k));
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  // Close enough to be a typo: a few edits, fewer for short names.
  const size_t core = name.size() > 2 ? name.size() - 2 : name.size();
  return best_d <= std::max<size_t>(2, core / 3) ? best : "";
}

StatusOr<ExecSettings> validate_exec_options(const ExecOptions& o) {
  ExecSettings s;
  BuildConfig& b = s.build;
  if (o.device != "cuda" && o.device != "cpu")
    return invalid_argument("--device must be cuda or cpu, not '{}'", o.device);
  b.device = o.device == "cpu" ? DeviceKind::kCpu : DeviceKind::kCuda;
  if (o.onnx.empty() && o.load_engine.empty())
    return invalid_argument("give a model: --onnx=<model.onnx> or --loadEngine=<model.plan>");
  if (!o.load_engine.empty() && !o.save_engine.empty())
    return invalid_argument("--saveEngine writes a built engine; --loadEngine builds none");
  b.fp16 = o.fp16 || o.best;
  b.bf16 = o.bf16;
  if (b.fp16 && b.bf16)
    return invalid_argument("--fp16 (or --best) and --bf16 exclude each other: choose one");
  b.tf32 = !o.no_tf32;
  TARMAC_ASSIGN_OR_RETURN(b.profiles, parse_profiles(o.min_shapes, o.opt_shapes, o.max_shapes));
  TARMAC_ASSIGN_OR_RETURN(b.workspace_limit, parse_mem_pool_size(o.mem_pool_size, &s.warnings));
  b.timing_cache_file = o.timing_cache_file;
  TARMAC_ASSIGN_OR_RETURN(auto level,
                          parse_int("--builderOptimizationLevel", o.optimization_level, 0, 5));
  b.optimization_level = static_cast<int>(level);
  TARMAC_ASSIGN_OR_RETURN(b.layer_precisions, parse_layer_precisions(o.layer_precisions));
  if (o.precision_constraints == "none") {
    b.precision_constraints = PrecisionConstraints::kNone;
  } else if (o.precision_constraints == "prefer") {
    b.precision_constraints = PrecisionConstraints::kPrefer;
  } else if (o.precision_constraints == "obey") {
    b.precision_constraints = PrecisionConstraints::kObey;
  } else {
    return invalid_argument("--precisionConstraints must be none, prefer or obey, not '{}'",
                            o.precision_constraints);
  }
  b.refittable = o.refit || o.strip_weights;  // a stripped plan is refitted at load
  b.strip_weights = o.strip_weights;
  b.allow_cpu_fallback = o.allow_cpu_fallback;
  if (o.profiling_verbosity != "layer_names_only" && o.profiling_verbosity != "detailed" &&
      o.profiling_verbosity != "none")
    return invalid_argument(
        "--profilingVerbosity must be layer_names_only, detailed or none, not '{}'",
        o.profiling_verbosity);

  TARMAC_ASSIGN_OR_RETURN(s.shapes, parse_shapes(o.shapes, "--shapes"));
  TARMAC_ASSIGN_OR_RETURN(s.load_inputs, parse_name_files(o.load_inputs));
  TARMAC_ASSIGN_OR_RETURN(auto profile, parse_int("--profile", o.profile, 0, 1 << 20));
  s.profile = static_cast<int>(profile);
  TARMAC_ASSIGN_OR_RETURN(auto iterations, parse_int("--iterations", o.iterations, 1, 1 << 30));
  s.iterations = static_cast<int>(iterations);
  TARMAC_ASSIGN_OR_RETURN(s.warmup_ms, parse_number("--warmUp", o.warmup_ms, 0, 3.6e6));
  TARMAC_ASSIGN_OR_RETURN(s.duration_s, parse_number("--duration", o.duration_s, 0, 86400));
  TARMAC_ASSIGN_OR_RETURN(auto streams, parse_int("--infStreams", o.inf_streams, 1, 64));
  s.inf_streams = static_cast<int>(streams);
  TARMAC_ASSIGN_OR_RETURN(auto avg, parse_int("--avgRuns", o.avg_runs, 1, 1 << 30));
  s.avg_runs = static_cast<int>(avg);
  TARMAC_ASSIGN_OR_RETURN(s.percentiles, parse_percentiles(o.percentiles));
  s.skip_inference = o.skip_inference || o.build_only;
  s.profile_layers = o.dump_profile || !o.export_profile.empty();
  if (b.device == DeviceKind::kCpu) {
    if (o.use_cuda_graph) s.warnings.push_back("--useCudaGraph has no meaning on the CPU; ignored");
    if (o.use_spin_wait) s.warnings.push_back("--useSpinWait has no meaning on the CPU; ignored");
    if (o.no_data_transfers)
      s.warnings.push_back("--noDataTransfers: the CPU device copies nothing anyway");
  }
  return s;
}

}  // namespace tarmac::cli

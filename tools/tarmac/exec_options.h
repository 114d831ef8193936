// `tarmac exec` flags: trtexec's names and value formats, parsed into the builder's and the
// benchmark's settings.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tarmac/builder.h"
#include "tarmac/status.h"

namespace tarmac::cli {

/// Every flag as given; numbers stay text until validate_exec_options() checks them.
struct ExecOptions {
  // Model options.
  std::string onnx;
  // Build options.
  std::vector<std::string> min_shapes, opt_shapes, max_shapes;  // one entry per profile
  bool fp16 = false, bf16 = false, best = false, no_tf32 = false;
  std::string mem_pool_size;
  std::string timing_cache_file;
  std::string optimization_level = "3";
  std::string layer_precisions;
  std::string precision_constraints = "none";
  bool refit = false, strip_weights = false;
  bool skip_inference = false, build_only = false;
  bool allow_cpu_fallback = false;
  std::string save_engine, load_engine;
  std::string profiling_verbosity = "layer_names_only";
  // Inference options.
  std::string device = "cuda";
  bool device_given = false;
  std::string shapes;
  std::string load_inputs;
  std::string profile = "0";
  std::string iterations = "10";
  std::string warmup_ms = "200";
  std::string duration_s = "3";
  std::string inf_streams = "1";
  bool use_cuda_graph = false, no_data_transfers = false, use_spin_wait = false;
  bool separate_profile_run = false;
  // Reporting options.
  std::string avg_runs = "10";
  std::string percentiles = "90,95,99";
  bool dump_profile = false, dump_layer_info = false, verbose = false;
  std::string export_profile, export_times, export_output, export_layer_info;
};

/// The flags after checking, in the library's terms.
struct ExecSettings {
  BuildConfig build;  // device, precisions, profiles, workspace, ... (no callbacks)
  int profile = 0;
  std::map<std::string, std::vector<int64_t>> shapes;  // --shapes
  std::map<std::string, std::string> load_inputs;      // --loadInputs
  int iterations = 10;
  double warmup_ms = 200;
  double duration_s = 3;
  int inf_streams = 1;
  int avg_runs = 10;
  std::vector<double> percentiles;
  bool skip_inference = false;
  bool profile_layers = false;        // --dumpProfile or --exportProfile
  std::vector<std::string> warnings;  // accepted but ignored settings
};

/// Registers the flags, grouped as trtexec's help groups them.
void add_exec_flags(CLI::App* sub, ExecOptions* o);
/// Checks every value and converts it; the first bad one is an error naming the flag.
StatusOr<ExecSettings> validate_exec_options(const ExecOptions& o);

/// trtexec's --memPoolSize: "workspace:1024M,dlaSRAM:1G" (suffix B, K, M or G, base 2; MiB when
/// none). Returns the workspace limit in bytes (0 = not given); other pools add a warning.
StatusOr<size_t> parse_mem_pool_size(const std::string& spec, std::vector<std::string>* warnings);
/// "layer:fp32,*:fp16" -> {layer: fp32, *: fp16}; precisions fp32, fp16 and bf16.
StatusOr<std::map<std::string, std::string>> parse_layer_precisions(const std::string& spec);
/// The profiles of repeated --minShapes/--optShapes/--maxShapes: the i-th of each forms profile
/// i; --optShapes alone makes min = max = opt (trtexec's rules).
StatusOr<std::vector<OptimizationProfile>> parse_profiles(const std::vector<std::string>& min,
                                                          const std::vector<std::string>& opt,
                                                          const std::vector<std::string>& max);
/// "90,95,99.9" -> {90, 95, 99.9}, each in [0, 100].
StatusOr<std::vector<double>> parse_percentiles(const std::string& spec);
/// The flag of `known` ("--fp16") nearest `given` ("--fp61" or "--fp61=1") by edit distance, or
/// "" when none is near enough to be a likely typo.
std::string nearest_flag(const std::string& given, const std::vector<std::string>& known);

}  // namespace tarmac::cli

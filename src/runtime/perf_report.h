// Benchmark statistics and reports in trtexec's formats, for `tarmac exec`:
//   std::vector<tarmac::InferenceTrace> trace = ...;        // one record per inference
//   tarmac::PerfReportOptions opts;                          // percentiles, --avgRuns, --warmUp
//   auto summary = tarmac::summarize_performance(trace, opts);
//   std::fputs(tarmac::format_performance_summary(*summary, opts).c_str(), stdout);
//   write(times_json(trace, opts));                          // --exportTimes
// The statistics follow trtexec's definitions (samples/common/sampleReporting.cpp in TensorRT):
// Latency = H2D + compute + D2H of one inference; Throughput = timed inferences / Total Host
// Walltime, the span from the first timed H2D start to the last D2H end; percentiles pick an
// element of the sorted values without interpolation; the median averages the two middle ones.
// The JSON documents use the keys trtexec writes, which its tracer.py / profiler.py and
// TensorRT's trt-engine-explorer read.
#pragma once

#include <string>
#include <vector>

#include "tarmac/engine.h"
#include "tarmac/status.h"

namespace tarmac {

/// One inference's timestamps in milliseconds (trtexec's InferenceTrace). The enqueue times are
/// host times from the start of the run, the others device times from the device's start event
/// (on the CPU all are host times from one start).
struct InferenceTrace {
  int stream = 0;
  double enq_start = 0, enq_end = 0;
  double h2d_start = 0, h2d_end = 0;
  double compute_start = 0, compute_end = 0;
  double d2h_start = 0, d2h_end = 0;
};

/// The durations of one inference (trtexec's InferenceTime).
struct InferenceTime {
  double enq = 0, h2d = 0, compute = 0, d2h = 0;
  /// trtexec's "Latency": H2D + compute + D2H.
  double latency() const { return h2d + compute + d2h; }
};
InferenceTime inference_time(const InferenceTrace& t);

/// trtexec's percentile of ascending values: the element at index
/// max(n - 1 - floor((1 - p / 100) * n), 0); p = 0 is the minimum, p = 100 the maximum.
/// Infinity for no values.
double trtexec_percentile(const std::vector<double>& sorted, double percentile);
/// The middle element, or the mean of the two middle elements; infinity for no values.
double trtexec_median(const std::vector<double>& sorted);

/// Statistics of one metric over the timed inferences.
struct MetricStats {
  double min = 0, max = 0, mean = 0, median = 0;
  std::vector<double> percentiles;  // in the order of PerfReportOptions::percentiles
  /// Population standard deviation / mean in percent (infinity when the mean is 0).
  double coeff_var_percent = 0;
};
MetricStats metric_stats(std::vector<double> values, const std::vector<double>& percentiles);

struct PerfReportOptions {
  /// --percentile, each in [0, 100].
  std::vector<double> percentiles = {90, 95, 99};
  /// --avgRuns: inferences per "Average on N runs" line.
  int avg_runs = 10;
  /// --warmUp: inferences whose compute starts before this many ms are warm-up, not reported.
  double warmup_ms = 200;
  /// The enqueue call returns when the inference is done (the CPU device): Enqueue Time then
  /// equals the compute time, so the enqueue-bound warning says nothing and is left out.
  bool synchronous_enqueue = false;
};

struct PerfSummary {
  int warmup_queries = 0;
  int queries = 0;         // timed inferences
  double walltime_ms = 0;  // Total Host Walltime
  double throughput_qps = 0;
  MetricStats latency, enqueue, h2d, compute, d2h;
  double total_compute_ms = 0;       // Total GPU Compute Time (mean compute x queries, as trtexec)
  std::vector<InferenceTime> times;  // the timed inferences, in H2D start order
  /// trtexec's advice lines ("* Throughput may be bound by ...", "* GPU compute time is
  /// unstable ..."), each followed by its hint line.
  std::vector<std::string> warnings;
};

/// Sorts the trace by H2D start, leaves out the warm-up inferences (those before the first
/// whose compute starts at or after `warmup_ms`) and computes trtexec's statistics. An error
/// when no inference is left or an option is out of range.
StatusOr<PerfSummary> summarize_performance(std::vector<InferenceTrace> trace,
                                            const PerfReportOptions& options);

/// "Warmup completed N queries over X ms" and "Timing trace has N queries over X s".
std::string format_prolog(const PerfSummary& summary, const PerfReportOptions& options);
/// "=== Trace details ===": one "Average on N runs" line per N timed inferences.
std::string format_trace_details(const PerfSummary& summary, const PerfReportOptions& options);
/// The "=== Performance summary ===" block, without the warnings.
std::string format_performance_summary(const PerfSummary& summary,
                                       const PerfReportOptions& options);
/// What each metric of the summary means (printed with --verbose).
std::string performance_metric_explanations();

/// --exportTimes: one record per timed inference, with trtexec's keys ("startEnqMs", ...,
/// "latencyMs") followed by the older names trtexec's tracer.py reads ("startInMs", ...).
std::string times_json(std::vector<InferenceTrace> trace, const PerfReportOptions& options);

/// One layer's time over `LayerProfileReport::count` inferences.
struct LayerProfile {
  std::string name;
  double total_ms = 0;
  double average_ms = 0;
  double median_ms = 0;
};
struct LayerProfileReport {
  int count = 0;                     // inferences profiled
  std::vector<LayerProfile> layers;  // engine layer order
};
/// Per-layer times from ExecutionContext::profile_layers(count), which gives one time per
/// inference for each layer: total = time x count, average = median = time.
LayerProfileReport layer_profile_from_times(const std::vector<LayerInfo>& layers,
                                            const std::vector<double>& ms_per_inference, int count);
/// --dumpProfile: "=== Profile (N iterations ) ===" with per-layer total, average, median and
/// share of the total, then a Total row; layers that took no time are left out.
std::string format_profile_table(const LayerProfileReport& report);
/// --exportProfile: [{"count": N}, {"name", "timeMs", "averageMs", "medianMs", "percentage"}...].
std::string profile_json(const LayerProfileReport& report);

/// --profilingVerbosity: how much of each layer --exportLayerInfo / --dumpLayerInfo show.
enum class LayerInfoVerbosity { kNone, kLayerNamesOnly, kDetailed };
/// A LayerInfo tensor ("float16[1, 52, 52, 64]") as dtype name and dims; false if malformed.
bool parse_layer_tensor(const std::string& text, std::string* dtype, std::vector<int64_t>* dims);
/// TensorRT's format description for a row-major tensor of `dtype` ("Row major linear FP32").
std::string trt_format_name(const std::string& dtype);
/// --exportLayerInfo: {"Layers": [...], "Bindings": [...]} in the engine inspector's layout.
/// kDetailed: each layer an object with "Name", "LayerType", "Inputs", "Outputs" (each tensor
/// with "Name", "Location", "Dimensions", "Format/Datatype"), "TacticName" and "TacticValue";
/// kLayerNamesOnly: layer names; kNone: no layers.
std::string layer_info_json(const std::vector<LayerInfo>& layers,
                            const std::vector<std::string>& bindings, LayerInfoVerbosity verbosity);
/// --dumpLayerInfo: the same content, one layer per line.
std::string format_layer_info(const std::vector<LayerInfo>& layers,
                              const std::vector<std::string>& bindings,
                              LayerInfoVerbosity verbosity);

}  // namespace tarmac

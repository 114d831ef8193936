#include "runtime/perf_report.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tarmac {

namespace {

using ordered_json = nlohmann::ordered_json;

constexpr double kInf = std::numeric_limits<double>::infinity();
/// trtexec warns when the median enqueue time exceeds this share of the median compute time.
constexpr double kEnqueueBoundShare = 0.8;
/// trtexec warns when the compute time's coefficient of variance exceeds this many percent.
constexpr double kUnstableCoeffVarPercent = 1.0;

/// Numbers as an iostream prints them by default (6 significant digits), as trtexec shows them.
std::string num(double v) { return fmt::format("{:.6g}", v); }

std::string stats_line(const char* label, const MetricStats& s, const PerfReportOptions& o) {
  std::string line = fmt::format("{}: min = {} ms, max = {} ms, mean = {} ms, median = {} ms",
                                 label, num(s.min), num(s.max), num(s.mean), num(s.median));
  for (size_t i = 0; i < o.percentiles.size() && i < s.percentiles.size(); ++i)
    line += fmt::format(", percentile({}%) = {} ms", num(o.percentiles[i]), num(s.percentiles[i]));
  return line + "\n";
}

Status check_options(const PerfReportOptions& o) {
  for (double p : o.percentiles) {
    if (!(p >= 0 && p <= 100)) return invalid_argument("percentile {} is not in [0, 100]", p);
  }
  if (o.avg_runs < 1) return invalid_argument("--avgRuns must be at least 1, not {}", o.avg_runs);
  return Status::ok();
}

void sort_by_h2d_start(std::vector<InferenceTrace>* trace) {
  std::stable_sort(
      trace->begin(), trace->end(),
      [](const InferenceTrace& a, const InferenceTrace& b) { return a.h2d_start < b.h2d_start; });
}

/// Index of the first timed (not warm-up) inference of a sorted trace.
size_t first_timed(const std::vector<InferenceTrace>& trace, double warmup_ms) {
  auto it = std::find_if(trace.begin(), trace.end(), [warmup_ms](const InferenceTrace& t) {
    return t.compute_start >= warmup_ms;
  });
  return static_cast<size_t>(it - trace.begin());
}

/// A stable 64-bit identifier of a tactic name (FNV-1a), shown as TensorRT shows tactic values.
std::string tactic_value(const std::string& tactic) {
  if (tactic.empty()) return "0x0000000000000000";
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : tactic) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("0x{:016x}", h);
}

ordered_json tensor_json(const std::string& text, const std::string& name) {
  std::string dtype;
  std::vector<int64_t> dims;
  const bool ok = parse_layer_tensor(text, &dtype, &dims);
  ordered_json t;
  t["Name"] = name;
  t["Location"] = "Device";
  t["Dimensions"] = dims;
  t["Format/Datatype"] = ok ? trt_format_name(dtype) : "Unknown format";
  return t;
}

ordered_json layer_json(const LayerInfo& l) {
  ordered_json j;
  j["Name"] = l.name;
  j["LayerType"] = l.type;
  // LayerInfo describes tensors by type and shape only, so each gets a name unique to its layer.
  j["Inputs"] = ordered_json::array();
  for (size_t i = 0; i < l.inputs.size(); ++i) {
    if (!l.inputs[i].empty())
      j["Inputs"].push_back(tensor_json(l.inputs[i], fmt::format("{} input {}", l.name, i)));
  }
  j["Outputs"] = ordered_json::array();
  for (size_t i = 0; i < l.outputs.size(); ++i) {
    if (!l.outputs[i].empty())
      j["Outputs"].push_back(tensor_json(l.outputs[i], fmt::format("{} output {}", l.name, i)));
  }
  j["TacticName"] = l.tactic;
  j["TacticValue"] = tactic_value(l.tactic);
  return j;
}

ordered_json layer_info_document(const std::vector<LayerInfo>& layers,
                                 const std::vector<std::string>& bindings,
                                 LayerInfoVerbosity verbosity) {
  ordered_json doc;
  doc["Layers"] = ordered_json::array();
  for (const LayerInfo& l : layers) {
    if (verbosity == LayerInfoVerbosity::kDetailed) doc["Layers"].push_back(layer_json(l));
    if (verbosity == LayerInfoVerbosity::kLayerNamesOnly) doc["Layers"].push_back(l.name);
  }
  doc["Bindings"] = bindings;
  return doc;
}

}  // namespace

InferenceTime inference_time(const InferenceTrace& t) {
  InferenceTime r;
  r.enq = t.enq_end - t.enq_start;
  r.h2d = t.h2d_end - t.h2d_start;
  r.compute = t.compute_end - t.compute_start;
  r.d2h = t.d2h_end - t.d2h_start;
  return r;
}

double trtexec_percentile(const std::vector<double>& sorted, double percentile) {
  if (sorted.empty()) return kInf;
  const int64_t n = static_cast<int64_t>(sorted.size());
  // trtexec computes the excluded count in float and truncates it; float rounding matters (with
  // 100 values, p = 99 excludes none and so picks the maximum), so the arithmetic is the same.
  const float keep = 1.0f - static_cast<float>(percentile) / 100.0f;
  const int64_t exclude = static_cast<int64_t>(keep * static_cast<float>(n));
  return sorted[static_cast<size_t>(std::max<int64_t>(n - 1 - exclude, 0))];
}

double trtexec_median(const std::vector<double>& sorted) {
  if (sorted.empty()) return kInf;
  const size_t m = sorted.size() / 2;
  if (sorted.size() % 2) return sorted[m];
  return (sorted[m - 1] + sorted[m]) / 2;
}

MetricStats metric_stats(std::vector<double> values, const std::vector<double>& percentiles) {
  MetricStats s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  s.min = values.front();
  s.max = values.back();
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  s.median = trtexec_median(values);
  for (double p : percentiles) s.percentiles.push_back(trtexec_percentile(values, p));
  if (s.mean == 0) {
    s.coeff_var_percent = kInf;
  } else {
    double sq = 0;
    for (double v : values) sq += (v - s.mean) * (v - s.mean);
    s.coeff_var_percent = std::sqrt(sq / n) / s.mean * 100.0;
  }
  return s;
}

StatusOr<PerfSummary> summarize_performance(std::vector<InferenceTrace> trace,
                                            const PerfReportOptions& options) {
  TARMAC_RETURN_IF_ERROR(check_options(options));
  sort_by_h2d_start(&trace);
  const size_t first = first_timed(trace, options.warmup_ms);
  if (first == trace.size()) {
    return invalid_argument("no timed inferences: all {} inferences ran during the {} ms warm-up",
                            trace.size(), options.warmup_ms);
  }
  PerfSummary s;
  s.warmup_queries = static_cast<int>(first);
  s.queries = static_cast<int>(trace.size() - first);
  s.walltime_ms = trace.back().d2h_end - trace[first].h2d_start;
  s.throughput_qps = s.walltime_ms > 0 ? s.queries / s.walltime_ms * 1000.0 : kInf;

  std::vector<double> latency, enq, h2d, compute, d2h;
  for (size_t i = first; i < trace.size(); ++i) {
    const InferenceTime t = inference_time(trace[i]);
    s.times.push_back(t);
    latency.push_back(t.latency());
    enq.push_back(t.enq);
    h2d.push_back(t.h2d);
    compute.push_back(t.compute);
    d2h.push_back(t.d2h);
  }
  s.latency = metric_stats(latency, options.percentiles);
  s.enqueue = metric_stats(enq, options.percentiles);
  s.h2d = metric_stats(h2d, options.percentiles);
  s.compute = metric_stats(compute, options.percentiles);
  s.d2h = metric_stats(d2h, options.percentiles);
  s.total_compute_ms = s.compute.mean * s.queries;

  if (!options.synchronous_enqueue && s.enqueue.median > kEnqueueBoundShare * s.compute.median) {
    s.warnings.push_back(
        "* Throughput may be bound by Enqueue Time rather than GPU Compute and the GPU may be "
        "under-utilized.");
    s.warnings.push_back(
        "  If not already in use, --useCudaGraph (utilize CUDA graphs where possible) may increase "
        "the throughput.");
  }
  if (s.h2d.median >= s.compute.median) {
    s.warnings.push_back(
        "* Throughput may be bound by host-to-device transfers for the inputs rather than GPU "
        "Compute and the GPU may be under-utilized.");
    s.warnings.push_back("  Add --noDataTransfers flag to disable data transfers.");
  }
  if (s.d2h.median >= s.compute.median) {
    s.warnings.push_back(
        "* Throughput may be bound by device-to-host transfers for the outputs rather than GPU "
        "Compute and the GPU may be under-utilized.");
    s.warnings.push_back("  Add --noDataTransfers flag to disable data transfers.");
  }
  if (s.compute.coeff_var_percent > kUnstableCoeffVarPercent) {
    s.warnings.push_back(
        fmt::format("* GPU compute time is unstable, with coefficient of variance = {}%.",
                    num(s.compute.coeff_var_percent)));
    s.warnings.push_back(
        "  If not already in use, locking GPU clock frequency or adding --useSpinWait may improve "
        "the stability.");
  }
  return s;
}

std::string format_prolog(const PerfSummary& s, const PerfReportOptions& o) {
  return fmt::format(
      "Warmup completed {} queries over {} ms\nTiming trace has {} queries over {} s\n",
      s.warmup_queries, num(o.warmup_ms), s.queries, num(s.walltime_ms / 1000.0));
}

std::string format_trace_details(const PerfSummary& s, const PerfReportOptions& o) {
  std::string out = fmt::format("=== Trace details ===\nTrace averages of {} runs:\n", o.avg_runs);
  InferenceTime sum;
  int count = 0;
  for (const InferenceTime& t : s.times) {
    sum.enq += t.enq;
    sum.h2d += t.h2d;
    sum.compute += t.compute;
    sum.d2h += t.d2h;
    if (++count < o.avg_runs) continue;
    const double n = o.avg_runs;
    out += fmt::format(
        "Average on {} runs - GPU latency: {} ms - Host latency: {} ms (enqueue {} ms)\n",
        o.avg_runs, num(sum.compute / n), num(sum.latency() / n), num(sum.enq / n));
    sum = InferenceTime();
    count = 0;
  }
  return out;
}

std::string format_performance_summary(const PerfSummary& s, const PerfReportOptions& o) {
  std::string out = "=== Performance summary ===\n";
  out += fmt::format("Throughput: {} qps\n", num(s.throughput_qps));
  out += stats_line("Latency", s.latency, o);
  out += stats_line("Enqueue Time", s.enqueue, o);
  out += stats_line("H2D Latency", s.h2d, o);
  out += stats_line("GPU Compute Time", s.compute, o);
  out += stats_line("D2H Latency", s.d2h, o);
  out += fmt::format("Total Host Walltime: {} s\n", num(s.walltime_ms / 1000.0));
  out += fmt::format("Total GPU Compute Time: {} s\n", num(s.total_compute_ms / 1000.0));
  return out;
}

std::string performance_metric_explanations() {
  return "=== Explanations of the performance metrics ===\n"
         "Total Host Walltime: from the start of the first timed inference's input copy to the "
         "end of the last inference's output copy.\n"
         "GPU Compute Time: the device time of one inference's kernels (on the CPU device: the "
         "time of one execute()).\n"
         "Total GPU Compute Time: the sum of all timed inferences' GPU Compute Time; much less "
         "than Total Host Walltime means the device waited for the host or for copies.\n"
         "Throughput: timed inferences divided by Total Host Walltime.\n"
         "Enqueue Time: the host time of one enqueue call; longer than GPU Compute Time means the "
         "host cannot keep the device busy.\n"
         "H2D Latency: one inference's host-to-device copies of the inputs.\n"
         "D2H Latency: one inference's device-to-host copies of the outputs.\n"
         "Latency: H2D Latency + GPU Compute Time + D2H Latency of one inference.\n";
}

std::string times_json(std::vector<InferenceTrace> trace, const PerfReportOptions& options) {
  sort_by_h2d_start(&trace);
  ordered_json out = ordered_json::array();
  for (size_t i = first_timed(trace, options.warmup_ms); i < trace.size(); ++i) {
    const InferenceTrace& t = trace[i];
    const InferenceTime d = inference_time(t);
    ordered_json r;
    r["startEnqMs"] = t.enq_start;
    r["endEnqMs"] = t.enq_end;
    r["startH2dMs"] = t.h2d_start;
    r["endH2dMs"] = t.h2d_end;
    r["startComputeMs"] = t.compute_start;
    r["endComputeMs"] = t.compute_end;
    r["startD2hMs"] = t.d2h_start;
    r["endD2hMs"] = t.d2h_end;
    r["h2dMs"] = d.h2d;
    r["computeMs"] = d.compute;
    r["d2hMs"] = d.d2h;
    r["latencyMs"] = d.latency();
    // The names trtexec's tracer.py reads (from before the H2D/D2H renaming).
    r["startInMs"] = t.h2d_start;
    r["endInMs"] = t.h2d_end;
    r["startOutMs"] = t.d2h_start;
    r["endOutMs"] = t.d2h_end;
    r["inMs"] = d.h2d;
    r["outMs"] = d.d2h;
    r["endToEndMs"] = t.d2h_end - t.h2d_start;
    out.push_back(std::move(r));
  }
  return out.dump(2);
}

LayerProfileReport layer_profile_from_times(const std::vector<LayerInfo>& layers,
                                            const std::vector<double>& ms_per_inference,
                                            int count) {
  LayerProfileReport r;
  r.count = count;
  for (size_t i = 0; i < layers.size() && i < ms_per_inference.size(); ++i) {
    const double t = ms_per_inference[i];
    r.layers.push_back({layers[i].name, t * count, t, t});
  }
  return r;
}

std::string format_profile_table(const LayerProfileReport& r) {
  static const std::string kName = "Layer", kTime = "   Time (ms)", kAvg = "   Avg. Time (ms)",
                           kMedian = "   Median Time (ms)", kShare = "   Time %";
  double total = 0;
  size_t name_width = kName.size();
  for (const LayerProfile& l : r.layers) {
    total += l.total_ms;
    name_width = std::max(name_width, l.name.size() + 1);
  }
  std::vector<double> medians;
  for (const LayerProfile& l : r.layers) medians.push_back(l.median_ms);
  const double count = r.count > 0 ? r.count : 1;
  std::string out = fmt::format("=== Profile ({} iterations ) ===\n", r.count);
  out += fmt::format("{:>{}}{}{}{}{}\n", kName, name_width, kTime, kAvg, kMedian, kShare);
  auto row = [&](const std::string& name, double t, double avg, double med, double share) {
    out += fmt::format("{:>{}}{:>{}.2f}{:>{}.4f}{:>{}.4f}{:>{}.1f}\n", name, name_width, t,
                       kTime.size(), avg, kAvg.size(), med, kMedian.size(), share, kShare.size());
  };
  for (const LayerProfile& l : r.layers) {
    if (l.total_ms == 0) continue;  // a layer that did no work has nothing to show
    row(l.name, l.total_ms, l.average_ms, l.median_ms, total > 0 ? l.total_ms / total * 100 : 0);
  }
  // The Total row's median is the sum of the layers' medians (one inference's median time).
  const double median_sum = std::accumulate(medians.begin(), medians.end(), 0.0);
  row("Total", total, total / count, median_sum, 100.0);
  return out;
}

std::string profile_json(const LayerProfileReport& r) {
  double total = 0;
  for (const LayerProfile& l : r.layers) total += l.total_ms;
  ordered_json out = ordered_json::array();
  out.push_back({{"count", r.count}});
  for (const LayerProfile& l : r.layers) {
    ordered_json j;
    j["name"] = l.name;
    j["timeMs"] = l.total_ms;
    j["averageMs"] = l.average_ms;
    j["medianMs"] = l.median_ms;
    j["percentage"] = total > 0 ? l.total_ms / total * 100 : 0.0;
    out.push_back(std::move(j));
  }
  return out.dump(2);
}

bool parse_layer_tensor(const std::string& text, std::string* dtype, std::vector<int64_t>* dims) {
  const size_t open = text.find('[');
  if (open == std::string::npos || open == 0 || text.back() != ']') return false;
  *dtype = text.substr(0, open);
  dims->clear();
  const std::string body = text.substr(open + 1, text.size() - open - 2);
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find(',', pos);
    if (end == std::string::npos) end = body.size();
    size_t b = pos, e = end;
    while (b < e && body[b] == ' ') ++b;
    while (e > b && body[e - 1] == ' ') --e;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(body.data() + b, body.data() + e, v);
    if (b == e || ec != std::errc() || p != body.data() + e) return false;
    dims->push_back(v);
    pos = end + 1;
  }
  return true;
}

std::string trt_format_name(const std::string& dtype) {
  // The descriptions TensorRT's engine inspector gives row-major (linear) tensors.
  if (dtype == "float32") return "Row major linear FP32";
  if (dtype == "float16") return "Row major linear FP16 format";
  if (dtype == "bfloat16") return "Row major linear BFloat16 format";
  if (dtype == "int32") return "Row major linear Int32";
  if (dtype == "int64") return "Row major linear Int64 format";
  if (dtype == "int8") return "Row major Int8 format";
  if (dtype == "uint8") return "Row major linear UInt8 format";
  if (dtype == "bool") return "Row major linear BOOL";
  if (dtype == "float64") return "Double";
  return "Unknown format";
}

std::string layer_info_json(const std::vector<LayerInfo>& layers,
                            const std::vector<std::string>& bindings,
                            LayerInfoVerbosity verbosity) {
  return layer_info_document(layers, bindings, verbosity).dump(2);
}

std::string format_layer_info(const std::vector<LayerInfo>& layers,
                              const std::vector<std::string>& bindings,
                              LayerInfoVerbosity verbosity) {
  const ordered_json doc = layer_info_document(layers, bindings, verbosity);
  std::string out = "Layers:\n";
  for (const ordered_json& l : doc["Layers"]) out += l.dump() + "\n";
  out += "Bindings:\n";
  for (const std::string& b : bindings) out += b + "\n";
  return out;
}

}  // namespace tarmac

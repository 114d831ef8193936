#include "runtime/perf_report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace tarmac {
namespace {

/// Twelve inferences started every 2 ms: H2D 0.5 ms, compute 1.0, 1.0, then 1.0 ... 1.9 ms,
/// D2H 0.25 ms, enqueue 0.2 ms. With a 4 ms warm-up the first two are warm-up.
std::vector<InferenceTrace> ramp_trace() {
  std::vector<InferenceTrace> trace;
  for (int i = 0; i < 12; ++i) {
    const double start = 2.0 * i;
    const double compute = i < 2 ? 1.0 : 1.0 + 0.1 * (i - 2);
    InferenceTrace t;
    t.enq_start = start;
    t.enq_end = start + 0.2;
    t.h2d_start = start;
    t.h2d_end = start + 0.5;
    t.compute_start = start + 0.5;
    t.compute_end = start + 0.5 + compute;
    t.d2h_start = t.compute_end;
    t.d2h_end = t.compute_end + 0.25;
    trace.push_back(t);
  }
  return trace;
}

PerfReportOptions options_with_warmup(double warmup_ms) {
  PerfReportOptions o;
  o.warmup_ms = warmup_ms;
  return o;
}

PerfReportOptions ramp_options() {
  PerfReportOptions o;
  o.warmup_ms = 4;
  o.avg_runs = 5;
  return o;
}

/// `n` identical inferences of `compute` ms started every `period` ms.
std::vector<InferenceTrace> flat_trace(int n, double period, double h2d, double compute, double d2h,
                                       double enq) {
  std::vector<InferenceTrace> trace;
  for (int i = 0; i < n; ++i) {
    InferenceTrace t;
    t.h2d_start = period * i;
    t.h2d_end = t.h2d_start + h2d;
    t.compute_start = t.h2d_end;
    t.compute_end = t.compute_start + compute;
    t.d2h_start = t.compute_end;
    t.d2h_end = t.d2h_start + d2h;
    t.enq_start = t.h2d_start;
    t.enq_end = t.enq_start + enq;
    trace.push_back(t);
  }
  return trace;
}

std::vector<double> iota_values(int n) {
  std::vector<double> v;
  for (int i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

TEST(PerfReport, PercentilePicksAnElementWithoutInterpolation) {
  const std::vector<double> ten = iota_values(10);
  EXPECT_EQ(trtexec_percentile(ten, 90), 9);  // one value above it is excluded
  EXPECT_EQ(trtexec_percentile(ten, 95), 10);
  EXPECT_EQ(trtexec_percentile(ten, 99), 10);
  EXPECT_EQ(trtexec_percentile(ten, 50), 5);
  EXPECT_EQ(trtexec_percentile(ten, 0), 1);     // 0 = best
  EXPECT_EQ(trtexec_percentile(ten, 100), 10);  // 100 = worst
  EXPECT_EQ(trtexec_percentile({7}, 90), 7);
  EXPECT_TRUE(std::isinf(trtexec_percentile({}, 90)));
}

TEST(PerfReport, PercentileRoundsInFloatLikeTrtexec) {
  // (1 - 0.99f) * 100 is just below 1 in float, so no value is excluded and p99 of 100 values is
  // the maximum; double arithmetic would exclude one and give 99.
  const std::vector<double> hundred = iota_values(100);
  EXPECT_EQ(trtexec_percentile(hundred, 99), 100);
  EXPECT_EQ(trtexec_percentile(hundred, 90), 90);
  EXPECT_EQ(trtexec_percentile(hundred, 95), 95);
}

TEST(PerfReport, MedianAveragesTheMiddlePair) {
  EXPECT_EQ(trtexec_median({1, 2, 3}), 2);
  EXPECT_EQ(trtexec_median({1, 2, 3, 10}), 2.5);
  EXPECT_EQ(trtexec_median({4}), 4);
  EXPECT_TRUE(std::isinf(trtexec_median({})));
}

TEST(PerfReport, MetricStatsSortsAndMeasuresSpread) {
  const MetricStats s = metric_stats({3, 1, 2, 4}, {50, 100});
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 4);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_EQ(s.median, 2.5);
  ASSERT_EQ(s.percentiles.size(), 2u);
  EXPECT_EQ(s.percentiles[0], 2);
  EXPECT_EQ(s.percentiles[1], 4);
  // Population standard deviation sqrt(1.25) over the mean 2.5.
  EXPECT_NEAR(s.coeff_var_percent, std::sqrt(1.25) / 2.5 * 100, 1e-9);
  EXPECT_TRUE(std::isinf(metric_stats({0, 0}, {}).coeff_var_percent));
}

TEST(PerfReport, SummaryLeavesOutWarmUpAndUsesHostWalltime) {
  auto s = summarize_performance(ramp_trace(), ramp_options());
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_EQ(s->warmup_queries, 2);
  EXPECT_EQ(s->queries, 10);
  // From the first timed H2D start (4 ms) to the last D2H end (22 + 0.5 + 1.9 + 0.25 ms).
  EXPECT_NEAR(s->walltime_ms, 20.65, 1e-9);
  EXPECT_NEAR(s->throughput_qps, 10 / 20.65 * 1000, 1e-9);
  EXPECT_NEAR(s->compute.mean, 1.45, 1e-9);
  EXPECT_NEAR(s->compute.median, 1.45, 1e-9);
  EXPECT_NEAR(s->compute.percentiles[0], 1.8, 1e-9);
  EXPECT_NEAR(s->latency.min, 1.75, 1e-9);  // latency = H2D + compute + D2H
  EXPECT_NEAR(s->latency.max, 2.65, 1e-9);
  EXPECT_NEAR(s->total_compute_ms, 14.5, 1e-9);
}

TEST(PerfReport, SummarySortsStreamsByH2dStart) {
  std::vector<InferenceTrace> trace = ramp_trace();
  std::reverse(trace.begin(), trace.end());
  for (size_t i = 0; i < trace.size(); ++i) trace[i].stream = static_cast<int>(i % 2);
  auto s = summarize_performance(trace, ramp_options());
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->warmup_queries, 2);
  EXPECT_NEAR(s->walltime_ms, 20.65, 1e-9);
}

TEST(PerfReport, GoldenSummaryText) {
  const PerfReportOptions o = ramp_options();
  auto s = summarize_performance(ramp_trace(), o);
  ASSERT_TRUE(s.is_ok());
  const std::string expected =
      "=== Performance summary ===\n"
      "Throughput: 484.262 qps\n"
      "Latency: min = 1.75 ms, max = 2.65 ms, mean = 2.2 ms, median = 2.2 ms, "
      "percentile(90%) = 2.55 ms, percentile(95%) = 2.65 ms, percentile(99%) = 2.65 ms\n"
      "Enqueue Time: min = 0.2 ms, max = 0.2 ms, mean = 0.2 ms, median = 0.2 ms, "
      "percentile(90%) = 0.2 ms, percentile(95%) = 0.2 ms, percentile(99%) = 0.2 ms\n"
      "H2D Latency: min = 0.5 ms, max = 0.5 ms, mean = 0.5 ms, median = 0.5 ms, "
      "percentile(90%) = 0.5 ms, percentile(95%) = 0.5 ms, percentile(99%) = 0.5 ms\n"
      "GPU Compute Time: min = 1 ms, max = 1.9 ms, mean = 1.45 ms, median = 1.45 ms, "
      "percentile(90%) = 1.8 ms, percentile(95%) = 1.9 ms, percentile(99%) = 1.9 ms\n"
      "D2H Latency: min = 0.25 ms, max = 0.25 ms, mean = 0.25 ms, median = 0.25 ms, "
      "percentile(90%) = 0.25 ms, percentile(95%) = 0.25 ms, percentile(99%) = 0.25 ms\n"
      "Total Host Walltime: 0.02065 s\n"
      "Total GPU Compute Time: 0.0145 s\n";
  EXPECT_EQ(format_performance_summary(*s, o), expected);
  EXPECT_EQ(format_prolog(*s, o),
            "Warmup completed 2 queries over 4 ms\nTiming trace has 10 queries over 0.02065 s\n");
  EXPECT_EQ(format_trace_details(*s, o),
            "=== Trace details ===\n"
            "Trace averages of 5 runs:\n"
            "Average on 5 runs - GPU latency: 1.2 ms - Host latency: 1.95 ms (enqueue 0.2 ms)\n"
            "Average on 5 runs - GPU latency: 1.7 ms - Host latency: 2.45 ms (enqueue 0.2 ms)\n");
}

TEST(PerfReport, RequestedPercentilesAreListedInOrder) {
  PerfReportOptions o = ramp_options();
  o.percentiles = {50, 99.9};
  auto s = summarize_performance(ramp_trace(), o);
  ASSERT_TRUE(s.is_ok());
  const std::string text = format_performance_summary(*s, o);
  EXPECT_NE(text.find("median = 1.45 ms, percentile(50%) = 1.4 ms, percentile(99.9%) = 1.9 ms\n"),
            std::string::npos)
      << text;
}

TEST(PerfReport, UnstableComputeWarns) {
  auto s = summarize_performance(ramp_trace(), ramp_options());
  ASSERT_TRUE(s.is_ok());
  ASSERT_EQ(s->warnings.size(), 2u);
  EXPECT_EQ(s->warnings[0],
            "* GPU compute time is unstable, with coefficient of variance = 19.8088%.");
}

TEST(PerfReport, SteadyComputeBoundRunHasNoWarnings) {
  auto s = summarize_performance(flat_trace(20, 2, 0.1, 1.5, 0.1, 0.2), options_with_warmup(0));
  ASSERT_TRUE(s.is_ok());
  EXPECT_TRUE(s->warnings.empty()) << s->warnings[0];
  EXPECT_EQ(s->compute.coeff_var_percent, 0);
}

TEST(PerfReport, EnqueueBoundWarnsAboveEightyPercentOfCompute) {
  PerfReportOptions o;
  o.warmup_ms = 0;
  auto bound = summarize_performance(flat_trace(10, 2, 0.1, 1.0, 0.1, 0.81), o);
  ASSERT_TRUE(bound.is_ok());
  ASSERT_EQ(bound->warnings.size(), 2u);
  EXPECT_NE(bound->warnings[0].find("bound by Enqueue Time"), std::string::npos);
  EXPECT_NE(bound->warnings[1].find("--useCudaGraph"), std::string::npos);
  auto not_bound = summarize_performance(flat_trace(10, 2, 0.1, 1.0, 0.1, 0.79), o);
  ASSERT_TRUE(not_bound.is_ok());
  EXPECT_TRUE(not_bound->warnings.empty());
  // A synchronous enqueue (the CPU device) always lasts as long as the compute: no warning.
  o.synchronous_enqueue = true;
  auto cpu = summarize_performance(flat_trace(10, 2, 0, 1.0, 0, 1.0), o);
  ASSERT_TRUE(cpu.is_ok());
  EXPECT_TRUE(cpu->warnings.empty());
}

TEST(PerfReport, TransferBoundWarnsWhenCopiesTakeAsLongAsCompute) {
  PerfReportOptions o;
  o.warmup_ms = 0;
  auto s = summarize_performance(flat_trace(10, 4, 1.0, 1.0, 1.0, 0.1), o);
  ASSERT_TRUE(s.is_ok());
  ASSERT_EQ(s->warnings.size(), 4u);
  EXPECT_NE(s->warnings[0].find("host-to-device"), std::string::npos);
  EXPECT_NE(s->warnings[2].find("device-to-host"), std::string::npos);
  EXPECT_EQ(s->warnings[3], "  Add --noDataTransfers flag to disable data transfers.");
  // Without transfers (--noDataTransfers) H2D and D2H are 0: no transfer warning.
  auto none = summarize_performance(flat_trace(10, 4, 0, 1.0, 0, 0.1), o);
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none->warnings.empty());
  EXPECT_EQ(none->h2d.max, 0);
  EXPECT_EQ(none->latency.mean, none->compute.mean);
}

TEST(PerfReport, ErrorsOnBadInput) {
  EXPECT_FALSE(summarize_performance({}, PerfReportOptions{}).is_ok());
  EXPECT_FALSE(summarize_performance(ramp_trace(), options_with_warmup(1000)).is_ok());
  PerfReportOptions bad;
  bad.percentiles = {101};
  EXPECT_FALSE(summarize_performance(ramp_trace(), bad).is_ok());
  bad.percentiles = {90};
  bad.avg_runs = 0;
  EXPECT_FALSE(summarize_performance(ramp_trace(), bad).is_ok());
}

TEST(PerfReport, TimesJsonHasTrtexecKeysForTimedInferences) {
  const auto j = nlohmann::json::parse(times_json(ramp_trace(), ramp_options()));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 10u);  // warm-up left out
  for (const char* key :
       {"startEnqMs", "endEnqMs", "startH2dMs", "endH2dMs", "startComputeMs", "endComputeMs",
        "startD2hMs", "endD2hMs", "h2dMs", "computeMs", "d2hMs", "latencyMs", "startInMs",
        "endInMs", "startOutMs", "endOutMs", "inMs", "outMs", "endToEndMs"}) {
    EXPECT_TRUE(j[0].contains(key)) << key;
  }
  EXPECT_DOUBLE_EQ(j[0]["startH2dMs"].get<double>(), 4.0);
  EXPECT_NEAR(j[0]["latencyMs"].get<double>(), 1.75, 1e-9);
  EXPECT_NEAR(j[9]["computeMs"].get<double>(), 1.9, 1e-9);
}

std::vector<LayerInfo> two_layers() {
  LayerInfo conv{"conv_1 + relu_2",
                 "Conv+Relu",
                 "float16",
                 "conv2d_nhwc_fp16",
                 {"float16[1, 3, 8, 8]", "float16[4, 3, 3, 3]", ""},
                 {"float16[1, 4, 8, 8]"}};
  LayerInfo pool{
      "pool_3", "MaxPool", "float32", "", {"float32[1, 4, 8, 8]"}, {"float32[1, 4, 4, 4]"}};
  return {conv, pool};
}

TEST(PerfReport, ProfileJsonAndTable) {
  const LayerProfileReport r = layer_profile_from_times(two_layers(), {0.3, 0.1}, 10);
  const auto j = nlohmann::json::parse(profile_json(r));
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0], nlohmann::json({{"count", 10}}));
  EXPECT_EQ(j[1]["name"], "conv_1 + relu_2");
  EXPECT_DOUBLE_EQ(j[1]["timeMs"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(j[1]["averageMs"].get<double>(), 0.3);
  EXPECT_DOUBLE_EQ(j[1]["medianMs"].get<double>(), 0.3);
  EXPECT_NEAR(j[1]["percentage"].get<double>(), 75, 1e-9);
  // trt-engine-explorer keeps only records of 4 or 5 keys as layers.
  EXPECT_EQ(j[1].size(), 5u);
  EXPECT_EQ(format_profile_table(r),
            "=== Profile (10 iterations ) ===\n"
            "           Layer   Time (ms)   Avg. Time (ms)   Median Time (ms)   Time %\n"
            " conv_1 + relu_2        3.00           0.3000             0.3000     75.0\n"
            "          pool_3        1.00           0.1000             0.1000     25.0\n"
            "           Total        4.00           0.4000             0.4000    100.0\n");
}

TEST(PerfReport, ParsesLayerTensors) {
  std::string dtype;
  std::vector<int64_t> dims;
  ASSERT_TRUE(parse_layer_tensor("float16[1, 52, 52, 64]", &dtype, &dims));
  EXPECT_EQ(dtype, "float16");
  EXPECT_EQ(dims, (std::vector<int64_t>{1, 52, 52, 64}));
  ASSERT_TRUE(parse_layer_tensor("int64[]", &dtype, &dims));
  EXPECT_TRUE(dims.empty());
  EXPECT_FALSE(parse_layer_tensor("float16", &dtype, &dims));
  EXPECT_FALSE(parse_layer_tensor("float16[1, x]", &dtype, &dims));
  EXPECT_EQ(trt_format_name("float32"), "Row major linear FP32");
  EXPECT_EQ(trt_format_name("float16"), "Row major linear FP16 format");
}

TEST(PerfReport, LayerInfoJsonFollowsTheEngineInspector) {
  const auto j = nlohmann::json::parse(
      layer_info_json(two_layers(), {"images", "output"}, LayerInfoVerbosity::kDetailed));
  ASSERT_EQ(j["Layers"].size(), 2u);
  EXPECT_EQ(j["Bindings"], nlohmann::json({"images", "output"}));
  const auto& conv = j["Layers"][0];
  EXPECT_EQ(conv["Name"], "conv_1 + relu_2");
  EXPECT_EQ(conv["LayerType"], "Conv+Relu");
  EXPECT_EQ(conv["TacticName"], "conv2d_nhwc_fp16");
  EXPECT_EQ(conv["TacticValue"].get<std::string>().size(), 18u);
  ASSERT_EQ(conv["Inputs"].size(), 2u);  // the absent optional input is left out
  EXPECT_EQ(conv["Inputs"][1]["Dimensions"], nlohmann::json({4, 3, 3, 3}));
  EXPECT_EQ(conv["Inputs"][1]["Format/Datatype"], "Row major linear FP16 format");
  EXPECT_EQ(conv["Outputs"][0]["Location"], "Device");
  EXPECT_EQ(j["Layers"][1]["TacticValue"], "0x0000000000000000");

  const auto names = nlohmann::json::parse(
      layer_info_json(two_layers(), {"images"}, LayerInfoVerbosity::kLayerNamesOnly));
  EXPECT_EQ(names["Layers"], nlohmann::json({"conv_1 + relu_2", "pool_3"}));
  const auto none =
      nlohmann::json::parse(layer_info_json(two_layers(), {"images"}, LayerInfoVerbosity::kNone));
  EXPECT_TRUE(none["Layers"].empty());
  EXPECT_EQ(format_layer_info(two_layers(), {"images"}, LayerInfoVerbosity::kLayerNamesOnly),
            "Layers:\n\"conv_1 + relu_2\"\n\"pool_3\"\nBindings:\nimages\n");
}

}  // namespace
}  // namespace tarmac

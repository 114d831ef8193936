// Per-tensor error statistics and the pass/fail check behind `tarmac compare`.
//   CheckOptions o;  o.tol.atol = 1e-3;  o.stat = ErrorStat::kMedian;
//   StatusOr<TensorComparison> c = compare_tensors("logits", test, ref, o);
//   if (c.is_ok() && !c->passed) std::puts(c->reason.c_str());
// The semantics (tolerance rule, NaN/Inf handling, quantile interpolation) follow Polygraphy's
// `run` comparison because our users carry their tolerances over from it.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace tarmac::compare {

/// Which statistic of the error arrays is held against the tolerances.
enum class ErrorStat { kElemwise, kMean, kMedian, kMax, kQuantile };

/// "elemwise", "mean", "median", "max" or "quantile"; anything else is kInvalidArgument
/// listing the choices.
StatusOr<ErrorStat> parse_error_stat(std::string_view text);
std::string_view error_stat_name(ErrorStat stat);

struct Tolerance {
  double atol = 1e-5;
  double rtol = 1e-5;
};

struct CheckOptions {
  Tolerance tol;
  ErrorStat stat = ErrorStat::kElemwise;
  double quantile = 0.99;  // used by ErrorStat::kQuantile
  bool histogram = true;
  int histogram_bins = 10;
};

/// "elemwise", "mean", ... and "quantile 0.99" for kQuantile: how reports name the check.
std::string check_name(const CheckOptions& o);

/// Statistics of one array of doubles. Everything but the counts is taken over the finite
/// values only, so one NaN does not hide the distribution of the rest.
struct Summary {
  int64_t count = 0;  // all elements
  int64_t finite = 0;
  int64_t nan = 0;
  int64_t pos_inf = 0;
  int64_t neg_inf = 0;
  // NaN when there is no finite value. std_dev / var are population statistics (divide by n).
  double mean = std::numeric_limits<double>::quiet_NaN();
  double std_dev = std::numeric_limits<double>::quiet_NaN();
  double var = std::numeric_limits<double>::quiet_NaN();
  double median = std::numeric_limits<double>::quiet_NaN();
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();
  double avg_magnitude = std::numeric_limits<double>::quiet_NaN();  // mean |x|
  double p90 = std::numeric_limits<double>::quiet_NaN();
  double p95 = std::numeric_limits<double>::quiet_NaN();
  double p99 = std::numeric_limits<double>::quiet_NaN();
  int64_t argmin = -1;  // flat index of the first minimum
  int64_t argmax = -1;  // flat index of the first maximum
};

Summary summarize(const std::vector<double>& values);

/// numpy's default quantile ("linear"): the value at position q * (n - 1) of the sorted values,
/// interpolated between the two closest ranks. q is clamped to [0, 1]; NaN for no values.
/// `values` must hold no NaN; +/-Inf are ordered as usual. Runs in O(n) without sorting
/// (nth_element; a radix select for large arrays).
double quantile(std::vector<double> values, double q);

/// Equal-width bins over [lo, hi]; every bin is half-open except the last, which is closed.
/// A constant range (lo == hi) gets a single bin; no finite value at all gets no bins.
struct Histogram {
  double lo = 0;
  double hi = 0;
  std::vector<int64_t> test;
  std::vector<int64_t> ref;  // empty for one-sided histograms (TensorComparison::abs_hist)
};

struct TensorComparison {
  std::string name;
  Dims dims;  // shape of both sides
  DType test_dtype = DType::kUndefined;
  DType ref_dtype = DType::kUndefined;
  Summary test;  // value statistics of each side
  Summary ref;
  Summary abs_diff;    // |test - ref|; non-finite mismatches show up as pos_inf
  Summary rel_diff;    // |test - ref| / |ref|; also +inf where ref == 0 and test != 0
  Histogram values;    // both sides' values (when CheckOptions::histogram)
  Histogram abs_hist;  // the finite absolute differences, counts in `test`, `ref` empty
  // The smallest tolerances that would have passed: for elemwise either one alone passes,
  // for the other checks the two are the statistic of the abs / rel arrays.
  double required_atol = 0;
  double required_rtol = 0;
  int64_t mismatches = 0;    // elements with abs > atol and rel > rtol
  int64_t worst_index = -1;  // flat index of the first largest abs difference
  double worst_test = 0;     // values at worst_index
  double worst_ref = 0;
  double worst_abs = 0;
  double worst_rel = 0;
  int64_t nonfinite_mismatches = 0;  // one side NaN/Inf and not the same on the other side
  int64_t first_nonfinite = -1;      // flat index of the first of those
  bool passed = false;
  std::string reason;  // one line saying why it failed; empty when passed
};

/// Compares `test` against the reference `ref`. The shapes must match (else kInvalidArgument
/// naming the tensor and both shapes); the dtypes may differ since both are read as double.
/// Negative or NaN tolerances, a quantile outside [0, 1] and fewer than one histogram bin are
/// kInvalidArgument too.
StatusOr<TensorComparison> compare_tensors(const std::string& name, const Tensor& test,
                                           const Tensor& ref, const CheckOptions& o);

/// "(0, 3, 12, 7)": the multi-index of a flat row-major index into `dims` ("()" for a scalar,
/// "(none)" for a negative index).
std::string index_text(const Dims& dims, int64_t flat);

}  // namespace tarmac::compare

#include "compare/error_stats.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include <fmt/format.h>

#include "compare/report.h"
#include "core/parallel.h"

namespace tarmac::compare {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// numpy's interpolation between neighbouring ranks: the form switches sides at t = 0.5 so
// that both ends are reproduced exactly and the result is monotonic in t.
double lerp_ranks(double a, double b, double t) {
  if (a == b || t <= 0) return a;
  // Infinite neighbours would turn the formulas below into inf - inf.
  if (std::isinf(a)) return a;
  if (std::isinf(b)) return b;
  const double d = b - a;
  return t < 0.5 ? a + d * t : b - d * (1 - t);
}

// Values at `ranks` (ascending, distinct, each < v.size()) of v, which gets reordered. After
// nth_element places rank r, everything above it is >= v[r], so the next higher rank only
// needs to partition what lies above r.
std::vector<double> select_sorted_ranks(std::vector<double>& v, const std::vector<size_t>& ranks) {
  std::vector<double> out;
  out.reserve(ranks.size());
  size_t from = 0;
  for (size_t r : ranks) {
    const auto at = v.begin() + static_cast<std::ptrdiff_t>(r);
    std::nth_element(v.begin() + static_cast<std::ptrdiff_t>(from), at, v.end());
    out.push_back(*at);
    from = r + 1;
  }
  return out;
}

// Unsigned keys that sort like the doubles (NaN aside): positives get the sign bit set,
// negatives are bit-inverted so that larger magnitudes come first.
uint64_t order_key(double x) {
  uint64_t u = 0;
  std::memcpy(&u, &x, sizeof u);
  return (u >> 63) != 0 ? ~u : u | (uint64_t{1} << 63);
}

constexpr int kRadixBits = 16;
constexpr size_t kBuckets = size_t{1} << kRadixBits;
// Below this, copying and nth_element is cheaper than clearing the bucket table.
constexpr size_t kRadixMinSize = kBuckets;

size_t bucket_of(double x) { return static_cast<size_t>(order_key(x) >> (64 - kRadixBits)); }

// Finds the values at given ranks among the kept elements of an array (all of them, or the
// finite ones). One nth_element per quantile made a 10^7-element comparison take seconds, so
// large arrays use a radix select: one pass counts elements per 16-bit key prefix, which pins
// each rank to a bucket; a second pass gathers only those buckets and nth_element finishes
// inside them. Only an array crowded into one bucket falls back to a full nth_element.
class RankSelector {
 public:
  RankSelector(const std::vector<double>& values, bool finite_only)
      : values_(values), finite_only_(finite_only) {
    if (values.size() < kRadixMinSize) {
      for (double x : values) {
        if (kept(x)) small_.push_back(x);
      }
      size_ = small_.size();
      return;
    }
    counts_.assign(kBuckets, 0);
    for (double x : values) {
      if (kept(x)) ++counts_[bucket_of(x)];
    }
    for (size_t c : counts_) size_ += c;
  }

  size_t size() const { return size_; }

  /// `ranks` ascending, distinct and below size().
  std::vector<double> select(const std::vector<size_t>& ranks) {
    if (counts_.empty()) return select_sorted_ranks(small_, ranks);
    // Each rank's bucket and its rank inside the bucket; buckets come out non-decreasing.
    std::vector<size_t> bucket(ranks.size()), local(ranks.size());
    size_t b = 0, before = 0;
    for (size_t i = 0; i < ranks.size(); ++i) {
      while (before + counts_[b] <= ranks[i]) before += counts_[b++];
      bucket[i] = b;
      local[i] = ranks[i] - before;
    }
    std::vector<int16_t> slot(kBuckets, -1);
    std::vector<std::vector<double>> groups;
    for (size_t bk : bucket) {
      if (slot[bk] >= 0) continue;
      slot[bk] = static_cast<int16_t>(groups.size());
      groups.emplace_back().reserve(counts_[bk]);
    }
    for (double x : values_) {
      if (!kept(x)) continue;
      const int16_t s = slot[bucket_of(x)];
      if (s >= 0) groups[static_cast<size_t>(s)].push_back(x);
    }
    std::vector<double> out(ranks.size());
    for (size_t i = 0; i < ranks.size();) {
      size_t j = i;
      std::vector<size_t> in_bucket;
      for (; j < ranks.size() && bucket[j] == bucket[i]; ++j) in_bucket.push_back(local[j]);
      const std::vector<double> found =
          select_sorted_ranks(groups[static_cast<size_t>(slot[bucket[i]])], in_bucket);
      std::copy(found.begin(), found.end(), out.begin() + static_cast<std::ptrdiff_t>(i));
      i = j;
    }
    return out;
  }

 private:
  bool kept(double x) const { return !finite_only_ || std::isfinite(x); }

  const std::vector<double>& values_;
  bool finite_only_;
  size_t size_ = 0;
  std::vector<double> small_;   // small arrays: the kept values themselves
  std::vector<size_t> counts_;  // large arrays: kept elements per key prefix
};

// numpy's "linear" quantiles of the kept elements, one per entry of qs, sharing the passes.
std::vector<double> quantiles_of(const std::vector<double>& values, bool finite_only,
                                 const std::vector<double>& qs) {
  RankSelector selector(values, finite_only);
  const size_t n = selector.size();
  if (n == 0) return std::vector<double>(qs.size(), kNaN);
  struct Position {
    size_t k;  // lower rank
    double t;  // weight of rank k + 1
  };
  std::vector<Position> positions;
  std::vector<size_t> ranks;
  for (double q : qs) {
    const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(n - 1);
    const size_t k = std::min(static_cast<size_t>(pos), n - 1);
    positions.push_back({k, pos - static_cast<double>(k)});
    ranks.push_back(k);
    if (k + 1 < n) ranks.push_back(k + 1);
  }
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  const std::vector<double> at = selector.select(ranks);
  auto value_at = [&](size_t r) {
    return at[static_cast<size_t>(std::lower_bound(ranks.begin(), ranks.end(), r) - ranks.begin())];
  };
  std::vector<double> out;
  for (const Position& p : positions) {
    const double lo = value_at(p.k);
    const double v = p.k + 1 < n ? lerp_ranks(lo, value_at(p.k + 1), p.t) : lo;
    out.push_back(v + 0.0);  // + 0.0 turns a selected -0 into 0, which reads better
  }
  return out;
}

// Below this many elements a comparison takes well under a millisecond and is not worth
// waking threads for.
constexpr size_t kParallelMinSize = size_t{1} << 16;

void run_tasks(bool parallel, const std::vector<std::function<void()>>& tasks) {
  if (!parallel) {
    for (const auto& task : tasks) task();
    return;
  }
  parallel_for(static_cast<int64_t>(tasks.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) tasks[static_cast<size_t>(i)]();
  });
}

// One dtype dispatch for the whole tensor instead of one per element.
std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  dispatch_all(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(load(p[i]));
  });
  return out;
}

std::string shape_text(const Dims& dims) { return fmt::format("[{}]", fmt::join(dims, ", ")); }

// Counts the finite values into counts.size() equal-width bins over [lo, hi], the last bin
// closed. A precomputed scale replaces a division per element (10^7-element outputs); the
// range is halved first when hi - lo overflows.
void fill_bins(const std::vector<double>& values, double lo, double hi,
               std::vector<int64_t>& counts) {
  const size_t bins = counts.size();
  const double shrink = std::isfinite(hi - lo) ? 1.0 : 0.5;
  const double origin = lo * shrink;
  const double scale = static_cast<double>(bins) / (hi * shrink - origin);
  const double last = static_cast<double>(bins - 1);
  for (double x : values) {
    if (!std::isfinite(x)) continue;
    // NaN (a zero-width range times an infinite scale) lands in the first bin.
    const double b = (x * shrink - origin) * scale;
    size_t i = 0;
    if (b >= last) {
      i = bins - 1;
    } else if (b > 0) {
      i = static_cast<size_t>(b);
    }
    ++counts[i];
  }
}

// Range over the finite values of the given summaries; false when none has any.
bool finite_range(const std::vector<const Summary*>& sides, double* lo, double* hi) {
  bool any = false;
  for (const Summary* s : sides) {
    if (s->finite == 0) continue;
    *lo = any ? std::min(*lo, s->min) : s->min;
    *hi = any ? std::max(*hi, s->max) : s->max;
    any = true;
  }
  return any;
}

size_t bin_count(double lo, double hi, int requested) {
  return lo == hi ? 1 : static_cast<size_t>(std::max(requested, 1));
}

Histogram make_value_histogram(const std::vector<double>& test, const Summary& ts,
                               const std::vector<double>& ref, const Summary& rs, int bins) {
  Histogram h;
  if (!finite_range({&ts, &rs}, &h.lo, &h.hi)) return h;
  const size_t n = bin_count(h.lo, h.hi, bins);
  h.test.assign(n, 0);
  h.ref.assign(n, 0);
  fill_bins(test, h.lo, h.hi, h.test);
  fill_bins(ref, h.lo, h.hi, h.ref);
  return h;
}

Histogram make_one_sided_histogram(const std::vector<double>& values, const Summary& s, int bins) {
  Histogram h;
  if (!finite_range({&s}, &h.lo, &h.hi)) return h;
  h.test.assign(bin_count(h.lo, h.hi, bins), 0);
  fill_bins(values, h.lo, h.hi, h.test);
  return h;
}

// The checked statistic over all elements of an abs or rel array. These arrays hold no NaN,
// only finite values and +inf, so the summary (finite values only) answers directly unless
// some +inf is present.
double checked_statistic(const std::vector<double>& v, const Summary& s, const CheckOptions& o) {
  const bool has_inf = s.pos_inf > 0;
  switch (o.stat) {
    case ErrorStat::kElemwise:
    case ErrorStat::kMax:
      return has_inf ? kInf : s.max;
    case ErrorStat::kMean:
      return has_inf ? kInf : s.mean;
    case ErrorStat::kMedian:
      return has_inf ? quantiles_of(v, /*finite_only=*/false, {0.5})[0] : s.median;
    case ErrorStat::kQuantile:
      return quantiles_of(v, /*finite_only=*/false, {o.quantile})[0];
  }
  return kNaN;
}

std::string stat_label(const CheckOptions& o) {
  if (o.stat == ErrorStat::kQuantile) return fmt::format("{}-quantile", format_value(o.quantile));
  return std::string(error_stat_name(o.stat));
}

struct NonfiniteCounts {
  int64_t only_test = 0;  // test NaN/Inf, reference finite
  int64_t other = 0;      // reference NaN/Inf where the test differs
};

std::string nonfinite_reason(const TensorComparison& c, const NonfiniteCounts& n, double t,
                             double r) {
  const std::string where = index_text(c.dims, c.first_nonfinite);
  if (n.other == 0) {
    return fmt::format("{} non-finite value{} where the reference is finite (first at {}: test={})",
                       n.only_test, n.only_test == 1 ? "" : "s", where, format_value(t));
  }
  return fmt::format(
      "{} position{} where test and reference disagree on NaN/Inf (first at {}: test={} "
      "reference={})",
      c.nonfinite_mismatches, c.nonfinite_mismatches == 1 ? "" : "s", where, format_value(t),
      format_value(r));
}

// Flags reach here from the command line; a NaN or negative tolerance would silently make
// every comparison pass or fail.
Status validate(const CheckOptions& o) {
  if (!(o.tol.atol >= 0) || !(o.tol.rtol >= 0)) {
    return invalid_argument("tolerances must be non-negative numbers (atol={}, rtol={})",
                            o.tol.atol, o.tol.rtol);
  }
  if (o.stat == ErrorStat::kQuantile && !(o.quantile >= 0 && o.quantile <= 1)) {
    return invalid_argument("the error quantile must lie in [0, 1], got {}", o.quantile);
  }
  if (o.histogram && o.histogram_bins < 1) {
    return invalid_argument("histogram bins must be at least 1, got {}", o.histogram_bins);
  }
  return Status::ok();
}

}  // namespace

StatusOr<ErrorStat> parse_error_stat(std::string_view text) {
  for (ErrorStat s : {ErrorStat::kElemwise, ErrorStat::kMean, ErrorStat::kMedian, ErrorStat::kMax,
                      ErrorStat::kQuantile}) {
    if (text == error_stat_name(s)) return s;
  }
  return invalid_argument(
      "unknown error statistic '{}': expected one of elemwise, mean, median, max, quantile", text);
}

std::string_view error_stat_name(ErrorStat stat) {
  switch (stat) {
    case ErrorStat::kElemwise:
      return "elemwise";
    case ErrorStat::kMean:
      return "mean";
    case ErrorStat::kMedian:
      return "median";
    case ErrorStat::kMax:
      return "max";
    case ErrorStat::kQuantile:
      return "quantile";
  }
  return "unknown";
}

std::string check_name(const CheckOptions& o) {
  if (o.stat == ErrorStat::kQuantile) return fmt::format("quantile {}", format_value(o.quantile));
  return std::string(error_stat_name(o.stat));
}

double quantile(std::vector<double> values, double q) {
  return quantiles_of(values, /*finite_only=*/false, {q})[0];
}

Summary summarize(const std::vector<double>& values) {
  Summary s;
  s.count = static_cast<int64_t>(values.size());
  double sum = 0, sum_abs = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double x = values[i];
    if (std::isnan(x)) {
      ++s.nan;
      continue;
    }
    if (std::isinf(x)) {
      ++(x > 0 ? s.pos_inf : s.neg_inf);
      continue;
    }
    if (s.finite == 0 || x < s.min) {
      s.min = x;
      s.argmin = static_cast<int64_t>(i);
    }
    if (s.finite == 0 || x > s.max) {
      s.max = x;
      s.argmax = static_cast<int64_t>(i);
    }
    ++s.finite;
    sum += x;
    sum_abs += std::fabs(x);
  }
  if (s.finite == 0) return s;
  const double n = static_cast<double>(s.finite);
  s.mean = sum / n;
  s.avg_magnitude = sum_abs / n;
  // Two passes: the textbook E[x^2] - mean^2 loses everything when |mean| >> std-dev.
  double sq = 0;
  for (double x : values) {
    if (std::isfinite(x)) sq += (x - s.mean) * (x - s.mean);
  }
  s.var = sq / n;
  s.std_dev = std::sqrt(s.var);
  const std::vector<double> q = quantiles_of(values, /*finite_only=*/true, {0.5, 0.9, 0.95, 0.99});
  s.median = q[0];
  s.p90 = q[1];
  s.p95 = q[2];
  s.p99 = q[3];
  return s;
}

std::string index_text(const Dims& dims, int64_t flat) {
  if (flat < 0 || flat >= num_elements(dims)) return "(none)";
  std::vector<int64_t> idx(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    idx[d] = flat % dims[d];
    flat /= dims[d];
  }
  return fmt::format("({})", fmt::join(idx, ", "));
}

StatusOr<TensorComparison> compare_tensors(const std::string& name, const Tensor& test,
                                           const Tensor& ref, const CheckOptions& o) {
  TARMAC_RETURN_IF_ERROR(validate(o));
  if (!test.defined() || !ref.defined()) {
    return invalid_argument("output '{}': the {} tensor is missing", name,
                            test.defined() ? "reference" : "test");
  }
  if (test.dims() != ref.dims()) {
    return invalid_argument("output '{}': shapes differ: test {} vs reference {}", name,
                            shape_text(test.dims()), shape_text(ref.dims()));
  }
  TensorComparison c;
  c.name = name;
  c.dims = test.dims();
  c.test_dtype = test.dtype();
  c.ref_dtype = ref.dtype();

  const std::vector<double> t = to_doubles(test);
  const std::vector<double> r = to_doubles(ref);
  const size_t n = t.size();
  std::vector<double> abs(n), rel(n);
  NonfiniteCounts nonfinite;
  for (size_t i = 0; i < n; ++i) {
    const double a = t[i], b = r[i];
    double d = 0, q = 0;
    if (std::isfinite(a) && std::isfinite(b)) {
      d = std::fabs(a - b);
      q = d == 0 ? 0 : (b == 0 ? kInf : d / std::fabs(b));
    } else if (!(a == b || (std::isnan(a) && std::isnan(b)))) {
      // Both NaN or the same infinity count as equal; every other NaN/Inf placement is wrong.
      d = q = kInf;
      if (c.nonfinite_mismatches++ == 0) c.first_nonfinite = static_cast<int64_t>(i);
      ++(std::isfinite(b) ? nonfinite.only_test : nonfinite.other);
    }
    abs[i] = d;
    rel[i] = q;
    if (d > o.tol.atol && q > o.tol.rtol) ++c.mismatches;
    if (c.worst_index < 0 || d > c.worst_abs) {
      c.worst_index = static_cast<int64_t>(i);
      c.worst_abs = d;
    }
  }

  // Each statistic is a few full passes over its own array, independent of the others, so
  // large outputs run them side by side.
  const bool parallel = n >= kParallelMinSize;
  run_tasks(parallel, {[&] { c.test = summarize(t); }, [&] { c.ref = summarize(r); },
                       [&] { c.abs_diff = summarize(abs); }, [&] { c.rel_diff = summarize(rel); }});
  if (n == 0) {
    c.passed = true;
    return c;
  }
  run_tasks(parallel, {[&] {
                         if (o.histogram) {
                           c.values = make_value_histogram(t, c.test, r, c.ref, o.histogram_bins);
                         }
                       },
                       [&] {
                         if (o.histogram) {
                           c.abs_hist = make_one_sided_histogram(abs, c.abs_diff, o.histogram_bins);
                         }
                       },
                       [&] { c.required_atol = checked_statistic(abs, c.abs_diff, o); },
                       [&] { c.required_rtol = checked_statistic(rel, c.rel_diff, o); }});
  const auto w = static_cast<size_t>(c.worst_index);
  c.worst_test = t[w];
  c.worst_ref = r[w];
  c.worst_rel = rel[w];

  if (c.nonfinite_mismatches > 0) {
    const auto f = static_cast<size_t>(c.first_nonfinite);
    c.reason = nonfinite_reason(c, nonfinite, t[f], r[f]);
  } else if (o.stat == ErrorStat::kElemwise) {
    if (c.mismatches > 0) {
      c.reason = fmt::format(
          "{} of {} elements exceed both atol={} and rtol={} (largest difference at {}: abs={} "
          "rel={})",
          c.mismatches, n, format_value(o.tol.atol), format_value(o.tol.rtol),
          index_text(c.dims, c.worst_index), format_number(c.worst_abs),
          format_number(c.worst_rel));
    }
  } else if (c.required_atol > o.tol.atol && c.required_rtol > o.tol.rtol) {
    const std::string label = stat_label(o);
    // Rounded up so the printed value is never below the tolerance it is said to exceed.
    c.reason = fmt::format("{} abs difference {} > atol={} and {} rel difference {} > rtol={}",
                           label, format_bound(c.required_atol), format_value(o.tol.atol), label,
                           format_bound(c.required_rtol), format_value(o.tol.rtol));
  }
  c.passed = c.reason.empty();
  return c;
}

}  // namespace tarmac::compare

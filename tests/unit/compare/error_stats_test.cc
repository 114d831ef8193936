#include "compare/error_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "core/dtype.h"
#include "core/tensor.h"

namespace tarmac::compare {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Tensor f64(const std::vector<double>& v, Dims dims) { return Tensor::from_vector<double>(v, dims); }
Tensor f64(const std::vector<double>& v) { return f64(v, {static_cast<int64_t>(v.size())}); }

CheckOptions options(double atol, double rtol, ErrorStat stat = ErrorStat::kElemwise) {
  CheckOptions o;
  o.tol.atol = atol;
  o.tol.rtol = rtol;
  o.stat = stat;
  return o;
}

TensorComparison compare_ok(const Tensor& test, const Tensor& ref, const CheckOptions& o) {
  StatusOr<TensorComparison> c = compare_tensors("out", test, ref, o);
  EXPECT_TRUE(c.is_ok()) << c.status().message();
  return c.is_ok() ? std::move(c).value() : TensorComparison{};
}

// numpy.quantile(..., method="linear"): position q * (n - 1) in the sorted values.
TEST(ErrorStatQuantile, InterpolatesLikeNumpy) {
  EXPECT_DOUBLE_EQ(quantile({7}, 0.0), 7);
  EXPECT_DOUBLE_EQ(quantile({7}, 0.5), 7);
  EXPECT_DOUBLE_EQ(quantile({7}, 1.0), 7);
  // n = 2, sorted {1, 3}: positions 0, 0.5, 0.9, 1.
  EXPECT_DOUBLE_EQ(quantile({3, 1}, 0.0), 1);
  EXPECT_DOUBLE_EQ(quantile({3, 1}, 0.5), 2);
  EXPECT_DOUBLE_EQ(quantile({3, 1}, 0.9), 2.8);
  EXPECT_DOUBLE_EQ(quantile({3, 1}, 1.0), 3);
  // n = 5, sorted {1..5}: q = 0.9 sits at 3.6, between 4 and 5.
  const std::vector<double> five = {5, 1, 4, 2, 3};
  EXPECT_DOUBLE_EQ(quantile(five, 0.0), 1);
  EXPECT_DOUBLE_EQ(quantile(five, 0.5), 3);
  EXPECT_DOUBLE_EQ(quantile(five, 0.9), 4.6);
  EXPECT_DOUBLE_EQ(quantile(five, 1.0), 5);
}

TEST(ErrorStatQuantile, HandlesEmptyAndInfinity) {
  EXPECT_TRUE(std::isnan(quantile({}, 0.5)));
  EXPECT_DOUBLE_EQ(quantile({1, kInf}, 0.0), 1);
  EXPECT_EQ(quantile({1, kInf}, 0.5), kInf);
  EXPECT_EQ(quantile({kInf, kInf}, 0.5), kInf);
}

TEST(ErrorStatSummary, ExcludesNonFiniteAndFindsFirstExtremes) {
  const Summary s = summarize({2, -1, kNaN, 6, -1, kInf, 5, -kInf, 6});
  EXPECT_EQ(s.count, 9);
  EXPECT_EQ(s.finite, 6);
  EXPECT_EQ(s.nan, 1);
  EXPECT_EQ(s.pos_inf, 1);
  EXPECT_EQ(s.neg_inf, 1);
  // Finite values {2, -1, 6, -1, 5, 6}: sum 17, sorted {-1, -1, 2, 5, 6, 6}.
  EXPECT_DOUBLE_EQ(s.mean, 17.0 / 6);
  EXPECT_EQ(s.min, -1);
  EXPECT_EQ(s.argmin, 1);
  EXPECT_EQ(s.max, 6);
  EXPECT_EQ(s.argmax, 3);
  EXPECT_DOUBLE_EQ(s.avg_magnitude, 21.0 / 6);
  // Median at position 2.5: halfway between 2 and 5. p90 at 4.5, p95 at 4.75, p99 at 4.95:
  // all between the two 6s.
  EXPECT_DOUBLE_EQ(s.median, 3.5);
  EXPECT_DOUBLE_EQ(s.p90, 6);
  EXPECT_DOUBLE_EQ(s.p95, 6);
  EXPECT_DOUBLE_EQ(s.p99, 6);
  // Population variance: sum of squared deviations from 17/6, divided by 6.
  double sq = 0;
  for (double x : {2.0, -1.0, 6.0, -1.0, 5.0, 6.0}) sq += (x - 17.0 / 6) * (x - 17.0 / 6);
  EXPECT_NEAR(s.var, sq / 6, 1e-12);
  EXPECT_NEAR(s.std_dev, std::sqrt(sq / 6), 1e-12);
}

TEST(ErrorStatSummary, QuantilesOfFiveValues) {
  // Sorted {-1, -1, 2, 5, 6}: median at 2, p90 at 3.6, p95 at 3.8, p99 at 3.96.
  const Summary s = summarize({2, -1, 6, -1, 5});
  EXPECT_DOUBLE_EQ(s.median, 2);
  EXPECT_DOUBLE_EQ(s.p90, 5.6);
  EXPECT_DOUBLE_EQ(s.p95, 5.8);
  EXPECT_DOUBLE_EQ(s.p99, 5.96);
  EXPECT_NEAR(s.var, 8.56, 1e-12);  // deviations from 2.2: 0.04 + 2 * 10.24 + 14.44 + 7.84
}

TEST(ErrorStatSummary, NoFiniteValueLeavesStatisticsNaN) {
  const Summary s = summarize({kNaN, kInf});
  EXPECT_EQ(s.finite, 0);
  EXPECT_TRUE(std::isnan(s.mean));
  EXPECT_TRUE(std::isnan(s.median));
  EXPECT_EQ(s.argmin, -1);
  EXPECT_EQ(s.argmax, -1);
}

TEST(ErrorStatParse, AcceptsTheFiveNames) {
  for (ErrorStat s : {ErrorStat::kElemwise, ErrorStat::kMean, ErrorStat::kMedian, ErrorStat::kMax,
                      ErrorStat::kQuantile}) {
    StatusOr<ErrorStat> p = parse_error_stat(error_stat_name(s));
    ASSERT_TRUE(p.is_ok());
    EXPECT_EQ(*p, s);
  }
  StatusOr<ErrorStat> bad = parse_error_stat("avg");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'avg'"), std::string::npos);
  EXPECT_NE(bad.status().message().find("elemwise, mean, median, max, quantile"),
            std::string::npos);
}

TEST(CompareIndexText, UnravelsRowMajor) {
  EXPECT_EQ(index_text({2, 3, 4, 5}, 0), "(0, 0, 0, 0)");
  EXPECT_EQ(index_text({2, 3, 4, 5}, 119), "(1, 2, 3, 4)");
  EXPECT_EQ(index_text({2, 3, 4, 5}, 33), "(0, 1, 2, 3)");  // 1 * 20 + 2 * 5 + 3
  EXPECT_EQ(index_text({7}, 5), "(5)");
  EXPECT_EQ(index_text({}, 0), "()");
  EXPECT_EQ(index_text({2, 3}, -1), "(none)");
  EXPECT_EQ(index_text({2, 3}, 6), "(none)");
}

TEST(CompareTensors, RelativeDifferenceAgainstZeroReference) {
  // abs = {0, 1e-3, 1}; rel = {0 (both zero), inf (ref zero), 1}.
  const TensorComparison c = compare_ok(f64({0, 1e-3, 2}), f64({0, 0, 1}), options(1e-2, 1e-5));
  EXPECT_EQ(c.rel_diff.finite, 2);
  EXPECT_EQ(c.rel_diff.pos_inf, 1);
  EXPECT_DOUBLE_EQ(c.rel_diff.max, 1);
  // Element 1 is within atol, element 2 within neither.
  EXPECT_EQ(c.mismatches, 1);
  EXPECT_EQ(c.worst_index, 2);
  EXPECT_FALSE(c.passed);
  EXPECT_DOUBLE_EQ(c.required_atol, 1);
  EXPECT_EQ(c.required_rtol, kInf);
  EXPECT_EQ(c.nonfinite_mismatches, 0);  // an infinite rel is not a non-finite value
  EXPECT_TRUE(compare_ok(f64({0, 1e-3, 2}), f64({0, 0, 1}), options(1, 1e-5)).passed);
}

TEST(CompareTensors, MatchingNaNAndInfinityAreEqual) {
  const TensorComparison c =
      compare_ok(f64({kNaN, kInf, -kInf, 1}), f64({kNaN, kInf, -kInf, 1}), options(0, 0));
  EXPECT_TRUE(c.passed) << c.reason;
  EXPECT_EQ(c.nonfinite_mismatches, 0);
  EXPECT_EQ(c.abs_diff.finite, 4);
  EXPECT_EQ(c.abs_diff.max, 0);
  EXPECT_EQ(c.test.nan, 1);
  EXPECT_EQ(c.test.pos_inf, 1);
  EXPECT_EQ(c.test.neg_inf, 1);
}

TEST(CompareTensors, OneSidedNaNFailsWhateverTheStatistic) {
  std::vector<double> test = {0, 1, 2, 3, kNaN, 5};
  const Tensor ref = f64({0, 1, 2, 3, 4, 5}, {2, 3});
  for (ErrorStat stat : {ErrorStat::kElemwise, ErrorStat::kMedian}) {
    const TensorComparison c = compare_ok(f64(test, {2, 3}), ref, options(1e9, 1e9, stat));
    EXPECT_FALSE(c.passed);
    EXPECT_EQ(c.nonfinite_mismatches, 1);
    EXPECT_EQ(c.first_nonfinite, 4);
    EXPECT_EQ(c.reason,
              "1 non-finite value where the reference is finite (first at (1, 1): "
              "test=nan)");
    EXPECT_EQ(c.abs_diff.pos_inf, 1);
    EXPECT_EQ(c.worst_index, 4);
  }
}

TEST(CompareTensors, DisagreeingNonFiniteValuesAreMismatches) {
  // NaN vs Inf, +Inf vs -Inf and a finite test against an infinite reference.
  const TensorComparison c =
      compare_ok(f64({kNaN, kInf, 1, 0}), f64({kInf, -kInf, kInf, 0}), options(1, 1));
  EXPECT_FALSE(c.passed);
  EXPECT_EQ(c.nonfinite_mismatches, 3);
  EXPECT_EQ(c.mismatches, 3);
  EXPECT_EQ(c.reason,
            "3 positions where test and reference disagree on NaN/Inf (first at (0): "
            "test=nan reference=inf)");
}

TEST(CompareTensors, ElemwisePassesWithinEitherTolerance) {
  // abs 0.5 is far above atol, but rel 0.005 is within rtol.
  const TensorComparison pass = compare_ok(f64({100.5}), f64({100}), options(1e-5, 1e-2));
  EXPECT_TRUE(pass.passed) << pass.reason;
  EXPECT_DOUBLE_EQ(pass.required_atol, 0.5);
  EXPECT_DOUBLE_EQ(pass.required_rtol, 0.005);
  const TensorComparison fail = compare_ok(f64({100.5}), f64({100}), options(1e-5, 1e-3));
  EXPECT_FALSE(fail.passed);
  EXPECT_EQ(fail.reason,
            "1 of 1 elements exceed both atol=1e-05 and rtol=0.001 (largest "
            "difference at (0): abs=0.5 rel=0.005)");
}

TEST(CompareTensors, ElemwiseBoundaryIsInclusive) {
  // abs and rel are exactly 0.5: a tolerance equal to the difference passes.
  EXPECT_TRUE(compare_ok(f64({1.5}), f64({1.0}), options(0.5, 0)).passed);
  EXPECT_TRUE(compare_ok(f64({1.5}), f64({1.0}), options(0, 0.5)).passed);
  EXPECT_FALSE(compare_ok(f64({1.5}), f64({1.0}), options(0.4999, 0.4999)).passed);
}

TEST(CompareTensors, StatisticChecksOnOneOutlier) {
  // ref all 1, one element off by 10: abs = rel = {0, 0, 0, 0, 10}.
  const Tensor test = f64({1, 1, 1, 1, 11}), ref = f64({1, 1, 1, 1, 1});
  struct Case {
    ErrorStat stat;
    double q;
    double expected;  // the statistic of {0, 0, 0, 0, 10}
    bool passes;      // with atol = rtol = 1
  };
  for (const Case& k :
       {Case{ErrorStat::kElemwise, 0, 10, false}, Case{ErrorStat::kMean, 0, 2, false},
        Case{ErrorStat::kMedian, 0, 0, true}, Case{ErrorStat::kMax, 0, 10, false},
        Case{ErrorStat::kQuantile, 0.75, 0, true},     // position 3
        Case{ErrorStat::kQuantile, 0.9, 6, false}}) {  // position 3.6
    CheckOptions o = options(1, 1, k.stat);
    o.quantile = k.q;
    const TensorComparison c = compare_ok(test, ref, o);
    SCOPED_TRACE(std::string(error_stat_name(k.stat)));
    EXPECT_EQ(c.passed, k.passes) << c.reason;
    EXPECT_DOUBLE_EQ(c.required_atol, k.expected);
    EXPECT_DOUBLE_EQ(c.required_rtol, k.expected);
    EXPECT_EQ(c.mismatches, 1);  // informational for every check
  }
}

TEST(CompareTensors, StatisticCheckNeedsBothToleranceExceeded) {
  // abs = {0, 0, 0, 0, 10}, rel = {0, 0, 0, 0, 5}: mean abs 2, mean rel 1.
  const Tensor test = f64({2, 2, 2, 2, 12}), ref = f64({2, 2, 2, 2, 2});
  const TensorComparison pass = compare_ok(test, ref, options(1, 1, ErrorStat::kMean));
  EXPECT_TRUE(pass.passed) << pass.reason;
  const TensorComparison fail = compare_ok(test, ref, options(1, 0.99, ErrorStat::kMean));
  EXPECT_FALSE(fail.passed);
  EXPECT_EQ(fail.reason, "mean abs difference 2 > atol=1 and mean rel difference 1 > rtol=0.99");
}

TEST(CompareTensors, RequiredToleranceIsTheExactBoundary) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 1e-3);
  std::vector<double> ref(1000), test(1000);
  for (size_t i = 0; i < ref.size(); ++i) {
    ref[i] = std::sin(static_cast<double>(i)) + 2;
    test[i] = ref[i] + noise(rng);
  }
  for (ErrorStat stat : {ErrorStat::kElemwise, ErrorStat::kMean, ErrorStat::kMedian,
                         ErrorStat::kMax, ErrorStat::kQuantile}) {
    SCOPED_TRACE(std::string(error_stat_name(stat)));
    const TensorComparison c = compare_ok(f64(test), f64(ref), options(0, 0, stat));
    EXPECT_FALSE(c.passed);
    // Either required tolerance alone passes, and nothing smaller does alone. (Below both at
    // once is not a boundary for elemwise: the largest abs and rel may sit at different
    // elements.)
    EXPECT_TRUE(compare_ok(f64(test), f64(ref), options(c.required_atol, 0, stat)).passed);
    EXPECT_TRUE(compare_ok(f64(test), f64(ref), options(0, c.required_rtol, stat)).passed);
    const double below_a = std::nextafter(c.required_atol, 0.0);
    const double below_r = std::nextafter(c.required_rtol, 0.0);
    EXPECT_FALSE(compare_ok(f64(test), f64(ref), options(below_a, 0, stat)).passed);
    EXPECT_FALSE(compare_ok(f64(test), f64(ref), options(0, below_r, stat)).passed);
  }
}

TEST(CompareTensors, ShapeMismatchNamesBothShapes) {
  StatusOr<TensorComparison> c = compare_tensors("boxes", f64({1, 2, 3, 4, 5, 6}, {2, 3}),
                                                 f64({1, 2, 3, 4, 5, 6}, {3, 2}), CheckOptions{});
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(), "output 'boxes': shapes differ: test [2, 3] vs reference [3, 2]");
}

TEST(CompareTensors, RejectsBadOptions) {
  CheckOptions o = options(-1, 0);
  StatusOr<TensorComparison> c = compare_tensors("x", f64({1}), f64({1}), o);
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  o = options(kNaN, 0);
  EXPECT_FALSE(compare_tensors("x", f64({1}), f64({1}), o).is_ok());
  o = options(0, 0, ErrorStat::kQuantile);
  o.quantile = 1.5;
  c = compare_tensors("x", f64({1}), f64({1}), o);
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().message(), "the error quantile must lie in [0, 1], got 1.5");
  o = options(0, 0);
  o.histogram_bins = 0;
  EXPECT_FALSE(compare_tensors("x", f64({1}), f64({1}), o).is_ok());
}

TEST(CompareTensors, Float16AgainstFloat64) {
  const Tensor test = Tensor::from_vector<Half>({Half(1.0f), Half(0.1f), Half(-2.5f)}, {3});
  const Tensor ref = f64({1.0, 0.1, -2.5});
  // The nearest float16 to 0.1 is 1638 / 16384.
  ASSERT_EQ(test.as_double(1), 0.0999755859375);
  const TensorComparison c = compare_ok(test, ref, CheckOptions{});
  EXPECT_EQ(c.test_dtype, DType::kFloat16);
  EXPECT_EQ(c.ref_dtype, DType::kFloat64);
  EXPECT_FALSE(c.passed);  // abs 2.44e-5 and rel 2.44e-4 both exceed 1e-5
  EXPECT_EQ(c.worst_index, 1);
  EXPECT_DOUBLE_EQ(c.required_atol, 0.1 - 0.0999755859375);
  EXPECT_DOUBLE_EQ(c.required_rtol, (0.1 - 0.0999755859375) / 0.1);
  EXPECT_TRUE(compare_ok(test, ref, options(3e-5, 0)).passed);
}

TEST(CompareTensors, EmptyTensorsPass) {
  const TensorComparison c =
      compare_ok(Tensor::zeros(DType::kFloat32, {0, 3}), f64({}, {0, 3}), CheckOptions{});
  EXPECT_TRUE(c.passed);
  EXPECT_EQ(c.test.count, 0);
  EXPECT_EQ(c.worst_index, -1);
  EXPECT_TRUE(c.values.test.empty());
}

TEST(CompareHistogram, BinsAreEqualWidthAndLastIsClosed) {
  CheckOptions o;
  o.histogram_bins = 4;
  // Range [0, 4] over both sides, bins of width 1; 4 lands in the closed last bin.
  const TensorComparison c = compare_ok(f64({0, 1, 2, 3, 4}), f64({4, 4, 4, 4, 4}), o);
  EXPECT_EQ(c.values.lo, 0);
  EXPECT_EQ(c.values.hi, 4);
  EXPECT_EQ(c.values.test, (std::vector<int64_t>{1, 1, 1, 2}));
  EXPECT_EQ(c.values.ref, (std::vector<int64_t>{0, 0, 0, 5}));
  // abs = {4, 3, 2, 1, 0}: one per bin but two in the last.
  EXPECT_EQ(c.abs_hist.test, (std::vector<int64_t>{1, 1, 1, 2}));
  EXPECT_TRUE(c.abs_hist.ref.empty());
}

TEST(CompareHistogram, ConstantRangeGetsOneBin) {
  const TensorComparison c = compare_ok(f64({3, 3}), f64({3, 3}), CheckOptions{});
  EXPECT_EQ(c.values.test, std::vector<int64_t>{2});
  EXPECT_EQ(c.values.ref, std::vector<int64_t>{2});
  EXPECT_EQ(c.abs_hist.test, std::vector<int64_t>{2});
  CheckOptions off;
  off.histogram = false;
  EXPECT_TRUE(compare_ok(f64({3, 3}), f64({3, 3}), off).values.test.empty());
}

TEST(CompareHistogram, CountsSumToFiniteValues) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-5, 5);
  std::vector<double> test(5000), ref(5000);
  for (size_t i = 0; i < test.size(); ++i) {
    ref[i] = u(rng);
    test[i] = i % 97 == 0 ? kNaN : (i % 101 == 0 ? kInf : ref[i] * 1.01);
  }
  const TensorComparison c = compare_ok(f64(test), f64(ref), CheckOptions{});
  auto sum = [](const std::vector<int64_t>& v) { return std::accumulate(v.begin(), v.end(), 0L); };
  EXPECT_EQ(sum(c.values.test), c.test.finite);
  EXPECT_EQ(sum(c.values.ref), c.ref.finite);
  EXPECT_EQ(sum(c.abs_hist.test), c.abs_diff.finite);
  EXPECT_EQ(c.abs_diff.finite + c.abs_diff.pos_inf, 5000);
  EXPECT_EQ(c.values.test.size(), 10u);
}

TEST(ErrorStatQuantile, LargeArraysMatchSorting) {
  // Large enough for the radix path: infinities, many ties, signed zeros, subnormals, values
  // crowded into one key bucket, and both signs.
  std::mt19937_64 rng(17);
  std::uniform_int_distribution<int> kind(0, 9);
  std::uniform_real_distribution<double> u(-1e3, 1e3), narrow(1.0, 1.0001);
  std::vector<double> v(300'000);
  for (double& x : v) {
    switch (kind(rng)) {
      case 0:
        x = kind(rng) < 5 ? kInf : -kInf;
        break;
      case 1:
        x = kind(rng) < 5 ? 0.0 : -0.0;
        break;
      case 2:
        x = std::numeric_limits<double>::denorm_min() * kind(rng);
        break;
      case 3:
      case 4:
        x = narrow(rng);
        break;
      default:
        x = u(rng);
    }
  }
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (double q : {0.0, 0.05, 0.1, 0.25, 0.5, 0.61, 0.9, 0.95, 0.99, 1.0}) {
    const double pos = q * static_cast<double>(sorted.size() - 1);
    const auto k = static_cast<size_t>(pos);
    const double t = pos - static_cast<double>(k);
    const double a = sorted[k], b = k + 1 < sorted.size() ? sorted[k + 1] : a;
    double expected = a;
    if (t > 0 && a != b) {
      if (std::isinf(a) || std::isinf(b)) {
        expected = std::isinf(a) ? a : b;
      } else {
        expected = t < 0.5 ? a + (b - a) * t : b - (b - a) * (1 - t);
      }
    }
    EXPECT_EQ(quantile(v, q), expected) << q;
  }
}

// ---- Against a plain sort-based oracle on a million elements ----

double oracle_quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t k = static_cast<size_t>(std::floor(pos));
  const double t = pos - static_cast<double>(k);
  if (k + 1 >= sorted.size() || t == 0) return sorted[k];
  const double a = sorted[k], b = sorted[k + 1];
  return t < 0.5 ? a + (b - a) * t : b - (b - a) * (1 - t);
}

void expect_matches_oracle(const Summary& s, const std::vector<double>& values) {
  std::vector<double> finite;
  for (double x : values) {
    if (std::isfinite(x)) finite.push_back(x);
  }
  std::vector<double> sorted = finite;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_EQ(s.finite, static_cast<int64_t>(finite.size()));
  const double n = static_cast<double>(finite.size());
  const double mean = std::accumulate(finite.begin(), finite.end(), 0.0) / n;
  double sq = 0;
  for (double x : finite) sq += (x - mean) * (x - mean);
  EXPECT_NEAR(s.mean, mean, 1e-12 * std::max(1.0, std::fabs(mean)));
  EXPECT_NEAR(s.var, sq / n, 1e-12 * sq / n);
  EXPECT_EQ(s.min, sorted.front());
  EXPECT_EQ(s.max, sorted.back());
  EXPECT_EQ(values[static_cast<size_t>(s.argmin)], sorted.front());
  EXPECT_EQ(values[static_cast<size_t>(s.argmax)], sorted.back());
  EXPECT_EQ(s.median, oracle_quantile(sorted, 0.5));
  EXPECT_EQ(s.p90, oracle_quantile(sorted, 0.9));
  EXPECT_EQ(s.p95, oracle_quantile(sorted, 0.95));
  EXPECT_EQ(s.p99, oracle_quantile(sorted, 0.99));
}

TEST(CompareTensors, MillionElementsMatchSortBasedOracle) {
  constexpr size_t kN = 1'000'000;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> value(0.0, 3.0), noise(0.0, 1e-3);
  std::vector<double> ref(kN), test(kN);
  for (size_t i = 0; i < kN; ++i) {
    ref[i] = value(rng);
    test[i] = i % 1000 == 0 ? ref[i] : ref[i] + noise(rng);  // exact ties at zero difference
  }
  test[12345] = ref[12345] = kNaN;  // equal NaNs must not disturb anything
  const Tensor t = f64(test, {1000, 1000}), r = f64(ref, {1000, 1000});
  std::vector<double> abs(kN), rel(kN);
  for (size_t i = 0; i < kN; ++i) {
    const bool nan = std::isnan(test[i]);
    abs[i] = nan ? 0 : std::fabs(test[i] - ref[i]);
    rel[i] = nan || abs[i] == 0 ? 0 : abs[i] / std::fabs(ref[i]);
  }
  CheckOptions o = options(1e-3, 1e-3, ErrorStat::kQuantile);
  o.quantile = 0.37;
  const TensorComparison c = compare_ok(t, r, o);
  expect_matches_oracle(c.test, test);
  expect_matches_oracle(c.ref, ref);
  expect_matches_oracle(c.abs_diff, abs);
  expect_matches_oracle(c.rel_diff, rel);
  std::vector<double> sorted_abs = abs, sorted_rel = rel;
  std::sort(sorted_abs.begin(), sorted_abs.end());
  std::sort(sorted_rel.begin(), sorted_rel.end());
  EXPECT_EQ(c.required_atol, oracle_quantile(sorted_abs, 0.37));
  EXPECT_EQ(c.required_rtol, oracle_quantile(sorted_rel, 0.37));
  int64_t mismatches = 0;
  for (size_t i = 0; i < kN; ++i) mismatches += abs[i] > 1e-3 && rel[i] > 1e-3;
  EXPECT_EQ(c.mismatches, mismatches);
  const auto worst = std::max_element(abs.begin(), abs.end()) - abs.begin();
  EXPECT_EQ(c.worst_index, worst);
}

}  // namespace
}  // namespace tarmac::compare

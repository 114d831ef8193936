// Tests for the reduce family: reductions, softmax, arg/top-k, CumSum and the normalizations.
// Expected values are hand-computed or come from naive index-by-index formulas written here;
// OpTester also checks that inference agrees with each kernel.
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <tuple>
#include <utility>

#include "op_test_util.h"

namespace tarmac {
namespace {

using testing::expect_close;
using testing::OpTester;

template <typename T>
Tensor make(std::vector<T> v, Dims d) {
  return Tensor::from_vector<T>(v, std::move(d));
}
Tensor f32(std::vector<float> v, Dims d) { return make<float>(std::move(v), std::move(d)); }
Tensor f64(std::vector<double> v, Dims d) { return make<double>(std::move(v), std::move(d)); }
Tensor i64(std::vector<int64_t> v, Dims d) { return make<int64_t>(std::move(v), std::move(d)); }
Tensor i32(std::vector<int32_t> v, Dims d) { return make<int32_t>(std::move(v), std::move(d)); }
Tensor random_f32(Dims d, uint32_t seed, float lo = -3.0f, float hi = 3.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t = Tensor::zeros(DType::kFloat32, std::move(d));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(gen);
  return t;
}

Tensor run1(OpTester& t) {
  auto r = t.run();
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? (*r)[0] : Tensor();
}
std::vector<Tensor> run_all(OpTester& t) {
  auto r = t.run();
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? *r : std::vector<Tensor>();
}
Status run_status(OpTester& t) {
  auto r = t.run();
  return r.is_ok() ? Status::ok() : r.status();
}

/// Naive reduction: visits every input element and adds it into its output cell.
enum class Kind { kSum, kMean, kMax, kMin, kProd, kL2, kSumSquare };
Tensor naive_reduce(const Tensor& x, std::set<int64_t> axes, bool keepdims, Kind kind) {
  const Dims& d = x.dims();
  const int64_t r = x.rank();
  if (axes.empty())
    for (int64_t k = 0; k < r; ++k) axes.insert(k);
  Dims od, od_keep;
  for (int64_t k = 0; k < r; ++k) {
    const bool red = axes.count(k) != 0;
    od_keep.push_back(red ? 1 : d[k]);
    if (!red || keepdims) od.push_back(red ? 1 : d[k]);
  }
  const int64_t n_out = num_elements(od_keep);
  std::vector<double> acc(static_cast<size_t>(n_out), kind == Kind::kProd  ? 1.0
                                                      : kind == Kind::kMax ? -INFINITY
                                                      : kind == Kind::kMin ? INFINITY
                                                                           : 0.0);
  int64_t count = 1;
  for (int64_t a : axes) count *= d[a];
  const Dims os = row_major_strides(od_keep);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t rem = i, o = 0;
    for (int64_t k = r - 1; k >= 0; --k) {
      const int64_t c = rem % d[k];
      rem /= d[k];
      if (!axes.count(k)) o += c * os[k];
    }
    const double v = x.as_double(i);
    double& a = acc[static_cast<size_t>(o)];
    if (kind == Kind::kMax || kind == Kind::kMin) {
      a = kind == Kind::kMax ? std::max(a, v) : std::min(a, v);
    } else {
      a = kind == Kind::kProd ? a * v
                              : a + (kind == Kind::kL2 || kind == Kind::kSumSquare ? v * v : v);
    }
  }
  Tensor out = Tensor::zeros(DType::kFloat32, od);
  for (int64_t i = 0; i < n_out; ++i) {
    double v = acc[static_cast<size_t>(i)];
    if (kind == Kind::kMean) v /= static_cast<double>(count);
    if (kind == Kind::kL2) v = std::sqrt(v);
    out.data<float>()[i] = static_cast<float>(v);
  }
  return out;
}

// ---- Reduce* ----

TEST(ReduceOps, SumAxesInputKeepdims) {
  const Tensor x = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  expect_close(run1(OpTester("ReduceSum", 13).input(x).input(i64({1}, {1}), true)),
               f32({6, 15}, {2, 1}));
  OpTester drop("ReduceSum", 13);
  drop.attr_int("keepdims", 0).input(x).input(i64({-2}, {1}), true);
  expect_close(run1(drop), f32({5, 7, 9}, {3}));
}

TEST(ReduceOps, SumAxesAttributeBeforeOpset13) {
  OpTester t("ReduceSum", 11);
  t.attr_ints("axes", {0}).attr_int("keepdims", 0).input(f32({1, 2, 3, 4, 5, 6}, {2, 3}));
  expect_close(run1(t), f32({5, 7, 9}, {3}));
}

TEST(ReduceOps, EmptyAxesReduceAllOrNoop) {
  const Tensor x = f32({1, -2, 3, 4}, {2, 2});
  OpTester all("ReduceSum", 13);
  all.input(x).input(i64({}, {0}), true);
  expect_close(run1(all), f32({6}, {1, 1}));
  OpTester noop("ReduceSum", 13);
  noop.attr_int("noop_with_empty_axes", 1).input(x).input(i64({}, {0}), true);
  expect_close(run1(noop), x);
  expect_close(run1(OpTester("ReduceMax", 18).attr_int("keepdims", 0).input(x)), f32({4}, {}));
  // Before opset 18 the attribute does not exist: empty axes still reduce everything.
  expect_close(run1(OpTester("ReduceMean", 13).attr_int("noop_with_empty_axes", 1).input(x)),
               f32({1.5f}, {1, 1}));
}

TEST(ReduceOps, AllKindsMatchNaiveOnMixedAxes) {
  const Tensor x = random_f32({3, 4, 5, 6}, 7, 0.5f, 1.5f);
  const std::vector<std::pair<const char*, Kind>> ops = {{"ReduceSum", Kind::kSum},
                                                         {"ReduceMean", Kind::kMean},
                                                         {"ReduceMax", Kind::kMax},
                                                         {"ReduceMin", Kind::kMin},
                                                         {"ReduceProd", Kind::kProd},
                                                         {"ReduceL2", Kind::kL2},
                                                         {"ReduceSumSquare", Kind::kSumSquare}};
  const std::vector<std::vector<int64_t>> axes_sets = {{0}, {3}, {1, 2}, {0, 2}, {1, 3}, {}};
  for (const auto& [op, kind] : ops) {
    for (const auto& axes : axes_sets) {
      for (int keep = 0; keep < 2; ++keep) {
        std::set<int64_t> s(axes.begin(), axes.end());
        const Tensor want = naive_reduce(x, s, keep != 0, kind);
        OpTester attr(op, 13);
        if (std::string(op) == "ReduceSum") {
          attr.input(x).input(i64(axes, {static_cast<int64_t>(axes.size())}), true);
        } else {
          if (!axes.empty()) attr.attr_ints("axes", axes);
          attr.input(x);
        }
        attr.attr_int("keepdims", keep);
        SCOPED_TRACE(std::string(op) + " keep=" + std::to_string(keep));
        expect_close(run1(attr), want, 1e-5, 1e-6);
        OpTester input(op, 18);
        input.attr_int("keepdims", keep)
            .input(x)
            .input(i64(axes, {static_cast<int64_t>(axes.size())}), true);
        expect_close(run1(input), want, 1e-5, 1e-6);
      }
    }
  }
}

TEST(ReduceOps, HandValues) {
  const Tensor x = f32({3, -4, 1, 2}, {2, 2});
  expect_close(run1(OpTester("ReduceL2", 13).attr_ints("axes", {1}).input(x)),
               f32({5, std::sqrt(5.0f)}, {2, 1}));
  expect_close(
      run1(OpTester("ReduceProd", 13).attr_ints("axes", {0}).attr_int("keepdims", 0).input(x)),
      f32({3, -8}, {2}));
  expect_close(run1(OpTester("ReduceSumSquare", 1).input(x)), f32({30}, {1, 1}));
  expect_close(run1(OpTester("ReduceMin", 1).attr_ints("axes", {-1}).input(x)),
               f32({-4, 1}, {2, 1}));
}

TEST(ReduceOps, EmptySetFollowsSpec) {
  const Tensor x = Tensor::zeros(DType::kFloat32, {2, 0, 3});
  auto reduce_axis1 = [&](const char* op) {
    OpTester t(op, 18);
    t.attr_int("keepdims", 0).input(x).input(i64({1}, {1}), true);
    return run1(t);
  };
  expect_close(reduce_axis1("ReduceSum"), f32({0, 0, 0, 0, 0, 0}, {2, 3}));
  expect_close(reduce_axis1("ReduceSumSquare"), f32({0, 0, 0, 0, 0, 0}, {2, 3}));
  expect_close(reduce_axis1("ReduceL2"), f32({0, 0, 0, 0, 0, 0}, {2, 3}));
  expect_close(reduce_axis1("ReduceProd"), f32({1, 1, 1, 1, 1, 1}, {2, 3}));
  const Tensor mx = reduce_axis1("ReduceMax");
  const Tensor mn = reduce_axis1("ReduceMin");
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(mx.data<float>()[i], -std::numeric_limits<float>::infinity());
    EXPECT_EQ(mn.data<float>()[i], std::numeric_limits<float>::infinity());
  }
  // Reducing a non-empty axis of an empty tensor yields an empty tensor.
  OpTester keep("ReduceSum", 13);
  keep.input(x).input(i64({2}, {1}), true);
  EXPECT_EQ(run1(keep).dims(), (Dims{2, 0, 1}));
}

TEST(ReduceOps, IntegerAndBoolTypes) {
  OpTester s("ReduceSum", 13);
  s.attr_int("keepdims", 0).input(i32({1, 2, 3, -4, 5, 6}, {2, 3})).input(i64({1}, {1}), true);
  const Tensor r = run1(s);
  ASSERT_EQ(r.dtype(), DType::kInt32);
  EXPECT_EQ(r.data<int32_t>()[0], 6);
  EXPECT_EQ(r.data<int32_t>()[1], 7);
  OpTester mean("ReduceMean", 13);
  mean.attr_int("keepdims", 0).input(i64({1, 2, 4, 7}, {4}));
  EXPECT_EQ(run1(mean).data<int64_t>()[0], 3);  // 14 / 4 truncated
  Tensor b = Tensor::zeros(DType::kBool, {2, 2});
  b.data<bool>()[1] = true;
  OpTester mx("ReduceMax", 20);
  mx.attr_int("keepdims", 0).input(b).input(i64({1}, {1}), true);
  const Tensor m = run1(mx);
  ASSERT_EQ(m.dtype(), DType::kBool);
  EXPECT_TRUE(m.data<bool>()[0]);
  EXPECT_FALSE(m.data<bool>()[1]);
  OpTester bad("ReduceSum", 13);
  bad.input(b);
  EXPECT_FALSE(run_status(bad).is_ok());
}

TEST(ReduceOps, NanPropagatesThroughMax) {
  OpTester t("ReduceMax", 13);
  t.attr_ints("axes", {1}).input(f32({1, NAN, 3, 2, 5, 4}, {2, 3}));
  const Tensor r = run1(t);
  EXPECT_TRUE(std::isnan(r.data<float>()[0]));
  EXPECT_EQ(r.data<float>()[1], 5.0f);
}

TEST(ReduceOps, LongFloatSumIsAccurate) {
  const int64_t n = 1 << 22;
  Tensor x = Tensor::zeros(DType::kFloat32, {n});
  for (int64_t i = 0; i < n; ++i) x.data<float>()[i] = 0.1f;
  OpTester t("ReduceSum", 13);
  t.attr_int("keepdims", 0).input(x);
  const double want = static_cast<double>(0.1f) * static_cast<double>(n);
  EXPECT_NEAR(run1(t).data<float>()[0], want, want * 1e-6);
}

TEST(ReduceOps, Float16AndBFloat16) {
  const Tensor x = f32({1.5f, 2.25f, -3.0f, 8.0f}, {2, 2});
  for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
    OpTester t("ReduceMean", 13);
    t.attr_ints("axes", {1}).input(x.cast(dt));
    expect_close(run1(t), f32({1.875f, 2.5f}, {2, 1}).cast(dt));
  }
}

TEST(ReduceOps, RuntimeAxesGiveSymbolicShape) {
  const Tensor x = random_f32({2, 3, 4}, 3);
  OpTester keep("ReduceSum", 13);
  keep.input(x).input(i64({0, 2}, {2}));  // not constant: shape known only at run time
  expect_close(run1(keep), naive_reduce(x, {0, 2}, true, Kind::kSum), 1e-5, 1e-5);
  OpTester drop("ReduceSum", 13);
  drop.attr_int("keepdims", 0).input(x).input(i64({1}, {1}));
  expect_close(run1(drop), naive_reduce(x, {1}, false, Kind::kSum), 1e-5, 1e-5);
}

TEST(ReduceOps, BadAxesAreErrors) {
  const Tensor x = f32({1, 2, 3, 4}, {2, 2});
  OpTester range("ReduceSum", 13);
  range.input(x).input(i64({2}, {1}), true);
  EXPECT_FALSE(run_status(range).is_ok());
  OpTester dup("ReduceMax", 13);
  dup.attr_ints("axes", {1, -1}).input(x);
  EXPECT_FALSE(run_status(dup).is_ok());
  OpTester runtime("ReduceMin", 18);
  runtime.input(x).input(i64({-3}, {1}));
  EXPECT_FALSE(run_status(runtime).is_ok());
}

// ---- Softmax / LogSoftmax ----

/// softmax over rows of an [outer, n, inner] view, computed directly from the definition.
std::vector<double> naive_softmax(const Tensor& x, int64_t outer, int64_t n, int64_t inner,
                                  bool log) {
  std::vector<double> y(static_cast<size_t>(x.numel()));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double denom = 0;
      for (int64_t j = 0; j < n; ++j) denom += std::exp(x.as_double((o * n + j) * inner + i));
      for (int64_t j = 0; j < n; ++j) {
        const int64_t k = (o * n + j) * inner + i;
        y[static_cast<size_t>(k)] =
            log ? x.as_double(k) - std::log(denom) : std::exp(x.as_double(k)) / denom;
      }
    }
  return y;
}

void expect_values(const Tensor& t, const std::vector<double>& want, double tol) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(want.size()));
  for (int64_t i = 0; i < t.numel(); ++i)
    EXPECT_NEAR(t.as_double(i), want[static_cast<size_t>(i)], tol) << "at " << i;
}

TEST(ReduceSoftmax, Opset13AlongOneAxis) {
  const Tensor x = random_f32({2, 3, 4}, 11);
  for (bool log : {false, true}) {
    OpTester t(log ? "LogSoftmax" : "Softmax", 13);
    t.attr_int("axis", 1).input(x);
    expect_values(run1(t), naive_softmax(x, 2, 3, 4, log), 1e-6);
    OpTester d(log ? "LogSoftmax" : "Softmax", 13);  // default axis -1
    d.input(x);
    expect_values(run1(d), naive_softmax(x, 6, 4, 1, log), 1e-6);
  }
}

TEST(ReduceSoftmax, BeforeOpset13FlattensTheTail) {
  const Tensor x = random_f32({2, 3, 4}, 12);
  for (bool log : {false, true}) {
    OpTester t(log ? "LogSoftmax" : "Softmax", 11);  // default axis 1: rows of 12
    t.input(x);
    expect_values(run1(t), naive_softmax(x, 2, 12, 1, log), 1e-6);
    OpTester a0(log ? "LogSoftmax" : "Softmax", 1);
    a0.attr_int("axis", 0).input(x);
    expect_values(run1(a0), naive_softmax(x, 1, 24, 1, log), 1e-6);
  }
}

TEST(ReduceSoftmax, LargeInputsAreStable) {
  const Tensor x = f32({1000, 1001, 1002, -1000, -1001, -1002}, {2, 3});
  const double e1 = std::exp(-1.0), e2 = std::exp(-2.0), z = 1 + e1 + e2, lz = std::log(z);
  expect_values(run1(OpTester("Softmax", 13).input(x)),
                {e2 / z, e1 / z, 1 / z, 1 / z, e1 / z, e2 / z}, 1e-6);
  expect_values(run1(OpTester("LogSoftmax", 13).input(x)),
                {-2 - lz, -1 - lz, -lz, -lz, -1 - lz, -2 - lz}, 1e-5);
}

TEST(ReduceSoftmax, WideInnerAndHalfTypes) {
  const Tensor x = random_f32({2, 5, 300}, 13);  // inner 300 spans two column blocks
  OpTester t("Softmax", 13);
  t.attr_int("axis", -2).input(x);
  expect_values(run1(t), naive_softmax(x, 2, 5, 300, false), 1e-6);
  OpTester h("LogSoftmax", 13);
  h.attr_int("axis", 0).input(x.cast(DType::kFloat16));
  const Tensor r = run1(h);
  ASSERT_EQ(r.dtype(), DType::kFloat16);
  expect_values(r, naive_softmax(x.cast(DType::kFloat16), 1, 2, 1500, true), 2e-2);
}

TEST(ReduceSoftmax, Errors) {
  OpTester axis("Softmax", 13);
  axis.attr_int("axis", 2).input(f32({1, 2}, {1, 2}));
  EXPECT_FALSE(run_status(axis).is_ok());
  OpTester type("LogSoftmax", 13);
  type.input(i32({1, 2}, {2}));
  EXPECT_FALSE(run_status(type).is_ok());
}

// ---- ArgMax / ArgMin ----

TEST(ReduceArg, AxesKeepdimsAndLastIndex) {
  const Tensor x = f32({2, 7, 7, 1, 9, 0, 9, 3}, {2, 4});
  const Tensor r = run1(OpTester("ArgMax", 13).attr_int("axis", 1).input(x));
  ASSERT_EQ(r.dtype(), DType::kInt64);
  ASSERT_EQ(r.dims(), (Dims{2, 1}));
  EXPECT_EQ(r.data<int64_t>()[0], 1);
  EXPECT_EQ(r.data<int64_t>()[1], 0);
  OpTester last("ArgMax", 12);
  last.attr_int("axis", -1).attr_int("keepdims", 0).attr_int("select_last_index", 1).input(x);
  const Tensor l = run1(last);
  ASSERT_EQ(l.dims(), (Dims{2}));
  EXPECT_EQ(l.data<int64_t>()[0], 2);
  EXPECT_EQ(l.data<int64_t>()[1], 2);
  OpTester mn("ArgMin", 11);  // default axis 0
  mn.input(x);
  const Tensor m = run1(mn);
  ASSERT_EQ(m.dims(), (Dims{1, 4}));
  const int64_t want[] = {0, 1, 0, 0};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(m.data<int64_t>()[i], want[i]);
}

TEST(ReduceArg, IntegerInputAndErrors) {
  const Tensor r = run1(OpTester("ArgMin", 13)
                            .attr_int("axis", 0)
                            .attr_int("keepdims", 0)
                            .input(i32({5, -2, 9, -2}, {4})));
  EXPECT_EQ(r.data<int64_t>()[0], 1);
  // NaN is picked first in both directions, as numpy does.
  const Tensor nan = f32({1, NAN, -5, NAN}, {4});
  OpTester amax("ArgMax", 13), amin("ArgMin", 13);
  amax.attr_int("keepdims", 0).input(nan);
  amin.attr_int("keepdims", 0).input(nan);
  EXPECT_EQ(run1(amax).data<int64_t>()[0], 1);
  EXPECT_EQ(run1(amin).data<int64_t>()[0], 1);
  OpTester empty("ArgMax", 13);
  empty.input(Tensor::zeros(DType::kFloat32, {0, 3}));
  EXPECT_FALSE(run_status(empty).is_ok());
  OpTester axis("ArgMax", 13);
  axis.attr_int("axis", 3).input(f32({1, 2}, {2}));
  EXPECT_FALSE(run_status(axis).is_ok());
}

// ---- TopK ----

TEST(ReduceTopK, LargestSmallestAndTies) {
  const Tensor x = f32({1, 4, 4, 2, 3, 0, 5, 5}, {2, 4});
  OpTester t("TopK", 11);
  t.outputs(2).input(x).input(i64({3}, {1}), true);
  auto out = run_all(t);
  ASSERT_EQ(out.size(), 2u);
  expect_close(out[0], f32({4, 4, 2, 5, 5, 3}, {2, 3}));
  const int64_t idx[] = {1, 2, 3, 2, 3, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[1].data<int64_t>()[i], idx[i]) << i;
  OpTester s("TopK", 11);
  s.outputs(2).attr_int("largest", 0).attr_int("axis", 0).input(x).input(i64({1}, {1}), true);
  auto sm = run_all(s);
  expect_close(sm[0], f32({1, 0, 4, 2}, {1, 4}));
  const int64_t sidx[] = {0, 1, 0, 0};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(sm[1].data<int64_t>()[i], sidx[i]) << i;
}

TEST(ReduceTopK, OpsetVersions) {
  const Tensor x = i32({3, 9, 1, 7}, {4});
  expect_close(
      run_all(OpTester("TopK", 1).outputs(2).attr_int("k", 2).input(x.cast(DType::kFloat32)))[0],
      f32({9, 7}, {2}));
  OpTester v10("TopK", 10);  // K as input; runtime value: axis dim becomes symbolic
  v10.outputs(2).input(x.cast(DType::kFloat32)).input(i64({3}, {1}));
  expect_close(run_all(v10)[0], f32({9, 7, 3}, {3}));
  OpTester ints("TopK", 11);
  ints.outputs(2).input(x).input(i64({2}, {1}), true);
  const Tensor v = run_all(ints)[0];
  ASSERT_EQ(v.dtype(), DType::kInt32);
  EXPECT_EQ(v.data<int32_t>()[0], 9);
  EXPECT_EQ(v.data<int32_t>()[1], 7);
}

TEST(ReduceTopK, Errors) {
  const Tensor x = f32({1, 2, 3}, {3});
  OpTester big("TopK", 11);
  big.outputs(2).input(x).input(i64({4}, {1}), true);
  EXPECT_FALSE(run_status(big).is_ok());
  OpTester big_runtime("TopK", 11);
  big_runtime.outputs(2).input(x).input(i64({4}, {1}));
  EXPECT_FALSE(run_status(big_runtime).is_ok());
  OpTester neg("TopK", 11);
  neg.outputs(2).input(x).input(i64({-1}, {1}), true);
  EXPECT_FALSE(run_status(neg).is_ok());
  OpTester no_k("TopK", 1);
  no_k.outputs(2).input(x);
  EXPECT_FALSE(run_status(no_k).is_ok());
}

// ---- CumSum ----

TEST(ReduceCumSum, ExclusiveReverseCombinations) {
  const Tensor x = f32({1, 2, 3, 4, 5}, {5});
  struct Case {
    int exclusive, reverse;
    std::vector<float> want;
  };
  const Case cases[] = {{0, 0, {1, 3, 6, 10, 15}},
                        {1, 0, {0, 1, 3, 6, 10}},
                        {0, 1, {15, 14, 12, 9, 5}},
                        {1, 1, {14, 12, 9, 5, 0}}};
  for (const Case& c : cases) {
    OpTester t("CumSum", 14);
    t.attr_int("exclusive", c.exclusive)
        .attr_int("reverse", c.reverse)
        .input(x)
        .input(i32({0}, {}), true);
    expect_close(run1(t), f32(c.want, {5}));
  }
}

TEST(ReduceCumSum, AxesAndIntegers) {
  const Tensor x = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  expect_close(run1(OpTester("CumSum", 11).input(x).input(i64({0}, {}), true)),
               f32({1, 2, 3, 5, 7, 9}, {2, 3}));
  OpTester a1("CumSum", 11);
  a1.input(x).input(i64({-1}, {}));
  expect_close(run1(a1), f32({1, 3, 6, 4, 9, 15}, {2, 3}));
  OpTester ints("CumSum", 14);
  ints.input(i64({5, -1, 7}, {3})).input(i32({0}, {}), true);
  const Tensor r = run1(ints);
  EXPECT_EQ(r.data<int64_t>()[2], 11);
  OpTester bad("CumSum", 14);
  bad.input(x).input(i64({2}, {}), true);
  EXPECT_FALSE(run_status(bad).is_ok());
}

// ---- Normalizations ----

TEST(ReduceNorm, BatchNormInference) {
  const Tensor x = f32({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2});
  const Tensor scale = f32({2, 0.5f}, {2}), bias = f32({1, -1}, {2});
  const Tensor mean = f32({2, 6}, {2}), var = f32({4, 1}, {2});
  std::vector<float> want;
  for (int64_t i = 0; i < 8; ++i) {
    const int c = static_cast<int>((i / 2) % 2);
    const float v = x.data<float>()[i];
    want.push_back(scale.data<float>()[c] * (v - mean.data<float>()[c]) /
                       std::sqrt(var.data<float>()[c] + 1e-3f) +
                   bias.data<float>()[c]);
  }
  for (int64_t opset : {6, 9, 15}) {
    OpTester t("BatchNormalization", opset);
    t.attr_float("epsilon", 1e-3f).input(x).input(scale).input(bias).input(mean).input(var);
    if (opset < 7) t.attr_int("is_test", 1);
    expect_close(run1(t), f32(want, {2, 2, 2}), 1e-5, 1e-5);
  }
  // Opset 15 lets the statistics have their own type.
  OpTester mixed("BatchNormalization", 15);
  mixed.attr_float("epsilon", 1e-3f)
      .input(x)
      .input(scale)
      .input(bias)
      .input(mean.cast(DType::kFloat64))
      .input(var.cast(DType::kFloat64));
  expect_close(run1(mixed), f32(want, {2, 2, 2}), 1e-5, 1e-5);
}

TEST(ReduceNorm, BatchNormPerActivationBeforeOpset9) {
  // N=2, C=1, D=2: with spatial=0 each of the 2 activations has its own statistics.
  const Tensor x = f32({1, 2, 3, 4}, {2, 1, 2});
  const Tensor scale = f32({1, 2}, {2}), bias = f32({0, 1}, {2});
  const Tensor mean = f32({1, 1}, {2}), var = f32({4, 1}, {2});
  expect_close(run1(OpTester("BatchNormalization", 7)
                        .attr_int("spatial", 0)
                        .attr_float("epsilon", 0.0f)
                        .input(x)
                        .input(scale)
                        .input(bias)
                        .input(mean)
                        .input(var)),
               f32({0, 3, 1, 7}, {2, 1, 2}));
  OpTester spatial("BatchNormalization", 7);  // spatial=1 wants one value per channel
  spatial.input(x).input(scale).input(bias).input(mean).input(var);
  EXPECT_FALSE(run_status(spatial).is_ok());
}

TEST(ReduceNorm, BatchNormTrainingIsRejected) {
  const Tensor x = f32({1, 2, 3, 4}, {1, 2, 2});
  const Tensor p = f32({1, 1}, {2});
  OpTester t("BatchNormalization", 15);
  t.attr_int("training_mode", 1).input(x).input(p).input(p).input(p).input(p);
  EXPECT_EQ(run_status(t).code(), StatusCode::kUnsupported);
  OpTester old("BatchNormalization", 6);  // is_test defaults to 0: training
  old.input(x).input(p).input(p).input(p).input(p);
  EXPECT_EQ(run_status(old).code(), StatusCode::kUnsupported);
  OpTester shape("BatchNormalization", 15);
  shape.input(x).input(f32({1, 1, 1}, {3})).input(p).input(p).input(p);
  EXPECT_FALSE(run_status(shape).is_ok());

  // Requesting a training output (running_mean) in inference mode is an error too.
  Graph g;
  Node n;
  n.op_type = "BatchNormalization";
  n.name = "bn";
  n.outputs = {g.get_or_add_value("y"), g.get_or_add_value("running_mean")};
  KernelContext kctx{n, 15, {&x, &p, &p, &p, &p}, std::vector<Tensor>(2)};
  EXPECT_EQ(find_cpu_kernel("BatchNormalization")(kctx).code(), StatusCode::kUnsupported);
}

std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = t.as_double(i);
  return v;
}

/// Normalizes v[begin, begin+n) in place with population statistics; returns {mean, 1/std}.
std::pair<double, double> normalize_span(std::vector<double>& v, size_t begin, size_t n,
                                         double eps) {
  double mean = 0, var = 0;
  for (size_t i = 0; i < n; ++i) mean += v[begin + i];
  mean /= static_cast<double>(n);
  for (size_t i = 0; i < n; ++i) var += (v[begin + i] - mean) * (v[begin + i] - mean);
  const double inv = 1 / std::sqrt(var / static_cast<double>(n) + eps);
  for (size_t i = 0; i < n; ++i) v[begin + i] = (v[begin + i] - mean) * inv;
  return {mean, inv};
}

TEST(ReduceNorm, InstanceNorm) {
  const Tensor x = random_f32({2, 3, 4, 5}, 21);
  const Tensor scale = f32({0.5f, 2, -1}, {3}), bias = f32({1, 0, 3}, {3});
  const Tensor got = run1(OpTester("InstanceNormalization", 6)
                              .attr_float("epsilon", 0.01f)
                              .input(x)
                              .input(scale)
                              .input(bias));
  std::vector<double> want = as_doubles(x);
  for (size_t s = 0; s < 6; ++s) normalize_span(want, s * 20, 20, 0.01);
  for (size_t i = 0; i < want.size(); ++i) {
    const size_t c = (i / 20) % 3;
    want[i] = want[i] * scale.data<float>()[c] + bias.data<float>()[c];
  }
  expect_values(got, want, 1e-5);
  OpTester bad("InstanceNormalization", 6);
  bad.input(x).input(f32({1, 1}, {2})).input(bias);
  EXPECT_FALSE(run_status(bad).is_ok());
}

TEST(ReduceNorm, GroupNormPerGroupThenPerChannel) {
  const Tensor x = random_f32({2, 4, 3}, 31);
  std::vector<double> norm = as_doubles(x);
  for (size_t s = 0; s < 4; ++s) normalize_span(norm, s * 6, 6, 1e-5);  // 2 groups of 2 channels
  std::vector<double> want18 = norm, want21 = norm;
  const float sc[] = {1, 2, 3, 4}, bi[] = {-1, 0, 1, 2};
  for (size_t i = 0; i < norm.size(); ++i) {
    const size_t c = (i / 3) % 4, g = c / 2;
    want18[i] = norm[i] * (g == 0 ? 2 : -1) + (g == 0 ? 0.5 : 1);
    want21[i] = norm[i] * sc[c] + bi[c];
  }
  expect_values(run1(OpTester("GroupNormalization", 18)
                         .attr_int("num_groups", 2)
                         .input(x)
                         .input(f32({2, -1}, {2}))
                         .input(f32({0.5f, 1}, {2}))),
                want18, 1e-5);
  OpTester v21("GroupNormalization", 21);
  v21.attr_int("num_groups", 2)
      .input(x)
      .input(f32({1, 2, 3, 4}, {4}))
      .input(f32({-1, 0, 1, 2}, {4}));
  expect_values(run1(v21), want21, 1e-5);
  OpTester wrong("GroupNormalization", 21);  // per-group parameters are opset 18's form
  wrong.attr_int("num_groups", 2).input(x).input(f32({1, 2}, {2})).input(f32({1, 2}, {2}));
  EXPECT_FALSE(run_status(wrong).is_ok());
  OpTester groups("GroupNormalization", 18);
  groups.attr_int("num_groups", 3).input(x).input(f32({1, 1, 1}, {3})).input(f32({0, 0, 0}, {3}));
  EXPECT_FALSE(run_status(groups).is_ok());
}

TEST(ReduceNorm, LayerNormWithStatistics) {
  const Tensor x = random_f32({2, 3, 4}, 41);
  const Tensor scale = random_f32({3, 4}, 42), bias = random_f32({4}, 43);
  OpTester t("LayerNormalization", 17);
  t.outputs(3).attr_int("axis", 1).attr_float("epsilon", 0.1f).input(x).input(scale).input(bias);
  auto out = run_all(t);
  ASSERT_EQ(out.size(), 3u);
  std::vector<double> want = as_doubles(x), mean(2), inv(2);
  for (size_t o = 0; o < 2; ++o) std::tie(mean[o], inv[o]) = normalize_span(want, o * 12, 12, 0.1);
  for (size_t i = 0; i < want.size(); ++i)
    want[i] = want[i] * scale.as_double(static_cast<int64_t>(i % 12)) +
              bias.as_double(static_cast<int64_t>(i % 4));
  expect_values(out[0], want, 1e-5);
  ASSERT_EQ(out[1].dims(), (Dims{2, 1, 1}));
  ASSERT_EQ(out[1].dtype(), DType::kFloat32);
  expect_values(out[1], mean, 1e-6);
  expect_values(out[2], inv, 1e-5);
}

TEST(ReduceNorm, LayerNormDefaultsAndErrors) {
  const Tensor x = f32({1, 2, 3, 6, 6, 6}, {2, 3});
  const double s = 1 / std::sqrt(2.0 / 3 + 1e-5);  // axis -1, no bias, double input
  expect_values(run1(OpTester("LayerNormalization", 17)
                         .input(x.cast(DType::kFloat64))
                         .input(f64({1, 1, 2}, {3}))),
                {-s, 0, 2 * s, 0, 0, 0}, 1e-6);
  OpTester axis("LayerNormalization", 17);
  axis.attr_int("axis", 2).input(x).input(f32({1, 1, 1}, {3}));
  EXPECT_FALSE(run_status(axis).is_ok());
  OpTester scale("LayerNormalization", 17);
  scale.input(x).input(f32({1, 1}, {2}));
  EXPECT_FALSE(run_status(scale).is_ok());
}

}  // namespace
}  // namespace tarmac

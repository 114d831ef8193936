// Tests for the elementwise family: expected values are hand-computed or come from independent
// scalar formulas; each test also checks that inference agrees with the kernel (OpTester).
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

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
Tensor i64(std::vector<int64_t> v, Dims d) { return make<int64_t>(std::move(v), std::move(d)); }
Tensor i32(std::vector<int32_t> v, Dims d) { return make<int32_t>(std::move(v), std::move(d)); }
Tensor b8(std::vector<bool> v, Dims d) {
  Tensor t = Tensor::zeros(DType::kBool, std::move(d));
  for (size_t i = 0; i < v.size(); ++i) t.data<bool>()[i] = v[i];
  return t;
}
Tensor random_f32(Dims d, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
  Tensor t = Tensor::zeros(DType::kFloat32, std::move(d));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(gen);
  return t;
}

Tensor run1(OpTester& t) {
  auto r = t.run();
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? (*r)[0] : Tensor();
}

// ---- broadcasting ----

TEST(ElementwiseBroadcast, SameShapeAndScalar) {
  OpTester same("Add");
  same.input(f32({1, 2, 3, 4}, {2, 2})).input(f32({10, 20, 30, 40}, {2, 2}));
  expect_close(run1(same), f32({11, 22, 33, 44}, {2, 2}));
  OpTester scalar("Sub");
  scalar.input(f32({5}, {})).input(f32({1, 2, 3}, {3}));
  expect_close(run1(scalar), f32({4, 3, 2}, {3}));
}

TEST(ElementwiseBroadcast, RowAndColumn) {
  OpTester t("Mul");
  t.input(f32({1, 2}, {2, 1})).input(f32({3, 4, 5}, {1, 3}));
  expect_close(run1(t), f32({3, 4, 5, 6, 8, 10}, {2, 3}));
}

// Random shapes against a naive index computation, big enough to use several threads.
TEST(ElementwiseBroadcast, StridedMatchesNaive) {
  const std::vector<std::pair<Dims, Dims>> cases = {
      {{4, 33, 40, 9}, {4, 1, 40, 1}}, {{2, 1, 500}, {3, 1}}, {{64, 3, 128}, {3, 1}},
      {{7, 1, 5}, {1, 6, 1}},          {{1}, {300, 200}},     {{300, 200}, {300, 200}}};
  uint32_t seed = 1;
  for (const auto& [da, db] : cases) {
    Tensor a = random_f32(da, seed++), b = random_f32(db, seed++);
    OpTester t("Sub");
    t.input(a).input(b);
    Tensor got = run1(t);
    const size_t r = std::max(da.size(), db.size());
    Dims out(r);
    Dims pa(r, 1), pb(r, 1);
    for (size_t i = 0; i < da.size(); ++i) pa[r - da.size() + i] = da[i];
    for (size_t i = 0; i < db.size(); ++i) pb[r - db.size() + i] = db[i];
    for (size_t i = 0; i < r; ++i) out[i] = std::max(pa[i], pb[i]);
    ASSERT_EQ(got.dims(), out);
    Tensor want = Tensor::zeros(DType::kFloat32, out);
    const Dims sa = row_major_strides(pa), sb = row_major_strides(pb);
    for (int64_t o = 0; o < want.numel(); ++o) {
      int64_t rem = o, ia = 0, ib = 0;
      for (size_t k = r; k-- > 0;) {
        const int64_t idx = rem % out[k];
        rem /= out[k];
        if (pa[k] != 1) ia += idx * sa[k];
        if (pb[k] != 1) ib += idx * sb[k];
      }
      want.data<float>()[o] = a.data<float>()[ia] - b.data<float>()[ib];
    }
    expect_close(got, want, 0, 0);
  }
}

TEST(ElementwiseBroadcast, EmptyTensors) {
  OpTester t("Add");
  t.input(f32({}, {0, 3})).input(f32({1, 2, 3}, {3}));
  Tensor r = run1(t);
  EXPECT_EQ(r.dims(), (Dims{0, 3}));
  OpTester w("Where");
  w.input(b8({}, {2, 0})).input(f32({1}, {})).input(f32({2}, {1, 1}));
  EXPECT_EQ(run1(w).dims(), (Dims{2, 0}));
}

TEST(ElementwiseBroadcast, IncompatibleShapesFail) {
  OpTester t("Add");
  t.input(f32({1, 2, 3}, {3})).input(f32({1, 2}, {2}));
  EXPECT_FALSE(t.run().is_ok());
}

TEST(ElementwiseBroadcast, LegacyAxisBroadcastBeforeOpset7) {
  // Opset 6: B of shape [3] aligned at axis 1 of A [2,3,2].
  OpTester t("Add", 6);
  t.attr_int("broadcast", 1).attr_int("axis", 1);
  t.input(f32({0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}, {2, 3, 2})).input(f32({10, 20, 30}, {3}));
  expect_close(run1(t), f32({10, 10, 20, 20, 30, 30, 11, 11, 21, 21, 31, 31}, {2, 3, 2}));
  // Default axis aligns trailing dims.
  OpTester tail("Mul", 6);
  tail.attr_int("broadcast", 1);
  tail.input(f32({1, 2, 3, 4}, {2, 2})).input(f32({10, 100}, {2}));
  expect_close(run1(tail), f32({10, 200, 30, 400}, {2, 2}));
  // broadcast=0 requires equal shapes.
  OpTester bad("Add", 6);
  bad.input(f32({1, 2, 3, 4}, {2, 2})).input(f32({1, 2}, {2}));
  EXPECT_FALSE(bad.run().is_ok());
  // Axis that does not fit.
  OpTester axis("Add", 6);
  axis.attr_int("broadcast", 1).attr_int("axis", 1);
  axis.input(f32({1, 2, 3, 4}, {2, 2})).input(f32({1, 2, 3, 4}, {2, 2}));
  EXPECT_FALSE(axis.run().is_ok());
}

// ---- arithmetic ----

TEST(ElementwiseArith, IntegerWrapAndDivision) {
  const int32_t mx = std::numeric_limits<int32_t>::max();
  const int32_t mn = std::numeric_limits<int32_t>::min();
  OpTester add("Add");
  add.input(i32({mx, 5}, {2})).input(i32({1, -7}, {2}));
  Tensor r = run1(add);
  EXPECT_EQ(r.data<int32_t>()[0], mn);
  EXPECT_EQ(r.data<int32_t>()[1], -2);
  // Truncating division; x / 0 is defined as 0; MIN / -1 wraps.
  OpTester div("Div");
  div.input(i32({7, -7, 5, mn}, {4})).input(i32({2, 2, 0, -1}, {4}));
  Tensor d = run1(div);
  EXPECT_EQ(d.data<int32_t>()[0], 3);
  EXPECT_EQ(d.data<int32_t>()[1], -3);
  EXPECT_EQ(d.data<int32_t>()[2], 0);
  EXPECT_EQ(d.data<int32_t>()[3], mn);
}

TEST(ElementwiseArith, Uint8AndFloat16) {
  OpTester u("Sub");
  u.input(make<uint8_t>({3, 200}, {2})).input(make<uint8_t>({5, 100}, {2}));
  Tensor r = run1(u);
  EXPECT_EQ(r.data<uint8_t>()[0], 254);
  EXPECT_EQ(r.data<uint8_t>()[1], 100);
  OpTester h("Mul");
  h.input(f32({1.5f, -2.0f, 0.25f}, {3}).cast(DType::kFloat16))
      .input(f32({2}, {}).cast(DType::kFloat16));
  expect_close(run1(h), f32({3.0f, -4.0f, 0.5f}, {3}).cast(DType::kFloat16));
}

TEST(ElementwiseArith, MixedDtypesFail) {
  OpTester t("Add");
  t.input(f32({1}, {1})).input(i64({1}, {1}));
  EXPECT_FALSE(t.run().is_ok());
  OpTester b("Add");
  b.input(b8({true}, {1})).input(b8({true}, {1}));
  EXPECT_FALSE(b.run().is_ok());
}

TEST(ElementwiseArith, ModIntegerAndFloat) {
  // fmod=0: sign of the divisor (Python); x mod 0 = 0.
  OpTester m("Mod");
  m.input(i64({-4, 7, 5, -4, 3}, {5})).input(i64({3, -3, 3, -3, 0}, {5}));
  Tensor r = run1(m);
  const std::vector<int64_t> want = {2, -2, 2, -1, 0};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(r.data<int64_t>()[i], want[i]) << i;
  // fmod=1: C remainder (sign of the dividend).
  OpTester c("Mod");
  c.attr_int("fmod", 1).input(i64({-4, 7}, {2})).input(i64({3, -3}, {2}));
  Tensor rc = run1(c);
  EXPECT_EQ(rc.data<int64_t>()[0], -1);
  EXPECT_EQ(rc.data<int64_t>()[1], 1);
  OpTester f("Mod");
  f.attr_int("fmod", 1).input(f32({-4.5f, 7.25f}, {2})).input(f32({2, -2}, {2}));
  expect_close(run1(f), f32({std::fmod(-4.5f, 2.0f), std::fmod(7.25f, -2.0f)}, {2}));
  OpTester bad("Mod");
  bad.attr_int("fmod", 2).input(i64({1}, {1})).input(i64({1}, {1}));
  EXPECT_FALSE(bad.run().is_ok());
}

TEST(ElementwiseArith, PowMixedTypes) {
  OpTester fi("Pow");
  fi.input(f32({2, -3, 0.5f}, {3})).input(i64({3, 2, -1}, {3}));
  expect_close(run1(fi), f32({8, 9, 2}, {3}));
  OpTester sq("Pow");  // the x*x path
  sq.input(f32({1.5f, -2, 3}, {3})).input(f32({2}, {}));
  expect_close(run1(sq), f32({2.25f, 4, 9}, {3}));
  OpTester ii("Pow");
  ii.input(i64({2, -2, 3, 2, -1}, {5})).input(i64({10, 3, 0, -1, -3}, {5}));
  Tensor r = run1(ii);
  const std::vector<int64_t> want = {1024, -8, 1, 0, -1};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(r.data<int64_t>()[i], want[i]) << i;
  OpTester if_("Pow");
  if_.input(i32({4, 9}, {2})).input(f32({0.5f, 1.5f}, {2}));
  Tensor ri = run1(if_);
  EXPECT_EQ(ri.dtype(), DType::kInt32);
  EXPECT_EQ(ri.data<int32_t>()[0], 2);
  EXPECT_EQ(ri.data<int32_t>()[1], 27);
  OpTester bf("Pow");
  bf.input(f32({4, 3}, {2})).input(f32({0.5f, 2.0f}, {2}).cast(DType::kFloat64));
  expect_close(run1(bf), f32({2, 9}, {2}));
}

TEST(ElementwiseArith, PReluBroadcastAndLegacyChannel) {
  // Slope [2,1,1] per channel of X [1,2,1,2].
  OpTester t("PRelu");
  t.input(f32({-1, 2, -3, 4}, {1, 2, 1, 2})).input(f32({0.5f, 0.1f}, {2, 1, 1}));
  expect_close(run1(t), f32({-0.5f, 2, -0.3f, 4}, {1, 2, 1, 2}));
  // Opset 6: a 1-D slope is per channel even though numpy would align it with the last dim.
  OpTester old("PRelu", 6);
  old.input(f32({-1, -2, -3, -4, -5, -6}, {1, 2, 3})).input(f32({0.5f, 2.0f}, {2}));
  expect_close(run1(old), f32({-0.5f, -1, -1.5f, -8, -10, -12}, {1, 2, 3}));
  OpTester bad("PRelu");
  bad.input(f32({1, 2}, {2})).input(f32({1, 2, 3, 4}, {2, 2}));
  EXPECT_FALSE(bad.run().is_ok());
}

TEST(ElementwiseVariadic, SumMeanMaxMin) {
  Tensor a = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = f32({10, 20, 30}, {3});
  Tensor c = f32({-1, 100}, {2, 1});
  OpTester s("Sum");
  s.input(a).input(b).input(c);
  expect_close(run1(s), f32({10, 21, 32, 114, 125, 136}, {2, 3}));
  OpTester m("Mean");
  m.input(a).input(b).input(c);
  expect_close(run1(m), f32({10 / 3.f, 7, 32 / 3.f, 38, 125 / 3.f, 136 / 3.f}, {2, 3}));
  OpTester mx("Max");
  mx.input(a).input(b).input(c);
  expect_close(run1(mx), f32({10, 20, 30, 100, 100, 100}, {2, 3}));
  OpTester mn("Min");
  mn.input(i32({5, -3}, {2})).input(i32({2}, {1}));
  Tensor r = run1(mn);
  EXPECT_EQ(r.data<int32_t>()[0], 2);
  EXPECT_EQ(r.data<int32_t>()[1], -3);
  OpTester one("Max");
  one.input(a);
  expect_close(run1(one), a);
}

TEST(ElementwiseVariadic, NanPropagatesAndHalfMean) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  OpTester mx("Max");
  mx.input(f32({nan, 1, 2}, {3})).input(f32({0, nan, 1}, {3}));
  Tensor r = run1(mx);
  EXPECT_TRUE(std::isnan(r.data<float>()[0]));
  EXPECT_TRUE(std::isnan(r.data<float>()[1]));
  EXPECT_EQ(r.data<float>()[2], 2.0f);
  OpTester mn("Min");
  mn.input(f32({1, 2}, {2})).input(f32({nan, 0}, {2}));
  Tensor rm = run1(mn);
  EXPECT_TRUE(std::isnan(rm.data<float>()[0]));
  EXPECT_EQ(rm.data<float>()[1], 0.0f);
  // 2049 is not representable in float16; accumulation in float32 keeps the mean exact.
  OpTester h("Mean");
  h.input(f32({2048}, {1}).cast(DType::kFloat16))
      .input(f32({1}, {1}).cast(DType::kFloat16))
      .input(f32({1}, {1}).cast(DType::kFloat16));
  expect_close(run1(h), f32({2050.0f / 3}, {1}).cast(DType::kFloat16));
  OpTester bad("Mean");
  bad.input(i32({1}, {1}));
  EXPECT_FALSE(bad.run().is_ok());
  OpTester mixed("Sum");
  mixed.input(f32({1}, {1})).input(i32({1}, {1}));
  EXPECT_FALSE(mixed.run().is_ok());
}

// ---- comparison and logic ----

TEST(ElementwiseCompare, BoolOutputsWithBroadcast) {
  Tensor a = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = f32({2, 2, 5}, {3});
  auto check = [&](const char* op, std::vector<bool> want) {
    OpTester t(op);
    t.input(a).input(b);
    Tensor r = run1(t);
    ASSERT_EQ(r.dtype(), DType::kBool) << op;
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(r.data<bool>()[i], want[i]) << op << i;
  };
  check("Equal", {false, true, false, false, false, false});
  check("Greater", {false, false, false, true, true, true});
  check("GreaterOrEqual", {false, true, false, true, true, true});
  check("Less", {true, false, true, false, false, false});
  check("LessOrEqual", {true, true, true, false, false, false});
  OpTester e("Equal");
  e.input(i64({7, 8}, {2})).input(i64({7}, {}));
  Tensor r = run1(e);
  EXPECT_TRUE(r.data<bool>()[0]);
  EXPECT_FALSE(r.data<bool>()[1]);
  OpTester bad("Greater");
  bad.input(f32({1}, {1})).input(i32({1}, {1}));
  EXPECT_FALSE(bad.run().is_ok());
}

TEST(ElementwiseLogic, AndOrXorNot) {
  Tensor a = b8({true, true, false, false}, {2, 2});
  Tensor b = b8({true, false}, {2});
  auto check = [&](const char* op, std::vector<bool> want) {
    OpTester t(op);
    t.input(a).input(b);
    Tensor r = run1(t);
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(r.data<bool>()[i], want[i]) << op << i;
  };
  check("And", {true, false, false, false});
  check("Or", {true, true, true, false});
  check("Xor", {false, true, true, false});
  OpTester n("Not");
  n.input(b);
  Tensor r = run1(n);
  EXPECT_FALSE(r.data<bool>()[0]);
  EXPECT_TRUE(r.data<bool>()[1]);
  OpTester bad("And");
  bad.input(f32({1}, {1})).input(f32({1}, {1}));
  EXPECT_FALSE(bad.run().is_ok());
}

TEST(ElementwiseWhere, BroadcastsAllThree) {
  OpTester t("Where");
  t.input(b8({true, false}, {2, 1})).input(i64({1, 2, 3}, {1, 3})).input(i64({-9}, {}));
  Tensor r = run1(t);
  ASSERT_EQ(r.dims(), (Dims{2, 3}));
  const std::vector<int64_t> want = {1, 2, 3, -9, -9, -9};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(r.data<int64_t>()[i], want[i]) << i;
  OpTester bad("Where");
  bad.input(f32({1}, {1})).input(f32({1}, {1})).input(f32({1}, {1}));
  EXPECT_FALSE(bad.run().is_ok());
}

// ---- unary ----

TEST(ElementwiseUnary, Activations) {
  const std::vector<float> x = {-2.0f, -0.5f, 0.0f, 0.5f, 3.0f};
  auto map = [&](float (*f)(float)) {
    std::vector<float> y;
    for (float v : x) y.push_back(f(v));
    return f32(y, {5});
  };
  auto check = [&](OpTester& t, Tensor want) {
    t.input(f32(x, {5}));
    expect_close(run1(t), want, 1e-5, 1e-6);
  };
  OpTester relu("Relu");
  check(relu, f32({0, 0, 0, 0.5f, 3}, {5}));
  OpTester sig("Sigmoid");
  check(sig, map([](float v) { return 1.0f / (1.0f + std::exp(-v)); }));
  OpTester sp("Softplus");
  check(sp, map([](float v) { return std::log(std::exp(v) + 1.0f); }));
  OpTester elu("Elu");
  elu.attr_float("alpha", 2.0f);
  check(elu, map([](float v) { return v < 0 ? 2.0f * (std::exp(v) - 1) : v; }));
  OpTester selu("Selu");
  check(selu, map([](float v) {
          return v <= 0 ? 1.05070102f * (1.67326319f * std::exp(v) - 1.67326319f) : 1.05070102f * v;
        }));
  OpTester lr("LeakyRelu");  // default alpha 0.01
  check(lr, f32({-0.02f, -0.005f, 0, 0.5f, 3}, {5}));
  OpTester hs("HardSigmoid");
  hs.attr_float("alpha", 0.5f).attr_float("beta", 0.6f);
  check(hs, f32({0, 0.35f, 0.6f, 0.85f, 1}, {5}));
  OpTester hw("HardSwish");
  check(hw, map([](float v) { return v * std::max(0.0f, std::min(1.0f, v / 6 + 0.5f)); }));
  OpTester g("Gelu", 20);
  check(g, map([](float v) { return 0.5f * v * (1 + std::erf(v / std::sqrt(2.0f))); }));
  OpTester gt("Gelu", 20);
  gt.attr_string("approximate", "tanh");
  check(gt, map([](float v) {
          return 0.5f * v * (1 + std::tanh(0.7978845608f * (v + 0.044715f * v * v * v)));
        }));
  OpTester bad("Gelu", 20);
  bad.attr_string("approximate", "fast").input(f32(x, {5}));
  EXPECT_FALSE(bad.run().is_ok());
}

TEST(ElementwiseUnary, MathAndRounding) {
  OpTester r("Round");
  r.input(f32({0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f, -2.6f}, {7}));
  expect_close(run1(r), f32({0, 2, 2, -0, -2, 2, -3}, {7}));
  OpTester s("Sign");
  s.input(i32({-5, 0, 7}, {3}));
  Tensor rs = run1(s);
  EXPECT_EQ(rs.data<int32_t>()[0], -1);
  EXPECT_EQ(rs.data<int32_t>()[1], 0);
  EXPECT_EQ(rs.data<int32_t>()[2], 1);
  OpTester a("Abs");
  a.input(make<int8_t>({-128, -3, 4}, {3}));
  Tensor ra = run1(a);
  EXPECT_EQ(ra.data<int8_t>()[0], -128);  // wraps like two's complement
  EXPECT_EQ(ra.data<int8_t>()[1], 3);
  OpTester e("Erf");
  e.input(f32({-1, 0.3f}, {2}).cast(DType::kFloat64));
  expect_close(run1(e), f32({std::erf(-1.0f), std::erf(0.3f)}, {2}).cast(DType::kFloat64));
  OpTester rec("Reciprocal");
  rec.input(f32({4, -0.5f}, {2}).cast(DType::kBFloat16));
  expect_close(run1(rec), f32({0.25f, -2}, {2}).cast(DType::kBFloat16));
  OpTester neg("Neg");
  neg.input(make<uint8_t>({1}, {1}));
  EXPECT_FALSE(neg.run().is_ok());
  OpTester ex("Exp");
  ex.input(i32({1}, {1}));
  EXPECT_FALSE(ex.run().is_ok());
}

TEST(ElementwiseUnary, LibmFunctionsMatchTheStandardLibrary) {
  // Odd length so the vectorised float32 paths also run their scalar tail.
  const Tensor x = random_f32({3, 37}, 11);
  Tensor pos = x.clone();
  for (int64_t i = 0; i < pos.numel(); ++i)
    pos.data<float>()[i] = std::abs(pos.data<float>()[i]) + 0.01f;
  struct Case {
    const char* op;
    double (*fn)(double);
    bool positive_only;
  };
  const Case cases[] = {
      {"Ceil", [](double v) { return std::ceil(v); }, false},
      {"Floor", [](double v) { return std::floor(v); }, false},
      {"Cos", [](double v) { return std::cos(v); }, false},
      {"Sin", [](double v) { return std::sin(v); }, false},
      {"Tanh", [](double v) { return std::tanh(v); }, false},
      {"Exp", [](double v) { return std::exp(v); }, false},
      {"Sigmoid", [](double v) { return 1.0 / (1.0 + std::exp(-v)); }, false},
      {"Log", [](double v) { return std::log(v); }, true},
      {"Sqrt", [](double v) { return std::sqrt(v); }, true},
  };
  for (const Case& c : cases) {
    for (DType t : {DType::kFloat32, DType::kFloat64}) {
      const Tensor in = (c.positive_only ? pos : x).cast(t);
      Tensor want = Tensor::zeros(DType::kFloat64, in.dims());
      for (int64_t i = 0; i < in.numel(); ++i) want.data<double>()[i] = c.fn(in.as_double(i));
      OpTester op(c.op);
      op.input(in);
      SCOPED_TRACE(std::string(c.op) + " " + std::string(dtype_name(t)));
      expect_close(run1(op), want.cast(t), 2e-6, 1e-7);
    }
  }
  // Saturation at the extremes of the vectorised paths.
  OpTester sig("Sigmoid");
  sig.input(f32({-200, -90, 90, 200}, {4}));
  expect_close(run1(sig), f32({0, 0, 1, 1}, {4}), 0, 1e-30);
  OpTester th("Tanh");
  th.input(f32({-50, 50}, {2}));
  expect_close(run1(th), f32({-1, 1}, {2}));
}

// ---- casts, Clip, Dropout, Identity ----

TEST(ElementwiseCast, NumericPairs) {
  OpTester t("Cast");
  t.attr_int("to", 6).input(f32({1.9f, -1.9f, 300.5f}, {3}));
  Tensor r = run1(t);
  ASSERT_EQ(r.dtype(), DType::kInt32);
  EXPECT_EQ(r.data<int32_t>()[0], 1);
  EXPECT_EQ(r.data<int32_t>()[1], -1);
  EXPECT_EQ(r.data<int32_t>()[2], 300);
  OpTester h("Cast");
  h.attr_int("to", 10).input(f32({0.1f, 65504}, {2}));
  Tensor rh = run1(h);
  ASSERT_EQ(rh.dtype(), DType::kFloat16);
  EXPECT_NEAR(rh.as_double(0), 0.1, 1e-4);
  EXPECT_EQ(rh.as_double(1), 65504.0);
  OpTester b("Cast");
  b.attr_int("to", 9).input(f32({0, -0.5f}, {2}));
  Tensor rb = run1(b);
  EXPECT_FALSE(rb.data<bool>()[0]);
  EXPECT_TRUE(rb.data<bool>()[1]);
  // Opset 1 names the type.
  OpTester old("Cast", 1);
  old.attr_string("to", "DOUBLE").input(i64({3}, {1}));
  expect_close(run1(old), f32({3}, {1}).cast(DType::kFloat64));
  OpTester str("Cast");
  str.attr_int("to", 8).input(f32({1}, {1}));
  auto rs = str.run();
  ASSERT_FALSE(rs.is_ok());
  EXPECT_NE(rs.status().message().find("STRING"), std::string::npos) << rs.status().message();
  OpTester missing("Cast");
  missing.input(f32({1}, {1}));
  EXPECT_FALSE(missing.run().is_ok());
  OpTester like("CastLike", 15);
  like.input(f32({2.7f}, {1})).input(i64({0}, {1}));
  Tensor rl = run1(like);
  ASSERT_EQ(rl.dtype(), DType::kInt64);
  EXPECT_EQ(rl.data<int64_t>()[0], 2);
}

TEST(ElementwiseClip, AttributesAndInputs) {
  OpTester v6("Clip", 6);
  v6.attr_float("min", -1).attr_float("max", 2).input(f32({-3, 0.5f, 4}, {3}));
  expect_close(run1(v6), f32({-1, 0.5f, 2}, {3}));
  OpTester v1("Clip", 1);  // only max given: no lower clamp
  v1.attr_float("max", 0).input(f32({-1e30f, 3}, {2}));
  expect_close(run1(v1), f32({-1e30f, 0}, {2}));
  OpTester v13("Clip", 13);
  v13.input(make<int8_t>({-100, 5, 100}, {3})).input(make<int8_t>({-10}, {}));
  Tensor r = run1(v13);
  EXPECT_EQ(r.data<int8_t>()[0], -10);
  EXPECT_EQ(r.data<int8_t>()[1], 5);
  EXPECT_EQ(r.data<int8_t>()[2], 100);
  OpTester maxonly("Clip", 13);
  maxonly.input(f32({-5, 5}, {2})).absent_input().input(f32({1}, {}));
  expect_close(run1(maxonly), f32({-5, 1}, {2}));
  OpTester inverted("Clip", 13);  // min > max: everything becomes max
  inverted.input(f32({-5, 0, 5}, {3})).input(f32({2}, {})).input(f32({1}, {}));
  expect_close(run1(inverted), f32({1, 1, 1}, {3}));
  OpTester nonscalar("Clip", 13);
  nonscalar.input(f32({1, 2}, {2})).input(f32({0, 0}, {2}));
  EXPECT_FALSE(nonscalar.run().is_ok());
  OpTester wrongtype("Clip", 13);
  wrongtype.input(f32({1, 2}, {2})).input(i64({0}, {}));
  EXPECT_FALSE(wrongtype.run().is_ok());
}

TEST(ElementwiseDropout, InferenceModeAcrossOpsets) {
  Tensor x = f32({1, -2, 3}, {3});
  OpTester v13("Dropout", 13);
  v13.outputs(2).input(x).input(f32({0.5f}, {}));
  auto r = v13.run();
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_close((*r)[0], x);
  ASSERT_EQ((*r)[1].dtype(), DType::kBool);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE((*r)[1].data<bool>()[i]);
  OpTester v7("Dropout", 7);  // mask has the input's type before opset 10
  v7.outputs(2).input(x);
  auto r7 = v7.run();
  ASSERT_TRUE(r7.is_ok()) << r7.status().message();
  expect_close((*r7)[1], f32({1, 1, 1}, {3}));
  OpTester v6("Dropout", 6);
  v6.attr_int("is_test", 1).attr_float("ratio", 0.3f).input(x);
  expect_close(run1(v6), x);
  OpTester train("Dropout", 13);
  train.input(x).input(f32({0.5f}, {})).input(b8({true}, {}), /*constant=*/true);
  auto rt = train.run();
  ASSERT_FALSE(rt.is_ok());
  EXPECT_NE(rt.status().message().find("training mode is not supported"), std::string::npos);
  OpTester train_rt("Dropout", 13);  // only known at run time
  train_rt.input(x).absent_input().input(b8({true}, {}));
  EXPECT_FALSE(train_rt.run().is_ok());
  OpTester zero("Dropout", 13);  // training with ratio 0 keeps everything
  zero.input(x).input(f32({0}, {})).input(b8({true}, {}));
  expect_close(run1(zero), x);
  OpTester eval("Dropout", 13);
  eval.input(x).absent_input().input(b8({false}, {}), true);
  expect_close(run1(eval), x);
}

TEST(ElementwiseIdentity, PassesThrough) {
  OpTester t("Identity");
  t.input(i64({4, 5, 6}, {3, 1}));
  Tensor r = run1(t);
  ASSERT_EQ(r.dims(), (Dims{3, 1}));
  EXPECT_EQ(r.data<int64_t>()[2], 6);
}

// ---- inference with partial shapes ----

TEST(ElementwiseInfer, SymbolicAndUnknownShapes) {
  Node node;
  node.op_type = "Add";
  node.name = "n";
  Graph g;
  ValueType a{DType::kFloat32, true, {Dim::sym("batch"), Dim(3)}};
  ValueType b{DType::kFloat32, true, {Dim(1), Dim(3)}};
  InferContext ctx{node, 17, &g, {&a, &b}, {nullptr, nullptr}, std::vector<ValueType>(1)};
  ASSERT_TRUE(find_op("Add")->infer(ctx).is_ok());
  ASSERT_TRUE(ctx.outputs[0].has_shape);
  EXPECT_EQ(ctx.outputs[0].shape[0].symbol, "batch");
  EXPECT_EQ(ctx.outputs[0].shape[1].value, 3);

  ValueType unknown{DType::kFloat32, false, {}};
  InferContext ctx2{node, 17, &g, {&a, &unknown}, {nullptr, nullptr}, std::vector<ValueType>(1)};
  ASSERT_TRUE(find_op("Add")->infer(ctx2).is_ok());
  EXPECT_FALSE(ctx2.outputs[0].has_shape);
  EXPECT_EQ(ctx2.outputs[0].dtype, DType::kFloat32);

  node.op_type = "Less";
  ValueType c{DType::kFloat32, true, {Dim(4), Dim(3)}};
  InferContext ctx3{node, 17, &g, {&a, &c}, {nullptr, nullptr}, std::vector<ValueType>(1)};
  ASSERT_TRUE(find_op("Less")->infer(ctx3).is_ok());
  EXPECT_EQ(ctx3.outputs[0].dtype, DType::kBool);
  EXPECT_EQ(ctx3.outputs[0].shape[0].value, 4);

  ValueType d{DType::kFloat32, true, {Dim(5), Dim(3)}};
  InferContext ctx4{node, 17, &g, {&c, &d}, {nullptr, nullptr}, std::vector<ValueType>(1)};
  EXPECT_FALSE(find_op("Less")->infer(ctx4).is_ok());
}

}  // namespace
}  // namespace tarmac

namespace tarmac {
namespace {

// docs/design.md: HardSigmoid maps NaN to NaN (the CUDA kernel matches; a vectorized min/max
// once turned it into 0 on the CPU).
TEST(ElementwiseUnary, HardSigmoidPropagatesNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> v(37, 0.25f);
  v[5] = nan;
  v[30] = nan;
  testing::OpTester hs("HardSigmoid");
  hs.input(Tensor::from_vector<float>(v, {37}));
  auto r = hs.run();
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const float* y = (*r)[0].data<float>();
  for (int i = 0; i < 37; ++i) {
    if (i == 5 || i == 30) {
      EXPECT_TRUE(std::isnan(y[i])) << i;
    } else {
      EXPECT_FLOAT_EQ(y[i], 0.55f) << i;
    }
  }
}

}  // namespace
}  // namespace tarmac

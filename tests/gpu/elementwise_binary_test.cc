// CUDA elementwise family, binary and variadic ops (numpy broadcasting), Pow, PRelu and Where,
// against the CPU reference.
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "gpu_test_util.h"

namespace tarmac::testing {
namespace {

/// Random floats in [shift - scale, shift + scale] of dtype t (float16/bfloat16 via float32).
Tensor rnd(DType t, const Dims& d, uint64_t seed, float scale = 1.f, float shift = 0.f) {
  Tensor f = random_tensor(DType::kFloat32, d, seed);
  float* p = f.data<float>();
  for (int64_t i = 0; i < f.numel(); ++i) p[i] = p[i] * scale + shift;
  return t == DType::kFloat32 ? f : f.cast(t);
}

/// Random integers in [lo, hi] of dtype t.
Tensor ints(DType t, const Dims& d, uint64_t seed, int64_t lo, int64_t hi) {
  Tensor f = random_tensor(DType::kFloat32, d, seed);
  Tensor v = Tensor::zeros(DType::kInt64, d);
  for (int64_t i = 0; i < f.numel(); ++i) {
    const double u = (static_cast<double>(f.data<float>()[i]) + 1.0) / 2.0;
    v.data<int64_t>()[i] = std::min<int64_t>(hi, lo + static_cast<int64_t>(u * (hi - lo + 1)));
  }
  return v.cast(t);
}

/// Values for dtype t: floats in [-2, 2] and small integers (with negatives where signed).
Tensor values(DType t, const Dims& d, uint64_t seed) {
  if (is_floating(t)) return rnd(t, d, seed, 2.f);
  if (t == DType::kBool) return random_tensor(t, d, seed);
  if (t == DType::kUint8) return ints(t, d, seed, 0, 255);
  return ints(t, d, seed, -9, 9);
}

double tol_for(DType t) {
  if (t == DType::kFloat16 || t == DType::kBFloat16) return 1e-2;
  if (t == DType::kFloat64) return 1e-12;
  return 1e-6;
}

constexpr DType kNumeric[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64,
                              DType::kInt8,    DType::kUint8,   DType::kInt32,    DType::kInt64};

/// Shape pairs: same shape (odd sizes), broadcasts of several kinds, rank 8, empty.
const std::vector<std::pair<Dims, Dims>>& shape_pairs() {
  static const std::vector<std::pair<Dims, Dims>> pairs = {
      {{1}, {1}},
      {{3}, {3}},
      {{17}, {17}},
      {{1000003}, {1000003}},
      {{2, 3, 5}, {3, 1}},
      {{4, 1, 6}, {5, 1}},
      {{}, {2, 3}},
      {{7, 1}, {1, 9}},
      {{2, 3, 4, 5}, {1, 3, 1, 1}},
      {{2, 1, 3, 1, 2, 1, 3, 2}, {1, 2, 1, 2, 1, 3, 3, 1}},
      {{0, 3}, {1, 3}},
      {{1, 1000}, {257, 1}},
  };
  return pairs;
}

TEST(CudaElementwiseBinary, ArithmeticAllTypesAndShapes) {
  TARMAC_REQUIRE_GPU();
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    for (DType t : kNumeric) {
      for (const auto& [da, db] : shape_pairs()) {
        SCOPED_TRACE(std::string(op) + " " + std::string(dtype_name(t)) + " " + dims_to_string(da) +
                     " " + dims_to_string(db));
        GpuCase c(op);
        c.input(values(t, da, 1)).input(values(t, db, 2));
        expect_gpu_matches_cpu(c, tol_for(t));
      }
    }
  }
}

TEST(CudaElementwiseBinary, IntegerWrapAndDivisionByZero) {
  TARMAC_REQUIRE_GPU();
  const int32_t mn = std::numeric_limits<int32_t>::min(), mx = std::numeric_limits<int32_t>::max();
  const Tensor a = Tensor::from_vector<int32_t>({mn, mn, 7, -7, 7, -7, mx, 0, 5, mn}, {10});
  const Tensor b = Tensor::from_vector<int32_t>({-1, 0, 2, 2, -2, -2, 1, 0, 0, 1}, {10});
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Mod"}) {
    for (int64_t fmod : {0, 1}) {
      if (std::string(op) != "Mod" && fmod == 1) continue;
      SCOPED_TRACE(std::string(op) + " fmod " + std::to_string(fmod));
      GpuCase c(op);
      if (std::string(op) == "Mod") c.attr_int("fmod", fmod);
      c.input(a).input(b);
      expect_gpu_matches_cpu(c, 0);
    }
  }
  const Tensor a8 = Tensor::from_vector<int8_t>({-128, -128, 100, -100, 9, -9}, {6});
  const Tensor b8 = Tensor::from_vector<int8_t>({-1, 0, 100, 3, -4, 4}, {6});
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Mod"}) {
    GpuCase c(op);
    c.input(a8).input(b8);
    expect_gpu_matches_cpu(c, 0);
  }
  const Tensor a64 =
      Tensor::from_vector<int64_t>({std::numeric_limits<int64_t>::min(), 9, -9, 0}, {4});
  const Tensor b64 = Tensor::from_vector<int64_t>({-1, 0, 4, 3}, {4});
  for (const char* op : {"Div", "Mod", "Mul", "Sub"}) {
    GpuCase c(op);
    c.input(a64).input(b64);
    expect_gpu_matches_cpu(c, 0);
  }
}

TEST(CudaElementwiseBinary, ModBothRules) {
  TARMAC_REQUIRE_GPU();
  for (DType t : kNumeric) {
    for (int64_t fmod : {0, 1}) {
      for (const auto& [da, db] : std::vector<std::pair<Dims, Dims>>{
               {{17}, {17}}, {{2, 3, 5}, {3, 1}}, {{1000003}, {1}}}) {
        SCOPED_TRACE(std::string(dtype_name(t)) + " fmod " + std::to_string(fmod) + " " +
                     dims_to_string(da));
        GpuCase c("Mod", 13);
        c.attr_int("fmod", fmod).input(values(t, da, 3)).input(values(t, db, 4));
        expect_gpu_matches_cpu(c, tol_for(t));
      }
    }
  }
}

TEST(CudaElementwiseBinary, ComparisonsAndLogic) {
  TARMAC_REQUIRE_GPU();
  for (const char* op : {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"}) {
    for (DType t : kNumeric) {
      for (const auto& [da, db] : shape_pairs()) {
        SCOPED_TRACE(std::string(op) + " " + std::string(dtype_name(t)) + " " + dims_to_string(da) +
                     " " + dims_to_string(db));
        // Integers in [-2, 2] and floats rounded to halves make many ties.
        Tensor a = is_floating(t) ? ints(DType::kInt32, da, 5, -4, 4).cast(t) : values(t, da, 5);
        Tensor b = is_floating(t) ? ints(DType::kInt32, db, 6, -4, 4).cast(t) : values(t, db, 6);
        GpuCase c(op);
        c.input(a).input(b);
        expect_gpu_matches_cpu(c, 0);
      }
    }
  }
  // NaN compares unequal and unordered.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const char* op : {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"}) {
    GpuCase c(op);
    c.input(Tensor::from_vector<float>({nan, 1, nan, 2}, {4}))
        .input(Tensor::from_vector<float>({nan, nan, 1, 2}, {4}));
    expect_gpu_matches_cpu(c, 0);
  }
  for (const char* op : {"Equal", "And", "Or", "Xor"}) {
    for (const auto& [da, db] : shape_pairs()) {
      SCOPED_TRACE(std::string(op) + " bool " + dims_to_string(da));
      GpuCase c(op);
      c.input(random_tensor(DType::kBool, da, 7)).input(random_tensor(DType::kBool, db, 8));
      expect_gpu_matches_cpu(c, 0);
    }
  }
}

TEST(CudaElementwiseBinary, LegacyBroadcastBeforeOpset7) {
  TARMAC_REQUIRE_GPU();
  for (const char* op : {"Add", "Mul", "Sub", "Div"}) {
    GpuCase axis(op, 6);
    axis.attr_int("broadcast", 1).attr_int("axis", 1);
    axis.input(rnd(DType::kFloat32, {2, 3, 4, 5}, 1)).input(rnd(DType::kFloat32, {3, 4}, 2));
    expect_gpu_matches_cpu(axis, 1e-6);
    GpuCase tail(op, 6);
    tail.attr_int("broadcast", 1);
    tail.input(rnd(DType::kFloat32, {2, 3, 4, 5}, 3)).input(rnd(DType::kFloat32, {5}, 4));
    expect_gpu_matches_cpu(tail, 1e-6);
    GpuCase scalar(op, 6);
    scalar.attr_int("broadcast", 1);
    scalar.input(rnd(DType::kFloat32, {2, 3}, 5)).input(rnd(DType::kFloat32, {1}, 6));
    expect_gpu_matches_cpu(scalar, 1e-6);
  }
}

TEST(CudaElementwiseBinary, Pow) {
  TARMAC_REQUIRE_GPU();
  // Float bases (positive, and negative with integral exponents) with float exponents.
  for (DType t : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64}) {
    for (const auto& [da, db] : std::vector<std::pair<Dims, Dims>>{
             {{17}, {17}}, {{1000003}, {1000003}}, {{2, 3, 5}, {3, 1}}, {{4, 5}, {}}}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + dims_to_string(da) + " " +
                   dims_to_string(db));
      GpuCase c("Pow", 15);
      c.input(rnd(t, da, 1, 1.5f, 1.6f)).input(rnd(t, db, 2, 2.f));
      expect_gpu_matches_cpu(c, t == DType::kFloat32 ? 1e-5 : tol_for(t));
      GpuCase neg("Pow", 15);
      neg.input(rnd(t, da, 3, 2.f)).input(ints(DType::kInt32, db, 4, -3, 3).cast(t));
      expect_gpu_matches_cpu(neg, t == DType::kFloat32 ? 1e-5 : tol_for(t));
    }
  }
  // Mixed types: float base with integer / float64 exponent, float16 base with float32 exponent.
  for (DType e : {DType::kInt32, DType::kInt64, DType::kInt8, DType::kUint8, DType::kFloat64,
                  DType::kFloat32, DType::kFloat16}) {
    for (DType t : {DType::kFloat32, DType::kFloat16, DType::kFloat64}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " ^ " + std::string(dtype_name(e)));
      GpuCase c("Pow", 15);
      const Tensor ex = is_floating(e) ? rnd(e, {3, 1}, 6, 2.f) : ints(e, {3, 1}, 6, 0, 4);
      c.input(rnd(t, {2, 3, 7}, 5, 1.5f, 1.6f)).input(ex);
      expect_gpu_matches_cpu(c, t == DType::kFloat32 ? 1e-5 : tol_for(t));
    }
  }
  // A constant scalar exponent 2 (the CPU squares) on every float type.
  for (DType t : {DType::kFloat32, DType::kFloat16, DType::kFloat64}) {
    GpuCase sq("Pow", 15);
    sq.input(rnd(t, {1000}, 7, 3.f)).input(Tensor::from_vector<float>({2.f}, {}).cast(t), true);
    expect_gpu_matches_cpu(sq, tol_for(t));
  }
  // Integer bases: exact integer powers (wrapping, negative exponents) and float exponents.
  for (DType t : {DType::kInt8, DType::kUint8, DType::kInt32, DType::kInt64}) {
    SCOPED_TRACE(dtype_name(t));
    const bool is_signed = t != DType::kUint8;
    GpuCase ip("Pow", 15);
    ip.input(ints(t, {4, 100}, 8, is_signed ? -9 : 0, 9))
        .input(ints(DType::kInt64, {100}, 9, is_signed ? -2 : 0, 40));
    expect_gpu_matches_cpu(ip, 0);
    GpuCase fp("Pow", 15);
    fp.input(ints(t, {4, 100}, 10, 0, 9)).input(rnd(DType::kFloat32, {100}, 11, 3.f));
    expect_gpu_matches_cpu(fp, 0);
    GpuCase dp("Pow", 15);
    dp.input(ints(t, {4, 100}, 12, 0, 9)).input(rnd(DType::kFloat64, {100}, 13, 3.f));
    expect_gpu_matches_cpu(dp, 0);
  }
}

TEST(CudaElementwiseBinary, PRelu) {
  TARMAC_REQUIRE_GPU();
  for (DType t : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt8,
                  DType::kInt32, DType::kInt64, DType::kUint8}) {
    for (const auto& [dx, ds] : std::vector<std::pair<Dims, Dims>>{{{2, 3, 4, 5}, {3, 1, 1}},
                                                                   {{2, 3, 4, 5}, {5}},
                                                                   {{1000003}, {1}},
                                                                   {{17}, {17}},
                                                                   {{0, 3}, {3}}}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + dims_to_string(dx) + " " +
                   dims_to_string(ds));
      GpuCase c("PRelu", 16);
      c.input(values(t, dx, 1)).input(values(t, ds, 2), true);
      expect_gpu_matches_cpu(c, tol_for(t));
    }
  }
  // Before opset 7 a 1-D slope is per channel (dim 1).
  GpuCase old("PRelu", 6);
  old.input(rnd(DType::kFloat32, {2, 3, 4, 5}, 3)).input(rnd(DType::kFloat32, {3}, 4), true);
  expect_gpu_matches_cpu(old, 1e-6);
}

TEST(CudaElementwiseWhere, BroadcastsAllDtypes) {
  TARMAC_REQUIRE_GPU();
  const std::vector<std::vector<Dims>> shapes = {
      {{17}, {17}, {17}}, {{1000003}, {1000003}, {1}},       {{2, 1, 5}, {3, 1}, {2, 3, 5}},
      {{}, {4, 4}, {4}},  {{3, 1, 1}, {1, 4, 1}, {1, 1, 5}}, {{0, 2}, {1, 2}, {2}}};
  for (DType t : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt8,
                  DType::kUint8, DType::kInt32, DType::kInt64, DType::kBool}) {
    for (const auto& s : shapes) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + dims_to_string(s[0]) + " " +
                   dims_to_string(s[1]) + " " + dims_to_string(s[2]));
      GpuCase c("Where", 16);
      c.input(random_tensor(DType::kBool, s[0], 1)).input(values(t, s[1], 2));
      c.input(values(t, s[2], 3));
      expect_gpu_matches_cpu(c, 0);
    }
  }
}

TEST(CudaElementwiseVariadic, SumMeanMaxMin) {
  TARMAC_REQUIRE_GPU();
  // Input counts up to 11 exercise launches of more than 8 inputs (accumulator carried over).
  const std::vector<std::vector<Dims>> shape_sets = {
      {{17}},
      {{1000003}, {1000003}},
      {{2, 3, 5}, {3, 1}, {5}},
      {{4, 1}, {1, 6}, {}, {4, 6}, {1, 1}},
      {{2, 3}, {2, 3}, {2, 3}, {2, 3}, {2, 3}, {2, 3}, {2, 3}, {2, 3}, {2, 3}},
      {{3, 1}, {7}, {3, 7}, {1}, {3, 7}, {1, 7}, {3, 1}, {7}, {3, 7}, {1}, {3, 7}},
      {{0, 3}, {3}},
  };
  for (const char* op : {"Sum", "Mean", "Max", "Min"}) {
    for (DType t : kNumeric) {
      if (std::string(op) == "Mean" && !is_floating(t)) continue;
      for (const auto& shapes : shape_sets) {
        SCOPED_TRACE(std::string(op) + " " + std::string(dtype_name(t)) + " x" +
                     std::to_string(shapes.size()) + " " + dims_to_string(shapes[0]));
        GpuCase c(op, 13);
        for (size_t i = 0; i < shapes.size(); ++i) c.input(values(t, shapes[i], 10 + i));
        expect_gpu_matches_cpu(c, tol_for(t));
      }
    }
  }
}

TEST(CudaElementwiseVariadic, MaxMinPropagateNaN) {
  TARMAC_REQUIRE_GPU();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor a = Tensor::from_vector<float>({nan, 1, 2, nan, 5}, {5});
  const Tensor b = Tensor::from_vector<float>({1, nan, 3, nan, -5}, {5});
  const Tensor c = Tensor::from_vector<float>({0, 0, nan, 0, 0}, {5});
  for (const char* op : {"Max", "Min", "Sum", "Mean"}) {
    for (DType t : {DType::kFloat32, DType::kFloat16, DType::kFloat64}) {
      SCOPED_TRACE(std::string(op) + " " + std::string(dtype_name(t)));
      GpuCase g(op, 13);
      g.input(a.cast(t)).input(b.cast(t)).input(c.cast(t));
      expect_gpu_matches_cpu(g, tol_for(t));
    }
  }
}

TEST(CudaElementwiseBinary, RefusesWhatItDoesNotSupport) {
  TARMAC_REQUIRE_GPU();
  // Nine output dims that do not merge: the CPU runs it, the CUDA kernels index up to rank 8.
  GpuCase deep("Add");
  deep.input(rnd(DType::kFloat32, {2, 1, 2, 1, 2, 1, 2, 1, 2}, 1))
      .input(rnd(DType::kFloat32, {1, 2, 1, 2, 1, 2, 1, 2, 1}, 2));
  auto r = run_gpu_case(deep);
  EXPECT_FALSE(r.is_ok());
  if (!r.is_ok()) {
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported) << r.status().message();
  }
  GpuCase mean_int("Mean", 13);
  mean_int.input(ints(DType::kInt32, {4}, 1, 0, 9)).input(ints(DType::kInt32, {4}, 2, 0, 9));
  EXPECT_FALSE(run_gpu_case(mean_int).is_ok());
  GpuCase and_f("And");
  and_f.input(rnd(DType::kFloat32, {4}, 1)).input(rnd(DType::kFloat32, {4}, 2));
  EXPECT_FALSE(run_gpu_case(and_f).is_ok());
  GpuCase less_bool("Less");
  less_bool.input(random_tensor(DType::kBool, {4}, 1)).input(random_tensor(DType::kBool, {4}, 2));
  EXPECT_FALSE(run_gpu_case(less_bool).is_ok());
}

}  // namespace
}  // namespace tarmac::testing

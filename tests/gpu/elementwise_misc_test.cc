// CUDA elementwise family: Clip, Cast, CastLike, Identity, Dropout, QuantizeLinear and
// DequantizeLinear against the CPU reference.
#include <cmath>
#include <limits>
#include <string>
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

double tol_for(DType t) {
  if (t == DType::kFloat16 || t == DType::kBFloat16) return 1e-2;
  if (t == DType::kFloat64) return 1e-12;
  return 1e-6;
}

constexpr DType kAll[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16,
                          DType::kFloat64, DType::kInt8,    DType::kUint8,
                          DType::kInt32,   DType::kInt64,   DType::kBool};

// ---- Clip -----------------------------------------------------------------------------------

TEST(CudaElementwiseClip, BoundsAsInputs) {
  TARMAC_REQUIRE_GPU();
  for (DType t : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64}) {
    for (const Dims& d : std::vector<Dims>{{1}, {17}, {1000003}, {2, 3, 5}, {0}}) {
      for (bool constant : {true, false}) {
        SCOPED_TRACE(std::string(dtype_name(t)) + " " + dims_to_string(d) +
                     (constant ? " constant" : " runtime"));
        const Tensor lo = Tensor::from_vector<float>({-0.4f}, {}).cast(t);
        const Tensor hi = Tensor::from_vector<float>({0.7f}, {}).cast(t);
        GpuCase both("Clip", 13);
        both.input(rnd(t, d, 1)).input(lo, constant).input(hi, constant);
        expect_gpu_matches_cpu(both, tol_for(t));
        GpuCase only_max("Clip", 13);
        only_max.input(rnd(t, d, 2)).absent_input().input(hi, constant);
        expect_gpu_matches_cpu(only_max, tol_for(t));
        GpuCase only_min("Clip", 13);
        only_min.input(rnd(t, d, 3)).input(lo, constant);
        expect_gpu_matches_cpu(only_min, tol_for(t));
        GpuCase none("Clip", 13);
        none.input(rnd(t, d, 4));
        expect_gpu_matches_cpu(none, tol_for(t));
        GpuCase inverted("Clip", 13);  // min > max: everything becomes max
        inverted.input(rnd(t, d, 5)).input(hi, constant).input(lo, constant);
        expect_gpu_matches_cpu(inverted, tol_for(t));
      }
    }
  }
  for (DType t : {DType::kInt8, DType::kUint8, DType::kInt32, DType::kInt64}) {
    SCOPED_TRACE(dtype_name(t));
    GpuCase c("Clip", 13);
    c.input(ints(t, {1000}, 6, 0, 100))
        .input(Tensor::from_vector<int64_t>({20}, {}).cast(t))
        .input(Tensor::from_vector<int64_t>({70}, {}).cast(t), true);
    expect_gpu_matches_cpu(c, 0);
    GpuCase lo_only("Clip", 12);
    lo_only.input(ints(t, {1000}, 7, 0, 100)).input(Tensor::from_vector<int64_t>({33}, {}).cast(t));
    expect_gpu_matches_cpu(lo_only, 0);
  }
  // NaN stays NaN.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  GpuCase n("Clip", 13);
  n.input(Tensor::from_vector<float>({nan, -5, 5, 0.1f}, {4}))
      .input(Tensor::from_vector<float>({-1}, {}))
      .input(Tensor::from_vector<float>({1}, {}));
  expect_gpu_matches_cpu(n, 1e-6);
}

TEST(CudaElementwiseClip, BoundsAsAttributesBeforeOpset11) {
  TARMAC_REQUIRE_GPU();
  for (DType t : {DType::kFloat32, DType::kFloat16, DType::kFloat64}) {
    SCOPED_TRACE(dtype_name(t));
    GpuCase both("Clip", 6);
    both.attr_float("min", -0.3f).attr_float("max", 0.6f).input(rnd(t, {1000003}, 1));
    expect_gpu_matches_cpu(both, tol_for(t));
    GpuCase defaults("Clip", 6);  // +-FLT_MAX
    defaults.input(rnd(t, {17}, 2, 1e30f));
    expect_gpu_matches_cpu(defaults, tol_for(t));
    GpuCase min_only("Clip", 1);
    min_only.attr_float("min", 0.2f).input(rnd(t, {3, 7}, 3));
    expect_gpu_matches_cpu(min_only, tol_for(t));
    GpuCase none("Clip", 1);  // opset 1 without attributes: no clamping at all
    none.input(rnd(t, {3, 7}, 4, 1e30f));
    expect_gpu_matches_cpu(none, tol_for(t));
  }
}

// ---- Cast / CastLike / Identity -------------------------------------------------------------

/// Values of dtype t that stress the conversions: fractions, halves, negatives, values beyond
/// the narrow integer ranges, beyond int64, and NaN/Inf for floats.
Tensor cast_source(DType t) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  if (is_floating(t)) {
    std::vector<float> v = {0.f,   -0.f,   0.5f,   -0.5f,  1.5f,   -1.9f,   2.5f,    127.6f,
                            128.f, -129.f, 255.9f, 256.5f, 300.5f, -300.5f, 65504.f, 70000.f,
                            1e10f, -1e10f, 3e9f,   -3e9f,  1e20f,  -1e20f,  inf,     -inf,
                            nan,   1e-30f, 1e-8f,  0.1f,   -7.25f, 33.33f,  9.2e18f, -9.3e18f};
    const Tensor base = Tensor::from_vector<float>(v, {static_cast<int64_t>(v.size())});
    return t == DType::kFloat32 ? base : base.cast(t);
  }
  if (t == DType::kBool) return random_tensor(t, {33}, 5);
  std::vector<int64_t> v = {0,
                            1,
                            -1,
                            127,
                            -128,
                            255,
                            256,
                            -129,
                            70000,
                            2147483647,
                            -2147483648,
                            16777217,
                            1000,
                            -1000,
                            3,
                            (int64_t{1} << 53) + 1,
                            std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::min(),
                            65504,
                            65520,
                            -7};
  return Tensor::from_vector<int64_t>(v, {static_cast<int64_t>(v.size())}).cast(t);
}

TEST(CudaElementwiseCast, EveryDtypePair) {
  TARMAC_REQUIRE_GPU();
  for (DType from : kAll) {
    for (DType to : kAll) {
      SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + std::string(dtype_name(to)));
      GpuCase special("Cast", 19);
      special.attr_int("to", static_cast<int64_t>(to)).input(cast_source(from));
      expect_gpu_matches_cpu(special, 0);  // conversions are exact: any difference is a bug
      GpuCase big("Cast", 13);
      const Tensor src = is_floating(from) ? rnd(from, {1000003}, 1, 300.f)
                         : from == DType::kBool
                             ? random_tensor(from, {1000003}, 2)
                             : ints(from, {1000003}, 3, from == DType::kUint8 ? 0 : -100, 200);
      big.attr_int("to", static_cast<int64_t>(to)).input(src);
      expect_gpu_matches_cpu(big, 0);
    }
  }
  // Empty and scalar tensors.
  GpuCase empty("Cast", 13);
  empty.attr_int("to", static_cast<int64_t>(DType::kFloat16))
      .input(rnd(DType::kFloat32, {0, 4}, 1));
  expect_gpu_matches_cpu(empty, 0);
  GpuCase scalar("Cast", 13);
  scalar.attr_int("to", static_cast<int64_t>(DType::kInt32))
      .input(rnd(DType::kFloat32, {}, 1, 50.f));
  expect_gpu_matches_cpu(scalar, 0);
}

TEST(CudaElementwiseCast, CastLike) {
  TARMAC_REQUIRE_GPU();
  for (DType from : kAll) {
    for (DType to : {DType::kFloat16, DType::kInt32, DType::kBool, DType::kFloat32}) {
      SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + std::string(dtype_name(to)));
      GpuCase c("CastLike", 15);
      c.input(cast_source(from)).input(Tensor::zeros(to, {1}), true);
      expect_gpu_matches_cpu(c, 0);
    }
  }
}

TEST(CudaElementwiseCast, Identity) {
  TARMAC_REQUIRE_GPU();
  for (DType t : kAll) {
    for (const Dims& d : std::vector<Dims>{{1}, {17}, {1000003}, {0}, {}}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + dims_to_string(d));
      GpuCase c("Identity", 16);
      c.input(random_tensor(t, d, 4));
      expect_gpu_matches_cpu(c, 0);
    }
  }
}

// ---- Dropout --------------------------------------------------------------------------------

TEST(CudaElementwiseDropout, InferenceCopiesAndMasksAllTrue) {
  TARMAC_REQUIRE_GPU();
  for (DType t : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64}) {
    for (const Dims& d : std::vector<Dims>{{17}, {1000003}, {0}}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + dims_to_string(d));
      GpuCase plain("Dropout", 13);
      plain.input(rnd(t, d, 1));
      expect_gpu_matches_cpu(plain, 0);
      GpuCase mask("Dropout", 13);
      mask.num_outputs = 2;
      mask.input(rnd(t, d, 2)).input(Tensor::from_vector<float>({0.3f}, {}).cast(t), true);
      expect_gpu_matches_cpu(mask, 0);
      GpuCase eval("Dropout", 13);  // training_mode = false given explicitly
      eval.num_outputs = 2;
      eval.input(rnd(t, d, 3)).input(Tensor::from_vector<float>({0.5f}, {}).cast(t), true);
      eval.input(Tensor::from_vector<bool>({false}, {}), true);
      expect_gpu_matches_cpu(eval, 0);
      GpuCase zero("Dropout", 13);  // training with ratio 0 keeps everything
      zero.num_outputs = 2;
      zero.input(rnd(t, d, 4)).input(Tensor::from_vector<float>({0.f}, {}).cast(t), true);
      zero.input(Tensor::from_vector<bool>({true}, {}), true);
      expect_gpu_matches_cpu(zero, 0);
      GpuCase v7("Dropout", 7);  // mask has the input's type before opset 10
      v7.num_outputs = 2;
      v7.attr_float("ratio", 0.2f).input(rnd(t, d, 5));
      expect_gpu_matches_cpu(v7, 0);
    }
  }
  GpuCase ints_mask("Dropout", 13);
  ints_mask.num_outputs = 2;
  ints_mask.input(ints(DType::kInt32, {33}, 1, -5, 5));
  expect_gpu_matches_cpu(ints_mask, 0);
}

TEST(CudaElementwiseDropout, RefusesWhatItDoesNotSupport) {
  TARMAC_REQUIRE_GPU();
  // training_mode known only at run time (false here, which the CPU runs).
  GpuCase rt("Dropout", 13);
  rt.input(rnd(DType::kFloat32, {5}, 1))
      .input(Tensor::from_vector<float>({0.5f}, {}), true)
      .input(Tensor::from_vector<bool>({false}, {}), false);
  auto r = run_gpu_case(rt);
  EXPECT_FALSE(r.is_ok());
  if (!r.is_ok()) {
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported) << r.status().message();
  }
}

// ---- QuantizeLinear / DequantizeLinear ------------------------------------------------------

TEST(CudaElementwiseQuant, QuantizePerTensor) {
  TARMAC_REQUIRE_GPU();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // x / 0.5 hits exact halves (round half to even) and saturates both ways; NaN -> zero point.
  const Tensor halves = Tensor::from_vector<float>(
      {0.25f, 0.75f, -0.25f, -0.75f, 1.25f, 100.f, -100.f, nan, 0.f, 63.75f, -64.25f}, {11});
  for (DType zp : {DType::kUint8, DType::kInt8}) {
    for (DType xt : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64}) {
      SCOPED_TRACE(std::string(dtype_name(xt)) + " -> " + std::string(dtype_name(zp)));
      const Tensor z = Tensor::from_vector<int64_t>({zp == DType::kUint8 ? 128 : -3}, {}).cast(zp);
      GpuCase h("QuantizeLinear", 13);
      h.input(xt == DType::kFloat32 ? halves : halves.cast(xt))
          .input(Tensor::from_vector<float>({0.5f}, {}), true)
          .input(z, true);
      expect_gpu_matches_cpu(h, 0);
      for (const Dims& d : std::vector<Dims>{{1}, {17}, {1000003}, {0}}) {
        GpuCase c("QuantizeLinear", 13);
        c.input(rnd(xt, d, 1, 3.f)).input(Tensor::from_vector<float>({0.013f}, {}), true);
        c.input(z, true);
        expect_gpu_matches_cpu(c, 0);
      }
    }
  }
  GpuCase no_zp("QuantizeLinear", 10);  // uint8 without a zero point
  no_zp.input(rnd(DType::kFloat32, {1000}, 2, 3.f)).input(Tensor::from_vector<float>({0.01f}, {}));
  expect_gpu_matches_cpu(no_zp, 0);
  GpuCase i32("QuantizeLinear", 13);  // int32 input
  i32.input(ints(DType::kInt32, {1000}, 3, -1000, 1000))
      .input(Tensor::from_vector<float>({3.f}, {}))
      .input(Tensor::from_vector<int8_t>({2}, {}));
  expect_gpu_matches_cpu(i32, 0);
  GpuCase wide("QuantizeLinear", 19);  // float64 scale computes in double
  wide.input(rnd(DType::kFloat32, {1000}, 4, 2.f))
      .input(Tensor::from_vector<double>({0.007}, {}))
      .input(Tensor::from_vector<uint8_t>({100}, {}));
  expect_gpu_matches_cpu(wide, 0);
  GpuCase out_dtype("QuantizeLinear", 21);  // output_dtype int8 without a zero point
  out_dtype.attr_int("output_dtype", static_cast<int64_t>(DType::kInt8))
      .input(rnd(DType::kFloat32, {100}, 5, 2.f))
      .input(Tensor::from_vector<float>({0.01f}, {}));
  expect_gpu_matches_cpu(out_dtype, 0);
}

TEST(CudaElementwiseQuant, QuantizePerAxisAndBlocked) {
  TARMAC_REQUIRE_GPU();
  const Dims x = {2, 3, 4, 5};
  for (int64_t axis : {0, 1, -1, 2}) {
    const int64_t len = x[static_cast<size_t>(axis < 0 ? axis + 4 : axis)];
    SCOPED_TRACE("axis " + std::to_string(axis));
    GpuCase c("QuantizeLinear", 13);
    c.attr_int("axis", axis)
        .input(rnd(DType::kFloat32, x, 1, 2.f))
        .input(rnd(DType::kFloat32, {len}, 2, 0.01f, 0.02f), true)
        .input(ints(DType::kInt8, {len}, 3, -10, 10), true);
    expect_gpu_matches_cpu(c, 0);
    GpuCase f16("QuantizeLinear", 19);
    f16.attr_int("axis", axis)
        .input(rnd(DType::kFloat16, x, 4, 2.f))
        .input(rnd(DType::kFloat16, {len}, 5, 0.01f, 0.02f))
        .input(ints(DType::kUint8, {len}, 6, 100, 150));
    expect_gpu_matches_cpu(f16, 0);
  }
  GpuCase blocked("QuantizeLinear", 21);  // x [2, 7, 3], axis 1, blocks of 3 -> 3 scales
  blocked.attr_int("axis", 1)
      .attr_int("block_size", 3)
      .input(rnd(DType::kFloat32, {2, 7, 3}, 7, 2.f))
      .input(rnd(DType::kFloat32, {2, 3, 3}, 8, 0.01f, 0.02f), true)
      .input(ints(DType::kUint8, {2, 3, 3}, 9, 100, 150), true);
  expect_gpu_matches_cpu(blocked, 0);
}

TEST(CudaElementwiseQuant, Dequantize) {
  TARMAC_REQUIRE_GPU();
  for (DType xt : {DType::kUint8, DType::kInt8, DType::kInt32}) {
    const int64_t lo = xt == DType::kUint8 ? 0 : -128, hi = xt == DType::kUint8 ? 255 : 127;
    for (const Dims& d : std::vector<Dims>{{1}, {17}, {1000003}, {0}}) {
      SCOPED_TRACE(std::string(dtype_name(xt)) + " " + dims_to_string(d));
      GpuCase c("DequantizeLinear", 13);
      c.input(ints(xt, d, 1, lo, hi))
          .input(Tensor::from_vector<float>({0.037f}, {}), true)
          .input(Tensor::from_vector<int64_t>({xt == DType::kUint8 ? 120 : -5}, {}).cast(xt), true);
      expect_gpu_matches_cpu(c, 1e-6);
      GpuCase no_zp("DequantizeLinear", 10);
      no_zp.input(ints(xt, d, 2, lo, hi)).input(Tensor::from_vector<float>({0.5f}, {}));
      expect_gpu_matches_cpu(no_zp, 1e-6);
    }
    for (int64_t axis : {1, -1}) {
      SCOPED_TRACE(std::string(dtype_name(xt)) + " axis " + std::to_string(axis));
      const int64_t len = axis == 1 ? 3 : 5;
      GpuCase c("DequantizeLinear", 13);
      c.attr_int("axis", axis)
          .input(ints(xt, {2, 3, 5}, 3, lo, hi))
          .input(rnd(DType::kFloat32, {len}, 4, 0.01f, 0.02f), true)
          .input(ints(xt, {len}, 5, lo / 2, hi / 2), true);
      expect_gpu_matches_cpu(c, 1e-6);
    }
    // From opset 19 the output takes the scale's dtype.
    for (DType st : {DType::kFloat16, DType::kBFloat16, DType::kFloat64}) {
      SCOPED_TRACE(std::string(dtype_name(xt)) + " scale " + std::string(dtype_name(st)));
      GpuCase c("DequantizeLinear", 19);
      c.input(ints(xt, {4, 5}, 6, lo, hi))
          .input(Tensor::from_vector<float>({0.037f}, {}).cast(st))
          .input(Tensor::from_vector<int64_t>({3}, {}).cast(xt));
      expect_gpu_matches_cpu(c, tol_for(st));
    }
  }
  GpuCase blocked("DequantizeLinear", 21);
  blocked.attr_int("axis", 0)
      .attr_int("block_size", 2)
      .input(ints(DType::kInt8, {5, 3}, 7, -128, 127))
      .input(rnd(DType::kFloat32, {3, 3}, 8, 0.01f, 0.02f), true)
      .input(ints(DType::kInt8, {3, 3}, 9, -5, 5), true);
  expect_gpu_matches_cpu(blocked, 1e-6);
}

TEST(CudaElementwiseQuant, RefusesWhatItDoesNotSupport) {
  TARMAC_REQUIRE_GPU();
  GpuCase bad_axis("QuantizeLinear", 13);  // scale length does not match the axis
  bad_axis.attr_int("axis", 1)
      .input(rnd(DType::kFloat32, {2, 3}, 1))
      .input(Tensor::from_vector<float>({1, 2}, {2}));
  EXPECT_FALSE(run_gpu_case(bad_axis).is_ok());
  GpuCase deq_float("DequantizeLinear", 13);
  deq_float.input(rnd(DType::kFloat32, {4}, 1)).input(Tensor::from_vector<float>({1}, {}));
  EXPECT_FALSE(run_gpu_case(deq_float).is_ok());
}

}  // namespace
}  // namespace tarmac::testing

// CUDA Conv and ConvTranspose (cuDNN) against the CPU reference.
#include "gpu_test_util.h"

namespace tarmac::testing {
namespace {

Tensor rnd(DType dt, const Dims& d, uint64_t seed) {
  Tensor t = random_tensor(DType::kFloat32, d, seed);
  return dt == DType::kFloat32 ? t : t.cast(dt);
}

/// Conv or ConvTranspose with X [x], constant W [w] and an optional constant bias [b].
GpuCase conv(const std::string& op, DType dt, const Dims& x, const Dims& w, int64_t bias,
             uint64_t seed, bool tf32 = false) {
  GpuCase c(op);
  c.input(rnd(dt, x, seed)).input(rnd(dt, w, seed + 1), true);
  if (bias > 0) c.input(rnd(dt, {bias}, seed + 2), true);
  c.config.allow_tf32 = tf32;
  return c;
}

constexpr double kExact = 1e-5;  // float32 without TF32
constexpr double kTf32 = 1e-3;
constexpr double kHalf = 1e-2;

TEST(CudaNnConv, Basic3x3PadBias) {
  TARMAC_REQUIRE_GPU();
  GpuCase c = conv("Conv", DType::kFloat32, {2, 3, 17, 19}, {8, 3, 3, 3}, 8, 1);
  c.attr_ints("pads", {1, 1, 1, 1});
  expect_gpu_matches_cpu(c, kExact);
}

TEST(CudaNnConv, Tf32) {
  TARMAC_REQUIRE_GPU();
  GpuCase c = conv("Conv", DType::kFloat32, {2, 16, 23, 21}, {32, 16, 3, 3}, 32, 2, true);
  c.attr_ints("pads", {1, 1, 1, 1});
  expect_gpu_matches_cpu(c, kTf32);
}

TEST(CudaNnConv, Pointwise) {
  TARMAC_REQUIRE_GPU();
  expect_gpu_matches_cpu(conv("Conv", DType::kFloat32, {1, 16, 7, 9}, {5, 16, 1, 1}, 0, 3), kExact);
  expect_gpu_matches_cpu(conv("Conv", DType::kFloat32, {3, 1, 1, 1}, {1, 1, 1, 1}, 1, 4), kExact);
}

TEST(CudaNnConv, StridedDilatedAsymmetricPads) {
  TARMAC_REQUIRE_GPU();
  GpuCase c = conv("Conv", DType::kFloat32, {2, 4, 19, 17}, {6, 4, 3, 2}, 6, 5);
  c.attr_ints("strides", {2, 3}).attr_ints("dilations", {2, 1}).attr_ints("pads", {1, 0, 2, 1});
  expect_gpu_matches_cpu(c, kExact);
  GpuCase d = conv("Conv", DType::kFloat32, {1, 3, 11, 13}, {4, 3, 5, 5}, 0, 6);
  d.attr_ints("dilations", {2, 3}).attr_ints("pads", {4, 6, 4, 6});
  expect_gpu_matches_cpu(d, kExact);
}

TEST(CudaNnConv, Grouped) {
  TARMAC_REQUIRE_GPU();
  GpuCase c = conv("Conv", DType::kFloat32, {2, 8, 13, 15}, {6, 4, 3, 3}, 6, 7);
  c.attr_int("group", 2).attr_ints("pads", {1, 1, 1, 1});
  expect_gpu_matches_cpu(c, kExact);
}

TEST(CudaNnConv, Depthwise) {
  TARMAC_REQUIRE_GPU();
  GpuCase c = conv("Conv", DType::kFloat32, {2, 12, 17, 17}, {12, 1, 3, 3}, 12, 8);
  c.attr_int("group", 12).attr_ints("pads", {1, 1, 1, 1}).attr_ints("strides", {2, 2});
  expect_gpu_matches_cpu(c, kExact);
  GpuCase m = conv("Conv", DType::kFloat32, {1, 6, 15, 9}, {12, 1, 5, 5}, 0, 9);  // multiplier 2
  m.attr_int("group", 6).attr_ints("pads", {2, 2, 2, 2});
  expect_gpu_matches_cpu(m, kExact);
}

TEST(CudaNnConv, AutoPad) {
  TARMAC_REQUIRE_GPU();
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER", "VALID"}) {
    GpuCase c = conv("Conv", DType::kFloat32, {1, 3, 16, 15}, {4, 3, 4, 3}, 4, 10);
    c.attr_string("auto_pad", mode).attr_ints("strides", {2, 2});
    expect_gpu_matches_cpu(c, kExact);
    GpuCase d = conv("Conv", DType::kFloat32, {2, 2, 9, 8}, {3, 2, 2, 2}, 0, 11);
    d.attr_string("auto_pad", mode);
    expect_gpu_matches_cpu(d, kExact);
  }
}

TEST(CudaNnConv, OneAndThreeDimensional) {
  TARMAC_REQUIRE_GPU();
  GpuCase c = conv("Conv", DType::kFloat32, {2, 4, 31}, {6, 4, 5}, 6, 12);
  c.attr_ints("pads", {2, 1}).attr_ints("strides", {2});
  expect_gpu_matches_cpu(c, kExact);
  GpuCase d = conv("Conv", DType::kFloat32, {1, 2, 5, 6, 7}, {4, 2, 3, 3, 3}, 4, 13);
  d.attr_ints("pads", {1, 1, 1, 1, 1, 1});
  expect_gpu_matches_cpu(d, kExact);
}

TEST(CudaNnConv, HalfTypes) {
  TARMAC_REQUIRE_GPU();
  for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
    GpuCase c = conv("Conv", dt, {2, 8, 17, 19}, {16, 8, 3, 3}, 16, 14);
    c.attr_ints("pads", {1, 1, 1, 1});
    expect_gpu_matches_cpu(c, kHalf);
    GpuCase d = conv("Conv", dt, {1, 8, 9, 9}, {8, 1, 3, 3}, 8, 15);
    d.attr_int("group", 8).attr_string("auto_pad", "SAME_UPPER").attr_ints("strides", {2, 2});
    expect_gpu_matches_cpu(d, kHalf);
  }
}

TEST(CudaNnConv, Float64) {
  TARMAC_REQUIRE_GPU();
  GpuCase c = conv("Conv", DType::kFloat64, {1, 3, 9, 10}, {4, 3, 3, 3}, 4, 16);
  c.attr_ints("pads", {0, 1, 2, 1});
  expect_gpu_matches_cpu(c, 1e-10);
}

TEST(CudaNnConv, FusedActivations) {
  TARMAC_REQUIRE_GPU();
  struct Act {
    const char* name;
    float alpha, beta;
    bool bias;
  };
  for (const Act& a : {Act{"Relu", 0, 0, true}, Act{"Relu", 0, 0, false}, Act{"Silu", 0, 0, true},
                       Act{"Clip", 0.f, 0.3f, true}, Act{"LeakyRelu", 0.1f, 0, false},
                       Act{"HardSwish", 0, 0, true}, Act{"Mish", 0, 0, true},
                       Act{"Gelu", 0, 0, true}, Act{"Sigmoid", 0, 0, true}}) {
    GpuCase c = conv("Conv", DType::kFloat32, {2, 5, 11, 13}, {7, 5, 3, 3}, a.bias ? 7 : 0, 17);
    c.domain = "tarmac";
    c.attr_ints("pads", {1, 1, 1, 1}).attr_string("activation", a.name);
    if (std::string(a.name) == "Clip" || std::string(a.name) == "LeakyRelu")
      c.attr_float("activation_alpha", a.alpha);
    if (std::string(a.name) == "Clip") c.attr_float("activation_beta", a.beta);
    SCOPED_TRACE(a.name);
    expect_gpu_matches_cpu(c, kExact);
  }
  GpuCase h = conv("Conv", DType::kFloat16, {1, 8, 9, 9}, {8, 8, 3, 3}, 8, 18);
  h.domain = "tarmac";
  h.attr_string("activation", "Relu");
  expect_gpu_matches_cpu(h, kHalf);
}

/// Internal Conv X [2, 6, 12, 10] -> Y [2, 8, 12, 10] (or strided) with a residual shaped like
/// Y as input 3; `bias` false leaves input 2 absent.
GpuCase residual_conv(DType dt, bool bias, const std::string& act, uint64_t seed,
                      const Dims& w = {8, 6, 3, 3}) {
  const bool pointwise = w[2] == 1;
  GpuCase c = conv("Conv", dt, {2, 6, 12, 10}, w, bias ? w[0] : 0, seed);
  if (!bias) c.absent_input();
  c.input(rnd(dt, {2, w[0], 12, 10}, seed + 7));
  c.domain = "tarmac";
  if (!pointwise) c.attr_ints("pads", {1, 1, 1, 1});
  if (!act.empty()) c.attr_string("activation", act);
  return c;
}

TEST(CudaNnConv, ResidualFloat32ReluWithBiasCudnnFused) {
  // cudnnConvolutionBiasActivationForward with z = residual, alpha2 = 1.
  TARMAC_REQUIRE_GPU();
  expect_gpu_matches_cpu(residual_conv(DType::kFloat32, true, "Relu", 40), kExact);
  expect_gpu_matches_cpu(residual_conv(DType::kFloat32, true, "Relu", 41, {8, 6, 1, 1}), kExact);
}

TEST(CudaNnConv, ResidualFloat32NoActivation) {
  // Identity: cuDNN's fused kernel when the heuristic picks IMPLICIT_PRECOMP_GEMM, otherwise
  // convolution + epilogue; both must give the same result.
  TARMAC_REQUIRE_GPU();
  expect_gpu_matches_cpu(residual_conv(DType::kFloat32, true, "", 42), kExact);
  expect_gpu_matches_cpu(residual_conv(DType::kFloat32, true, "", 43, {8, 6, 1, 1}), kExact);
  expect_gpu_matches_cpu(residual_conv(DType::kFloat32, false, "", 44), kExact);
}

TEST(CudaNnConv, ResidualEpilogueActivations) {
  TARMAC_REQUIRE_GPU();
  for (const char* act : {"Silu", "Relu"}) {
    SCOPED_TRACE(act);
    expect_gpu_matches_cpu(residual_conv(DType::kFloat32, true, act, 45), kExact);
    expect_gpu_matches_cpu(residual_conv(DType::kFloat32, false, act, 46), kExact);
  }
  // Asymmetric pads: the input is padded into the workspace first.
  GpuCase c = residual_conv(DType::kFloat32, true, "Relu", 47);
  c.attrs.erase("pads");
  c.attr_ints("pads", {0, 1, 2, 1});
  expect_gpu_matches_cpu(c, kExact);
}

TEST(CudaNnConv, ResidualHalfTypes) {
  TARMAC_REQUIRE_GPU();
  for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
    SCOPED_TRACE(dtype_name(dt));
    expect_gpu_matches_cpu(residual_conv(dt, true, "Relu", 48), kHalf);
    expect_gpu_matches_cpu(residual_conv(dt, false, "", 49), kHalf);
  }
}

TEST(CudaNnConv, ResidualWithWrongShapeIsRefused) {
  TARMAC_REQUIRE_GPU();
  GpuCase c = conv("Conv", DType::kFloat32, {2, 6, 12, 10}, {8, 6, 3, 3}, 8, 50);
  c.input(rnd(DType::kFloat32, {2, 8, 1, 1}, 51));  // broadcasting is not part of the spec
  c.domain = "tarmac";
  c.attr_ints("pads", {1, 1, 1, 1});
  EXPECT_FALSE(run_gpu_case(c).is_ok());
}

TEST(CudaNnConv, EmptyBatch) {
  TARMAC_REQUIRE_GPU();
  expect_gpu_matches_cpu(conv("Conv", DType::kFloat32, {0, 3, 5, 5}, {4, 3, 3, 3}, 4, 19), kExact);
}

TEST(CudaNnConvTranspose, Basic) {
  TARMAC_REQUIRE_GPU();
  GpuCase c = conv("ConvTranspose", DType::kFloat32, {2, 4, 7, 9}, {4, 6, 3, 3}, 6, 20);
  c.attr_ints("strides", {2, 2}).attr_ints("pads", {1, 1, 1, 1});
  expect_gpu_matches_cpu(c, kExact);
  expect_gpu_matches_cpu(conv("ConvTranspose", DType::kFloat32, {1, 3, 5, 6}, {3, 2, 2, 2}, 0, 21),
                         kExact);
}

TEST(CudaNnConvTranspose, AsymmetricOutputPaddingGroups) {
  TARMAC_REQUIRE_GPU();
  GpuCase c = conv("ConvTranspose", DType::kFloat32, {1, 4, 6, 5}, {4, 3, 4, 3}, 6, 22);
  c.attr_int("group", 2).attr_ints("strides", {2, 3}).attr_ints("pads", {0, 2, 1, 0});
  c.attr_ints("output_padding", {1, 2});
  expect_gpu_matches_cpu(c, kExact);
  GpuCase d = conv("ConvTranspose", DType::kFloat32, {2, 3, 5, 5}, {3, 2, 3, 3}, 2, 23);
  d.attr_ints("strides", {2, 2}).attr_ints("dilations", {2, 1}).attr_ints("output_padding", {1, 1});
  expect_gpu_matches_cpu(d, kExact);
}

TEST(CudaNnConvTranspose, AutoPadAndOutputShape) {
  TARMAC_REQUIRE_GPU();
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER"}) {
    GpuCase c = conv("ConvTranspose", DType::kFloat32, {1, 2, 5, 7}, {2, 3, 4, 3}, 3, 24);
    c.attr_string("auto_pad", mode).attr_ints("strides", {2, 2});
    expect_gpu_matches_cpu(c, kExact);
  }
  GpuCase o = conv("ConvTranspose", DType::kFloat32, {1, 2, 4, 4}, {2, 2, 3, 3}, 2, 25);
  o.attr_ints("strides", {2, 2}).attr_ints("output_shape", {10, 9});  // larger than the full 9x9
  expect_gpu_matches_cpu(o, kExact);
}

TEST(CudaNnConvTranspose, OneDimensionalHalfAndFused) {
  TARMAC_REQUIRE_GPU();
  GpuCase c = conv("ConvTranspose", DType::kFloat32, {2, 3, 17}, {3, 5, 4}, 5, 26);
  c.attr_ints("strides", {3}).attr_ints("pads", {1, 2});
  expect_gpu_matches_cpu(c, kExact);
  GpuCase h = conv("ConvTranspose", DType::kFloat16, {1, 8, 9, 9}, {8, 4, 2, 2}, 4, 27);
  h.attr_ints("strides", {2, 2});
  expect_gpu_matches_cpu(h, kHalf);
  GpuCase f = conv("ConvTranspose", DType::kFloat32, {1, 4, 6, 6}, {4, 4, 3, 3}, 4, 28);
  f.domain = "tarmac";
  f.attr_ints("strides", {2, 2}).attr_ints("pads", {1, 0, 1, 0}).attr_string("activation", "Silu");
  expect_gpu_matches_cpu(f, kExact);
}

/// Channels-last internal Conv / ConvTranspose (ir/fused_ops.h): X [N, H, W, C], the weight
/// permuted by (0, 2, 3, 1), an optional residual shaped like the NHWC output.
GpuCase nhwc_conv(const std::string& op, DType dt, const Dims& x_nhwc, const Dims& w_nhwc,
                  int64_t bias, uint64_t seed, const std::string& act) {
  GpuCase c = conv(op, dt, x_nhwc, w_nhwc, bias, seed);
  c.domain = "tarmac";
  c.attr_string("layout", "NHWC");
  if (!act.empty()) c.attr_string("activation", act);
  return c;
}

TEST(CudaNnConv, ChannelsLastAllFloatTypes) {
  TARMAC_REQUIRE_GPU();
  for (DType dt : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    SCOPED_TRACE(dtype_name(dt));
    const double tol = dt == DType::kFloat32 ? kExact : kHalf;
    // 3x3, odd extents, channels not a multiple of 8, bias + Relu in the epilogue.
    GpuCase c = nhwc_conv("Conv", dt, {2, 13, 11, 5}, {7, 3, 3, 5}, 7, 60, "Relu");
    c.attr_ints("pads", {1, 1, 1, 1});
    expect_gpu_matches_cpu(c, tol);
    // Strided, tensor-core friendly channels, SiLU.
    GpuCase s = nhwc_conv("Conv", dt, {1, 24, 20, 16}, {32, 3, 3, 16}, 32, 61, "Silu");
    s.attr_ints("pads", {1, 1, 1, 1}).attr_ints("strides", {2, 2});
    expect_gpu_matches_cpu(s, tol);
    // Depthwise.
    GpuCase d = nhwc_conv("Conv", dt, {2, 9, 10, 8}, {8, 3, 3, 1}, 8, 62, "");
    d.attr_int("group", 8).attr_ints("pads", {1, 1, 1, 1});
    expect_gpu_matches_cpu(d, tol);
    // Residual shaped like the NHWC output.
    GpuCase r = nhwc_conv("Conv", dt, {2, 12, 10, 6}, {8, 3, 3, 6}, 8, 63, "Relu");
    r.input(rnd(dt, {2, 12, 10, 8}, 64));
    r.attr_ints("pads", {1, 1, 1, 1});
    expect_gpu_matches_cpu(r, tol);
    // ConvTranspose: the PointPillars upsampling (kernel = stride), with bias and Relu.
    GpuCase t = nhwc_conv("ConvTranspose", dt, {1, 6, 5, 16}, {16, 2, 2, 8}, 8, 65, "Relu");
    t.attr_ints("strides", {2, 2});
    expect_gpu_matches_cpu(t, tol);
  }
}

TEST(CudaNnConv, ChannelsLastRefusesWhatNeedsAPaddedCopy) {
  TARMAC_REQUIRE_GPU();
  GpuCase c = nhwc_conv("Conv", DType::kFloat16, {1, 8, 8, 4}, {4, 2, 2, 4}, 0, 66, "");
  c.attr_ints("pads", {0, 0, 1, 1});
  const auto r = run_gpu_case(c);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("NHWC"), std::string::npos) << r.status().message();
}

TEST(CudaNnConv, RefusesWhatItDoesNotSupport) {
  TARMAC_REQUIRE_GPU();
  GpuCase c("Einsum", 17);
  c.input(random_tensor(DType::kFloat32, {3, 4}, 1))
      .input(random_tensor(DType::kFloat32, {4, 5}, 2));
  c.attr_string("equation", "ij,jk->ik");
  EXPECT_FALSE(run_gpu_case(c).is_ok());
  GpuCase d = conv("Conv", DType::kFloat32, {1, 1, 2, 2, 2, 2}, {1, 1, 1, 1, 1, 1}, 0, 3);  // 4-D
  EXPECT_FALSE(run_gpu_case(d).is_ok());
}

}  // namespace
}  // namespace tarmac::testing

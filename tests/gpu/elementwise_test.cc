// CUDA elementwise family, unary ops and the fused-activation launcher, against the CPU
// reference. Binary/variadic ops: elementwise_binary_test.cc; Clip, Cast, Dropout, quantization:
// elementwise_misc_test.cc.
#include <cuda_runtime.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backends/cuda/cuda_common.h"
#include "backends/cuda/kernels/elementwise.cuh"
#include "gpu_test_util.h"
#include "ir/fused_ops.h"

namespace tarmac::testing {
namespace {

constexpr DType kFloatTypes[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16,
                                 DType::kFloat64};

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
    const double u = (static_cast<double>(f.data<float>()[i]) + 1.0) / 2.0;  // [0, 1]
    v.data<int64_t>()[i] = std::min<int64_t>(hi, lo + static_cast<int64_t>(u * (hi - lo + 1)));
  }
  return v.cast(t);
}

double tol_for(DType t, bool math) {
  switch (t) {
    case DType::kFloat16:
    case DType::kBFloat16:
      return 1e-2;
    case DType::kFloat64:
      return 1e-12;
    default:
      return math ? 1e-5 : 1e-6;
  }
}

struct UnarySpec {
  std::string op;
  int64_t opset = 17;
  float scale = 1.f, shift = 0.f;  // input range
  bool math = true;                // transcendental: float32 tolerance 1e-5
};

const std::vector<UnarySpec>& float_unary_ops() {
  static const std::vector<UnarySpec> ops = {
      {"Relu", 17, 3.f, 0.f, false},
      {"Neg", 17, 3.f, 0.f, false},
      {"Abs", 17, 3.f, 0.f, false},
      {"Sign", 17, 3.f, 0.f, false},
      {"Floor", 17, 3.f, 0.f, false},
      {"Ceil", 17, 3.f, 0.f, false},
      {"Round", 17, 3.f, 0.f, false},
      {"Reciprocal", 17, 3.f, 0.f, false},
      {"Sqrt", 17, 2.f, 2.1f, false},  // positive inputs
      {"Exp", 17, 5.f},
      {"Log", 17, 2.f, 2.1f},
      {"Sin", 17, 6.f},
      {"Cos", 17, 6.f},
      {"Tanh", 17, 4.f},
      {"Erf", 17, 3.f},
      {"Sigmoid", 17, 8.f},
      {"Softplus", 17, 8.f},
      {"Elu", 17, 4.f},
      {"Selu", 17, 4.f},
      {"LeakyRelu", 17, 4.f, 0.f, false},
      {"HardSigmoid", 17, 6.f, 0.f, false},
      {"HardSwish", 17, 6.f, 0.f, false},
      {"Gelu", 20, 4.f},
  };
  return ops;
}

TEST(CudaElementwiseUnary, FloatOpsAllSizesFloat32) {
  TARMAC_REQUIRE_GPU();
  for (const UnarySpec& s : float_unary_ops()) {
    for (const Dims& d : std::vector<Dims>{{1}, {3}, {17}, {1000003}, {2, 3, 5}, {}, {0}}) {
      SCOPED_TRACE(s.op + " " + dims_to_string(d));
      GpuCase c(s.op, s.opset);
      c.input(rnd(DType::kFloat32, d, 11, s.scale, s.shift));
      expect_gpu_matches_cpu(c, tol_for(DType::kFloat32, s.math));
    }
  }
}

TEST(CudaElementwiseUnary, FloatOpsOtherFloatTypes) {
  TARMAC_REQUIRE_GPU();
  for (const UnarySpec& s : float_unary_ops()) {
    for (DType t : {DType::kFloat16, DType::kBFloat16, DType::kFloat64}) {
      for (const Dims& d : std::vector<Dims>{{17}, {4, 1031}}) {
        SCOPED_TRACE(s.op + " " + std::string(dtype_name(t)) + " " + dims_to_string(d));
        GpuCase c(s.op, s.opset);
        c.input(rnd(t, d, 12, s.scale, s.shift));
        expect_gpu_matches_cpu(c, tol_for(t, s.math));
      }
    }
  }
}

TEST(CudaElementwiseUnary, Attributes) {
  TARMAC_REQUIRE_GPU();
  for (DType t : kFloatTypes) {
    SCOPED_TRACE(dtype_name(t));
    const Dims d = {3, 333};
    GpuCase elu("Elu");
    elu.attr_float("alpha", 0.35f).input(rnd(t, d, 1, 4.f));
    expect_gpu_matches_cpu(elu, tol_for(t, true));
    GpuCase selu("Selu");
    selu.attr_float("alpha", 1.5f).attr_float("gamma", 0.75f).input(rnd(t, d, 2, 4.f));
    expect_gpu_matches_cpu(selu, tol_for(t, true));
    GpuCase leaky("LeakyRelu");
    leaky.attr_float("alpha", 0.3f).input(rnd(t, d, 3, 4.f));
    expect_gpu_matches_cpu(leaky, tol_for(t, false));
    GpuCase hs("HardSigmoid");
    hs.attr_float("alpha", 0.35f).attr_float("beta", 0.4f).input(rnd(t, d, 4, 4.f));
    expect_gpu_matches_cpu(hs, tol_for(t, false));
    GpuCase gelu_none("Gelu", 20);
    gelu_none.attr_string("approximate", "none").input(rnd(t, d, 5, 4.f));
    expect_gpu_matches_cpu(gelu_none, tol_for(t, true));
    GpuCase gelu_tanh("Gelu", 20);
    gelu_tanh.attr_string("approximate", "tanh").input(rnd(t, d, 6, 4.f));
    expect_gpu_matches_cpu(gelu_tanh, tol_for(t, true));
  }
}

TEST(CudaElementwiseUnary, InternalGelu) {
  TARMAC_REQUIRE_GPU();
  // The optimizer's recognized Gelu in the "tarmac" domain (models before opset 20).
  for (const char* approx : {"none", "tanh"}) {
    GpuCase c("Gelu", 17);
    c.domain = "tarmac";
    c.attr_string("approximate", approx).input(rnd(DType::kFloat32, {5, 77}, 7, 4.f));
    expect_gpu_matches_cpu(c, 1e-5);
  }
}

TEST(CudaElementwiseUnary, RoundHalfToEvenAndSpecialValues) {
  TARMAC_REQUIRE_GPU();
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> v = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f,  3.5f,   0.49999997f,
                                -0.f,  0.f,   inf,   -inf, nan,  1e30f, -1e30f, 100.f};
  const Tensor x = Tensor::from_vector<float>(v, {16});
  for (DType t : kFloatTypes) {
    for (const char* op : {"Round", "Floor", "Ceil", "Sign", "Abs", "Relu", "Neg", "Sigmoid",
                           "Softplus", "Tanh", "Exp", "HardSigmoid", "HardSwish", "Erf"}) {
      SCOPED_TRACE(std::string(op) + " " + std::string(dtype_name(t)));
      GpuCase c(op);
      c.input(t == DType::kFloat32 ? x : x.cast(t));
      expect_gpu_matches_cpu(c, tol_for(t, true));
    }
  }
}

TEST(CudaElementwiseUnary, IntegerOpsAreExact) {
  TARMAC_REQUIRE_GPU();
  for (DType t : {DType::kInt8, DType::kInt32, DType::kInt64}) {
    for (const char* op : {"Abs", "Neg", "Sign", "Relu"}) {
      SCOPED_TRACE(std::string(op) + " " + std::string(dtype_name(t)));
      GpuCase c(op);
      c.input(ints(t, {1000}, 3, -100, 100));
      expect_gpu_matches_cpu(c, 0);
    }
  }
  // The most negative value wraps: Abs/Neg of INT_MIN stay INT_MIN.
  GpuCase i8_abs("Abs");
  i8_abs.input(Tensor::from_vector<int8_t>({-128, -127, 0, 127, -1}, {5}));
  expect_gpu_matches_cpu(i8_abs, 0);
  GpuCase i32_neg("Neg");
  i32_neg.input(Tensor::from_vector<int32_t>({std::numeric_limits<int32_t>::min(), 5, -7}, {3}));
  expect_gpu_matches_cpu(i32_neg, 0);
  GpuCase i64_abs("Abs");
  i64_abs.input(Tensor::from_vector<int64_t>({std::numeric_limits<int64_t>::min(), -3, 4}, {3}));
  expect_gpu_matches_cpu(i64_abs, 0);
  for (const char* op : {"Abs", "Sign"}) {
    GpuCase u8(op);
    u8.input(ints(DType::kUint8, {17}, 4, 0, 255));
    expect_gpu_matches_cpu(u8, 0);
  }
}

TEST(CudaElementwiseUnary, Not) {
  TARMAC_REQUIRE_GPU();
  for (const Dims& d : std::vector<Dims>{{1}, {17}, {1000003}, {0}}) {
    GpuCase c("Not");
    c.input(random_tensor(DType::kBool, d, 9));
    expect_gpu_matches_cpu(c, 0);
  }
}

TEST(CudaElementwiseUnary, RefusesWhatItDoesNotSupport) {
  TARMAC_REQUIRE_GPU();
  GpuCase sqrt_int("Sqrt");
  sqrt_int.input(ints(DType::kInt32, {4}, 1, 0, 9));
  EXPECT_FALSE(run_gpu_case(sqrt_int).is_ok());
  GpuCase neg_u8("Neg");
  neg_u8.input(ints(DType::kUint8, {4}, 1, 0, 9));
  EXPECT_FALSE(run_gpu_case(neg_u8).is_ok());
  GpuCase gelu("Gelu", 20);
  gelu.attr_string("approximate", "erf").input(rnd(DType::kFloat32, {4}, 1));
  EXPECT_FALSE(run_gpu_case(gelu).is_ok());
  GpuCase not_f("Not");
  not_f.input(rnd(DType::kFloat32, {4}, 1));
  EXPECT_FALSE(run_gpu_case(not_f).is_ok());
}

// ---- launch_activation_inplace (fused epilogues) ------------------------------------------

TEST(CudaElementwiseActivation, InplaceMatchesReferenceFormula) {
  TARMAC_REQUIRE_GPU();
  const std::vector<Activation> acts = {
      Activation::kNone,      Activation::kRelu,    Activation::kClip,
      Activation::kLeakyRelu, Activation::kSigmoid, Activation::kHardSigmoid,
      Activation::kHardSwish, Activation::kSilu,    Activation::kGelu,
      Activation::kGeluTanh,  Activation::kMish,    Activation::kTanh};
  const int64_t n = 100003;
  for (DType t : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    for (Activation act : acts) {
      SCOPED_TRACE(std::string(activation_name(act)) + " " + std::string(dtype_name(t)));
      const float alpha =
          act == Activation::kClip ? -0.7f : (act == Activation::kLeakyRelu ? 0.1f : 0.3f);
      const float beta = act == Activation::kClip ? 1.2f : 0.45f;
      const Tensor x = rnd(t, {n}, 21, 25.f);  // covers Mish's x > 20 branch
      // Reference: apply_activation in double on the stored values, rounded to t.
      Tensor ref32 = Tensor::zeros(DType::kFloat32, {n});
      for (int64_t i = 0; i < n; ++i)
        ref32.data<float>()[i] =
            static_cast<float>(apply_activation<double>(act, x.as_double(i), alpha, beta));
      const Tensor ref = t == DType::kFloat32 ? ref32 : ref32.cast(t);

      auto buf = cuda::DeviceBuffer::allocate(x.nbytes());
      ASSERT_TRUE(buf.is_ok()) << buf.status().message();
      ASSERT_EQ(cudaMemcpy(buf->get(), x.raw(), x.nbytes(), cudaMemcpyHostToDevice), cudaSuccess);
      const Status s = cuda::launch_activation_inplace(t, buf->get(), n, act, alpha, beta, nullptr);
      ASSERT_TRUE(s.is_ok()) << s.message();
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      Tensor got = Tensor::zeros(t, {n});
      ASSERT_EQ(cudaMemcpy(got.raw(), buf->get(), x.nbytes(), cudaMemcpyDeviceToHost), cudaSuccess);
      EXPECT_LE(relative_l2_error(got, ref), t == DType::kFloat32 ? 1e-5 : 1e-2);
    }
  }
  // Empty tensors launch nothing; float64 is refused.
  EXPECT_TRUE(
      cuda::launch_activation_inplace(DType::kFloat32, nullptr, 0, Activation::kRelu, 0, 0, nullptr)
          .is_ok());
  EXPECT_FALSE(
      cuda::launch_activation_inplace(DType::kFloat64, nullptr, 0, Activation::kRelu, 0, 0, nullptr)
          .is_ok());
}

}  // namespace
}  // namespace tarmac::testing

// CUDA Gemm and MatMul (cuBLASLt) against the CPU reference.
#include "gpu_test_util.h"

namespace tarmac::testing {
namespace {

Tensor rnd(DType dt, const Dims& d, uint64_t seed) {
  Tensor t = random_tensor(DType::kFloat32, d, seed);
  return dt == DType::kFloat32 ? t : t.cast(dt);
}

constexpr double kExact = 1e-5;
constexpr double kTf32 = 1e-3;
constexpr double kHalf = 1e-2;

TEST(CudaNnGemm, TransposesAndCShapes) {
  TARMAC_REQUIRE_GPU();
  const int64_t m = 17, k = 33, n = 9;
  const std::vector<Dims> c_shapes = {{}, {n}, {1, n}, {m, 1}, {m, n}, {1}, {1, 1}};
  uint64_t seed = 1;
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      for (size_t ci = 0; ci <= c_shapes.size(); ++ci) {
        for (float beta : {1.0f, 0.5f}) {
          GpuCase c("Gemm", 13);
          c.input(rnd(DType::kFloat32, ta ? Dims{k, m} : Dims{m, k}, seed++));
          c.input(rnd(DType::kFloat32, tb ? Dims{n, k} : Dims{k, n}, seed++), true);
          if (ci < c_shapes.size()) c.input(rnd(DType::kFloat32, c_shapes[ci], seed++), true);
          c.attr_int("transA", ta).attr_int("transB", tb).attr_float("alpha", 1.5f);
          c.attr_float("beta", beta);
          c.config.allow_tf32 = false;
          SCOPED_TRACE(::testing::Message()
                       << "transA " << ta << " transB " << tb << " C " << ci << " beta " << beta);
          expect_gpu_matches_cpu(c, kExact);
        }
      }
    }
  }
}

TEST(CudaNnGemm, Tf32HalfAndDouble) {
  TARMAC_REQUIRE_GPU();
  for (DType dt : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64}) {
    GpuCase c("Gemm", 13);
    c.input(rnd(dt, {64, 130}, 1)).input(rnd(dt, {130, 47}, 2), true).input(rnd(dt, {47}, 3), true);
    c.attr_int("transB", 0);
    const double tol = dt == DType::kFloat32 ? kTf32 : dt == DType::kFloat64 ? 1e-12 : kHalf;
    SCOPED_TRACE(dtype_name(dt));
    expect_gpu_matches_cpu(c, tol);
  }
}

TEST(CudaNnGemm, BetaZeroIgnoresC) {
  TARMAC_REQUIRE_GPU();
  GpuCase c("Gemm", 13);
  c.input(rnd(DType::kFloat32, {5, 3}, 1)).input(rnd(DType::kFloat32, {3, 4}, 2));
  c.input(rnd(DType::kFloat32, {5, 4}, 3)).attr_float("beta", 0.0f);
  c.config.allow_tf32 = false;
  expect_gpu_matches_cpu(c, kExact);
}

TEST(CudaNnGemm, FusedActivations) {
  TARMAC_REQUIRE_GPU();
  for (const char* act : {"Relu", "GeluTanh", "Gelu", "Sigmoid", "Tanh"}) {
    for (bool vec_c : {true, false}) {
      GpuCase c("Gemm", 13);
      c.domain = "tarmac";
      c.input(rnd(DType::kFloat32, {19, 24}, 1)).input(rnd(DType::kFloat32, {40, 24}, 2), true);
      c.input(rnd(DType::kFloat32, vec_c ? Dims{40} : Dims{19, 1}, 3), true);
      c.attr_int("transB", 1).attr_string("activation", act);
      c.config.allow_tf32 = false;
      SCOPED_TRACE(act);
      expect_gpu_matches_cpu(c, kExact);
    }
  }
  GpuCase h("Gemm", 13);
  h.domain = "tarmac";
  h.input(rnd(DType::kFloat16, {32, 64}, 4)).input(rnd(DType::kFloat16, {64, 48}, 5), true);
  h.input(rnd(DType::kFloat16, {48}, 6), true).attr_string("activation", "Relu");
  expect_gpu_matches_cpu(h, kHalf);
}

TEST(CudaNnMatMul, VectorsAndMatrices) {
  TARMAC_REQUIRE_GPU();
  const std::vector<std::pair<Dims, Dims>> shapes = {
      {{7}, {7}},       {{7}, {7, 5}},    {{3, 7}, {7}},    {{17, 33}, {33, 9}},
      {{1, 1}, {1, 1}}, {{2, 4, 7}, {7}}, {{7}, {3, 7, 5}}, {{64, 128}, {128, 96}},
  };
  uint64_t seed = 1;
  for (const auto& [a, b] : shapes) {
    GpuCase c("MatMul");
    c.input(rnd(DType::kFloat32, a, seed));
    c.input(rnd(DType::kFloat32, b, seed + 1));
    seed += 2;
    c.config.allow_tf32 = false;
    SCOPED_TRACE(dims_to_string(a) + " x " + dims_to_string(b));
    expect_gpu_matches_cpu(c, kExact);
  }
}

TEST(CudaNnMatMul, BatchedBroadcast) {
  TARMAC_REQUIRE_GPU();
  const std::vector<std::pair<Dims, Dims>> shapes = {
      {{2, 3, 5, 7}, {7, 4}},        // B shared: rows of A stacked
      {{5, 7}, {2, 7, 4}},           // A shared: stride 0
      {{3, 5, 7}, {3, 7, 4}},        // plain strided batch
      {{2, 1, 5, 7}, {1, 3, 7, 4}},  // mixed broadcast: outer loop
      {{2, 3, 5, 7}, {3, 7, 4}},     // B broadcast over the leading axis
      {{4, 1, 3, 5, 7}, {4, 2, 1, 7, 6}},
      {{0, 5, 7}, {7, 4}},  // empty
  };
  uint64_t seed = 50;
  for (const auto& [a, b] : shapes) {
    GpuCase c("MatMul");
    c.input(rnd(DType::kFloat32, a, seed));
    c.input(rnd(DType::kFloat32, b, seed + 1), seed % 4 == 0);  // B sometimes constant
    seed += 2;
    c.config.allow_tf32 = false;
    SCOPED_TRACE(dims_to_string(a) + " x " + dims_to_string(b));
    expect_gpu_matches_cpu(c, kExact);
  }
}

TEST(CudaNnMatMul, Tf32AndHalfTypes) {
  TARMAC_REQUIRE_GPU();
  for (DType dt : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64}) {
    GpuCase c("MatMul");
    c.input(rnd(dt, {2, 3, 33, 65}, 1)).input(rnd(dt, {3, 65, 17}, 2));
    const double tol = dt == DType::kFloat32 ? kTf32 : dt == DType::kFloat64 ? 1e-12 : kHalf;
    SCOPED_TRACE(dtype_name(dt));
    expect_gpu_matches_cpu(c, tol);
  }
}

TEST(CudaNnMatMul, FusedBiasAndActivation) {
  TARMAC_REQUIRE_GPU();
  struct Case {
    Dims a, b, bias;
    const char* act;
  };
  const std::vector<Case> cases = {
      {{4, 9, 16}, {16, 24}, {24}, "Relu"},      // cuBLASLt RELU_BIAS
      {{4, 9, 16}, {16, 24}, {24}, "GeluTanh"},  // cuBLASLt GELU_BIAS
      {{4, 9, 16}, {16, 24}, {24}, ""},          // cuBLASLt BIAS
      {{4, 9, 16}, {16, 24}, {1, 24}, "Gelu"},   // bias epilogue + own activation
      {{4, 9, 16}, {16, 24}, {9, 1}, "Silu"},    // general broadcast bias
      {{2, 3, 5, 8}, {3, 8, 6}, {3, 1, 6}, "Relu"},
      {{5, 8}, {8, 6}, {}, "Relu"},  // no bias, cuBLASLt RELU
      {{5, 8}, {8, 6}, {}, "HardSigmoid"},
  };
  uint64_t seed = 100;
  for (const Case& k : cases) {
    GpuCase c("MatMul");
    c.domain = "tarmac";
    c.input(rnd(DType::kFloat32, k.a, seed));
    c.input(rnd(DType::kFloat32, k.b, seed + 1), true);
    if (!k.bias.empty()) c.input(rnd(DType::kFloat32, k.bias, seed + 2), true);
    seed += 3;
    if (*k.act) c.attr_string("activation", k.act);
    c.config.allow_tf32 = false;
    SCOPED_TRACE(dims_to_string(k.bias) + " " + k.act);
    expect_gpu_matches_cpu(c, kExact);
  }
  GpuCase h("MatMul");
  h.domain = "tarmac";
  h.input(rnd(DType::kFloat16, {3, 16, 32}, 7)).input(rnd(DType::kFloat16, {32, 64}, 8), true);
  h.input(rnd(DType::kFloat16, {64}, 9), true).attr_string("activation", "GeluTanh");
  expect_gpu_matches_cpu(h, kHalf);
}

TEST(CudaNnMatMul, RefusesIntegers) {
  TARMAC_REQUIRE_GPU();
  GpuCase c("MatMul");
  c.input(random_tensor(DType::kInt32, {3, 4}, 1)).input(random_tensor(DType::kInt32, {4, 2}, 2));
  EXPECT_FALSE(run_gpu_case(c).is_ok());
}

}  // namespace
}  // namespace tarmac::testing

// CUDA BatchNormalization, InstanceNormalization, GroupNormalization and LayerNormalization
// against the CPU reference.
#include <cmath>

#include "gpu_test_util.h"

namespace tarmac::testing {
namespace {

Tensor rnd(DType dt, const Dims& d, uint64_t seed) {
  Tensor t = random_tensor(DType::kFloat32, d, seed);
  return dt == DType::kFloat32 ? t : t.cast(dt);
}

/// Random values in [0.1, 1.1] (variances).
Tensor positive(DType dt, const Dims& d, uint64_t seed) {
  Tensor t = random_tensor(DType::kFloat32, d, seed);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = std::fabs(p[i]) + 0.1f;
  return dt == DType::kFloat32 ? t : t.cast(dt);
}

/// Random values with a large common offset (tests the variance's numerical stability).
Tensor offset(const Dims& d, uint64_t seed, float by) {
  Tensor t = random_tensor(DType::kFloat32, d, seed);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] += by;
  return t;
}

TEST(CudaNnNorm, BatchNormalization) {
  TARMAC_REQUIRE_GPU();
  for (DType dt : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64}) {
    for (const Dims& x : {Dims{2, 3, 17, 19}, Dims{5, 7}, Dims{1, 4, 3, 5, 7}, Dims{0, 3, 2}}) {
      const int64_t c = x[1];
      GpuCase g("BatchNormalization", 15);
      g.input(rnd(dt, x, 1)).input(rnd(dt, {c}, 2), true).input(rnd(dt, {c}, 3), true);
      g.input(rnd(dt, {c}, 4), true).input(positive(dt, {c}, 5), true);
      g.attr_float("epsilon", 1e-3f);
      SCOPED_TRACE(std::string(dtype_name(dt)) + " " + dims_to_string(x));
      expect_gpu_matches_cpu(g, dt == DType::kFloat32   ? 1e-6
                                : dt == DType::kFloat64 ? 1e-12
                                                        : 1e-2);
    }
  }
  // float16 data with float32 statistics (opset 15 allows differing types).
  GpuCase m("BatchNormalization", 15);
  m.input(rnd(DType::kFloat16, {2, 6, 9}, 6)).input(rnd(DType::kFloat16, {6}, 7), true);
  m.input(rnd(DType::kFloat16, {6}, 8), true).input(rnd(DType::kFloat32, {6}, 9));
  m.input(positive(DType::kFloat32, {6}, 10));
  expect_gpu_matches_cpu(m, 1e-2);
}

TEST(CudaNnNorm, BatchNormalizationRefusesTraining) {
  TARMAC_REQUIRE_GPU();
  GpuCase g("BatchNormalization", 15);
  g.input(rnd(DType::kFloat32, {2, 3, 4}, 1)).input(rnd(DType::kFloat32, {3}, 2));
  g.input(rnd(DType::kFloat32, {3}, 3)).input(rnd(DType::kFloat32, {3}, 4));
  g.input(positive(DType::kFloat32, {3}, 5)).attr_int("training_mode", 1);
  EXPECT_FALSE(run_gpu_case(g).is_ok());
}

TEST(CudaNnNorm, InstanceNormalization) {
  TARMAC_REQUIRE_GPU();
  for (DType dt : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
    for (const Dims& x :
         {Dims{2, 3, 17, 19}, Dims{1, 5, 4096}, Dims{3, 2, 1}, Dims{1, 1, 3, 5, 7}}) {
      GpuCase g("InstanceNormalization");
      g.input(rnd(dt, x, 1)).input(rnd(dt, {x[1]}, 2), true).input(rnd(dt, {x[1]}, 3), true);
      SCOPED_TRACE(std::string(dtype_name(dt)) + " " + dims_to_string(x));
      expect_gpu_matches_cpu(g, dt == DType::kFloat32 ? 1e-5 : 1e-2);
    }
  }
}

TEST(CudaNnNorm, GroupNormalization) {
  TARMAC_REQUIRE_GPU();
  for (int64_t opset : {18, 21}) {
    for (DType dt : {DType::kFloat32, DType::kFloat16}) {
      const int64_t groups = 4;
      const Dims x{2, 8, 33, 31};
      const int64_t np = opset >= 21 ? x[1] : groups;
      GpuCase g("GroupNormalization", opset);
      g.input(rnd(dt, x, 1)).input(rnd(dt, {np}, 2), true).input(rnd(dt, {np}, 3), true);
      g.attr_int("num_groups", groups).attr_float("epsilon", 1e-4f);
      SCOPED_TRACE(::testing::Message() << "opset " << opset << " " << dtype_name(dt));
      expect_gpu_matches_cpu(g, dt == DType::kFloat32 ? 1e-5 : 1e-2);
    }
  }
  GpuCase one("GroupNormalization", 21);
  one.input(rnd(DType::kFloat32, {1, 6, 5000}, 4)).input(rnd(DType::kFloat32, {6}, 5));
  one.input(rnd(DType::kFloat32, {6}, 6)).attr_int("num_groups", 1);
  expect_gpu_matches_cpu(one, 1e-5);
}

TEST(CudaNnNorm, LayerNormalization) {
  TARMAC_REQUIRE_GPU();
  struct Case {
    Dims x;
    int64_t axis;
    Dims scale, bias;  // bias {} = absent
  };
  const std::vector<Case> cases = {
      {{4, 4096}, -1, {4096}, {4096}},
      {{3, 7, 1000}, -1, {1000}, {1000}},
      {{2, 3, 5, 7}, 1, {3, 5, 7}, {}},
      {{2, 3, 5, 7}, 1, {7}, {5, 1}},              // parameters broadcast inside the row
      {{2, 3, 5, 7}, 2, {3, 1, 1}, {2, 3, 5, 7}},  // parameters varying over leading dims
      {{17, 1}, -1, {1}, {1}},
      {{5, 33}, 0, {5, 33}, {33}},
  };
  for (DType dt : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64}) {
    for (const Case& k : cases) {
      GpuCase g("LayerNormalization");
      g.input(rnd(dt, k.x, 1)).input(rnd(dt, k.scale, 2), true);
      if (!k.bias.empty()) g.input(rnd(dt, k.bias, 3), true);
      g.attr_int("axis", k.axis).attr_float("epsilon", 1e-5f);
      SCOPED_TRACE(std::string(dtype_name(dt)) + " " + dims_to_string(k.x) + " axis " +
                   std::to_string(k.axis));
      expect_gpu_matches_cpu(g, dt == DType::kFloat32   ? 1e-5
                                : dt == DType::kFloat64 ? 1e-12
                                                        : 1e-2);
    }
  }
}

TEST(CudaNnNorm, LayerNormalizationStatsAndOffsetData) {
  TARMAC_REQUIRE_GPU();
  GpuCase g("LayerNormalization");
  g.input(offset({6, 4096}, 1, 100.0f)).input(rnd(DType::kFloat32, {4096}, 2));
  g.input(rnd(DType::kFloat32, {4096}, 3));
  g.num_outputs = 3;
  expect_gpu_matches_cpu(g, 1e-5);
  GpuCase internal("LayerNormalization", 13);  // the fused form in a pre-17 model
  internal.domain = "tarmac";
  internal.input(rnd(DType::kFloat32, {3, 768}, 4)).input(rnd(DType::kFloat32, {768}, 5));
  internal.input(rnd(DType::kFloat32, {768}, 6));
  expect_gpu_matches_cpu(internal, 1e-5);
}

}  // namespace
}  // namespace tarmac::testing

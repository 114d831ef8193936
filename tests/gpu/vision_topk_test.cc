// CUDA TopK against the CPU reference (values and indices exactly, ties to the lower index).
#include <limits>
#include <string>
#include <vector>

#include "gpu_test_util.h"

namespace tarmac::testing {
namespace {

Tensor input_of(DType dt, const Dims& dims, uint64_t seed) {
  if (dt == DType::kFloat16 || dt == DType::kBFloat16)
    return random_tensor(DType::kFloat32, dims, seed).cast(dt);
  return random_tensor(dt, dims, seed);
}

GpuCase topk_case(Tensor x, int64_t k, int64_t axis, int largest, int64_t opset = 11,
                  bool k_constant = true) {
  GpuCase c("TopK", opset);
  c.input(std::move(x));
  if (opset >= 10) {
    c.input(Tensor::from_vector<int64_t>({k}, {1}), k_constant);
  } else {
    c.attr_int("k", k);
  }
  c.attr_int("axis", axis);
  if (opset >= 11) c.attr_int("largest", largest).attr_int("sorted", 1);
  c.num_outputs = 2;
  return c;
}

TEST(CudaVisionTopK, AxesLargestSmallestAllTypes) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 1;
  const DType types[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64,
                         DType::kInt32,   DType::kInt64,   DType::kInt8,     DType::kUint8};
  for (DType dt : types) {
    for (int64_t axis : {0, 1, 2, -1}) {
      for (int largest : {0, 1}) {
        const Dims dims{6, 37, 5};
        const int64_t n = dims[static_cast<size_t>(axis < 0 ? axis + 3 : axis)];
        for (int64_t k : {int64_t{1}, int64_t{3}, n}) {
          SCOPED_TRACE(std::string(dtype_name(dt)) + " axis " + std::to_string(axis) + " largest " +
                       std::to_string(largest) + " k " + std::to_string(k));
          // Values are copied exactly, so even the half types compare exactly.
          expect_gpu_matches_cpu(topk_case(input_of(dt, dims, seed++), k, axis, largest), 0);
        }
      }
    }
  }
}

TEST(CudaVisionTopK, LongRowsAreMergedAcrossChunks) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 100;
  // RT-DETR-style [1, 8400] K=300, rows just above one chunk, a very long row, ties (int).
  for (int largest : {1, 0}) {
    SCOPED_TRACE("largest " + std::to_string(largest));
    expect_gpu_matches_cpu(topk_case(input_of(DType::kFloat32, {1, 8400}, seed++), 300, 1, largest),
                           0);
    expect_gpu_matches_cpu(
        topk_case(input_of(DType::kFloat16, {3, 4097}, seed++), 2048, 1, largest), 0);
    expect_gpu_matches_cpu(topk_case(input_of(DType::kInt32, {2, 100003}, seed++), 100, 1, largest),
                           0);
    expect_gpu_matches_cpu(topk_case(input_of(DType::kFloat32, {1000003}, seed++), 17, 0, largest),
                           0);
    expect_gpu_matches_cpu(topk_case(input_of(DType::kFloat64, {5000, 3}, seed++), 7, 0, largest),
                           0);
    expect_gpu_matches_cpu(topk_case(input_of(DType::kInt64, {4096, 2}, seed++), 4096, 0, largest),
                           0);
  }
}

TEST(CudaVisionTopK, ManyShortRowsOpsetsAndNaN) {
  TARMAC_REQUIRE_GPU();
  expect_gpu_matches_cpu(topk_case(input_of(DType::kFloat32, {20000, 9}, 1), 4, 1, 1), 0);
  expect_gpu_matches_cpu(topk_case(input_of(DType::kFloat32, {5, 11}, 2), 3, -1, 1, 1), 0);
  expect_gpu_matches_cpu(topk_case(input_of(DType::kFloat32, {5, 11}, 3), 3, -1, 1, 10), 0);
  expect_gpu_matches_cpu(topk_case(input_of(DType::kFloat32, {5, 11}, 4), 0, -1, 1), 0);
  Tensor x = random_tensor(DType::kFloat32, {3, 40}, 5);
  float* p = x.data<float>();
  p[3] = p[20] = std::numeric_limits<float>::quiet_NaN();
  p[40 + 5] = std::numeric_limits<float>::infinity();
  p[80 + 6] = -std::numeric_limits<float>::infinity();
  p[80 + 7] = 0.0f;
  p[80 + 8] = -0.0f;
  for (int largest : {0, 1}) expect_gpu_matches_cpu(topk_case(x, 5, 1, largest), 0);
}

TEST(CudaVisionTopK, RefusesRuntimeKAndHugeK) {
  TARMAC_REQUIRE_GPU();
  EXPECT_FALSE(
      run_gpu_case(topk_case(input_of(DType::kFloat32, {4, 9}, 1), 2, 1, 1, 11, false)).is_ok());
  EXPECT_FALSE(
      run_gpu_case(topk_case(input_of(DType::kFloat32, {1, 10000}, 1), 3000, 1, 1)).is_ok());
}

}  // namespace
}  // namespace tarmac::testing

// CUDA Softmax/LogSoftmax and CumSum against the CPU reference.
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

GpuCase softmax_case(const std::string& op, Tensor x, int64_t axis, int64_t opset) {
  GpuCase c(op, opset);
  c.input(std::move(x));
  c.attr_int("axis", axis);
  return c;
}

TEST(CudaReduceSoftmax, AxesAndOpsets) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 1;
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    for (int64_t opset : {11, 13}) {
      for (int64_t axis : {0, 1, 2, -1}) {
        SCOPED_TRACE(std::string(op) + " opset " + std::to_string(opset) + " axis " +
                     std::to_string(axis));
        expect_gpu_matches_cpu(
            softmax_case(op, random_tensor(DType::kFloat32, {3, 17, 5}, seed++), axis, opset),
            1e-5);
      }
      // Default axis (1 before opset 13, -1 from 13).
      GpuCase d(op, opset);
      d.input(random_tensor(DType::kFloat32, {2, 3, 4, 5}, seed++));
      expect_gpu_matches_cpu(d, 1e-5);
    }
  }
}

TEST(CudaReduceSoftmax, LongRowsManyShortRowsAndTypes) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 100;
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    for (DType dt : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64}) {
      const double tol = (dt == DType::kFloat16 || dt == DType::kBFloat16) ? 1e-2 : 1e-5;
      SCOPED_TRACE(std::string(op) + " " + std::string(dtype_name(dt)));
      expect_gpu_matches_cpu(softmax_case(op, input_of(dt, {2, 100003}, seed++), -1, 13), tol);
      expect_gpu_matches_cpu(softmax_case(op, input_of(dt, {20000, 7}, seed++), -1, 13), tol);
      expect_gpu_matches_cpu(softmax_case(op, input_of(dt, {513, 1024}, seed++), -1, 13), tol);
      expect_gpu_matches_cpu(softmax_case(op, input_of(dt, {9, 1025}, seed++), 1, 13), tol);
      expect_gpu_matches_cpu(softmax_case(op, input_of(dt, {1, 80, 8400}, seed++), 1, 13), tol);
      expect_gpu_matches_cpu(softmax_case(op, input_of(dt, {1}, seed++), 0, 13), tol);
      expect_gpu_matches_cpu(softmax_case(op, input_of(dt, {4, 30, 40}, seed++), 1, 11), tol);
    }
  }
}

TEST(CudaReduceSoftmax, NaNInfAndEmpty) {
  TARMAC_REQUIRE_GPU();
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    SCOPED_TRACE(op);
    Tensor x = random_tensor(DType::kFloat32, {4, 50}, 3);
    float* p = x.data<float>();
    p[7] = std::numeric_limits<float>::quiet_NaN();      // row 0: all NaN
    p[50 + 3] = std::numeric_limits<float>::infinity();  // row 1: NaN but +inf
    for (int j = 0; j < 50; ++j) p[100 + j] = -std::numeric_limits<float>::infinity();  // row 2
    p[150 + 1] = -std::numeric_limits<float>::infinity();  // row 3: one -inf
    expect_gpu_matches_cpu(softmax_case(op, x, 1, 13), 1e-5);
    expect_gpu_matches_cpu(softmax_case(op, x, 0, 13), 1e-5);  // strided columns
    expect_gpu_matches_cpu(softmax_case(op, Tensor::zeros(DType::kFloat32, {0, 5}), 1, 13), 1e-6);
  }
}

TEST(CudaReduceSoftmax, RefusesIntegers) {
  TARMAC_REQUIRE_GPU();
  auto r = run_gpu_case(softmax_case("Softmax", random_tensor(DType::kInt32, {3, 4}, 1), 1, 13));
  EXPECT_FALSE(r.is_ok());
}

// ---- CumSum -----------------------------------------------------------------------------------

GpuCase cumsum_case(Tensor x, int64_t axis, int exclusive, int reverse,
                    DType axis_dtype = DType::kInt64, bool axis_constant = true) {
  GpuCase c("CumSum", 14);
  c.input(std::move(x));
  c.input(Tensor::scalar<int64_t>(axis).cast(axis_dtype), axis_constant);
  c.attr_int("exclusive", exclusive).attr_int("reverse", reverse);
  return c;
}

TEST(CudaReduceCumSum, AxesFlagsAndTypes) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 200;
  for (DType dt : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64,
                   DType::kInt32, DType::kInt64}) {
    const double tol = (dt == DType::kFloat16 || dt == DType::kBFloat16) ? 1e-2 : 1e-5;
    for (int64_t axis : {0, 1, 2, -1}) {
      for (int exclusive : {0, 1}) {
        for (int reverse : {0, 1}) {
          SCOPED_TRACE(std::string(dtype_name(dt)) + " axis " + std::to_string(axis) + " ex " +
                       std::to_string(exclusive) + " rev " + std::to_string(reverse));
          expect_gpu_matches_cpu(
              cumsum_case(input_of(dt, {3, 17, 5}, seed++), axis, exclusive, reverse), tol);
          expect_gpu_matches_cpu(
              cumsum_case(input_of(dt, {2, 3, 1000}, seed++), axis, exclusive, reverse), tol);
        }
      }
    }
  }
  expect_gpu_matches_cpu(cumsum_case(input_of(DType::kFloat32, {7, 9}, 9), 1, 0, 0, DType::kInt32),
                         1e-5);
}

TEST(CudaReduceCumSum, LongRowsAndManyShortRows) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 300;
  for (int exclusive : {0, 1}) {
    for (int reverse : {0, 1}) {
      SCOPED_TRACE("ex " + std::to_string(exclusive) + " rev " + std::to_string(reverse));
      expect_gpu_matches_cpu(
          cumsum_case(input_of(DType::kFloat32, {1000003}, seed++), 0, exclusive, reverse), 1e-5);
      expect_gpu_matches_cpu(
          cumsum_case(input_of(DType::kInt64, {3, 100001}, seed++), 1, exclusive, reverse), 0);
      expect_gpu_matches_cpu(
          cumsum_case(input_of(DType::kInt32, {2, 5000, 3}, seed++), 1, exclusive, reverse), 0);
      expect_gpu_matches_cpu(
          cumsum_case(input_of(DType::kFloat32, {50000, 3}, seed++), 1, exclusive, reverse), 1e-5);
    }
  }
}

TEST(CudaReduceCumSum, RefusesRuntimeAxis) {
  TARMAC_REQUIRE_GPU();
  auto r = run_gpu_case(cumsum_case(input_of(DType::kFloat32, {3, 4}, 1), 1, 0, 0, DType::kInt64,
                                    /*axis_constant=*/false));
  EXPECT_FALSE(r.is_ok());
}

}  // namespace
}  // namespace tarmac::testing

// CUDA Reduce* and ArgMax/ArgMin against the CPU reference.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gpu_test_util.h"

namespace tarmac::testing {
namespace {

const char* const kReduceOps[] = {"ReduceSum",  "ReduceMean",      "ReduceMax", "ReduceMin",
                                  "ReduceProd", "ReduceSumSquare", "ReduceL2"};

Tensor axes_tensor(const std::vector<int64_t>& axes) {
  return Tensor::from_vector<int64_t>(axes, {static_cast<int64_t>(axes.size())});
}

Tensor input_of(DType dt, const Dims& dims, uint64_t seed) {
  if (dt == DType::kFloat16 || dt == DType::kBFloat16)
    return random_tensor(DType::kFloat32, dims, seed).cast(dt);
  return random_tensor(dt, dims, seed);
}

/// A reduction with axes as an attribute (opset 17; ReduceSum takes them as input from 13).
GpuCase reduce_case(const std::string& op, Tensor x, const std::vector<int64_t>& axes, int keepdims,
                    int64_t opset = 17) {
  GpuCase c(op, opset);
  c.input(std::move(x));
  const bool axes_input = op == "ReduceSum" ? opset >= 13 : opset >= 18;
  if (axes_input) {
    if (!axes.empty()) c.input(axes_tensor(axes), true);
  } else if (!axes.empty()) {
    c.attr_ints("axes", axes);
  }
  c.attr_int("keepdims", keepdims);
  return c;
}

struct AxesCase {
  Dims dims;
  std::vector<int64_t> axes;
};

// Contiguous, non-contiguous, innermost kept / reduced, all axes, size-1 dims.
const AxesCase kAxesCases[] = {
    {{3, 17, 5}, {1}},
    {{3, 17, 5}, {2}},
    {{3, 17, 5}, {0}},
    {{4, 3, 6, 5}, {1, 3}},
    {{4, 3, 6, 5}, {0, 2}},
    {{4, 3, 6, 5}, {2, 3}},
    {{2, 3, 4, 5, 6}, {0, 2, 4}},
    {{7, 1, 9}, {1}},
    {{7, 1, 9}, {}},
    {{5}, {0}},
    {{2, 3, 1, 4}, {-1, -3}},
    {{1000003}, {0}},
};

TEST(CudaReduce, AllOpsAxesKeepdimsFloat32) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 1;
  for (const char* op : kReduceOps) {
    for (const AxesCase& ac : kAxesCases) {
      for (int keep : {0, 1}) {
        // Products of a million values underflow to 0 either way; keep Prod short.
        if (std::string(op) == "ReduceProd" && num_elements(ac.dims) > 10000) continue;
        SCOPED_TRACE(std::string(op) + " " + dims_to_string(ac.dims) + " keep " +
                     std::to_string(keep));
        expect_gpu_matches_cpu(
            reduce_case(op, random_tensor(DType::kFloat32, ac.dims, seed++), ac.axes, keep), 1e-5);
      }
    }
  }
}

TEST(CudaReduce, HalfTypes) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 100;
  for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
    for (const char* op : kReduceOps) {
      for (const AxesCase& ac :
           {AxesCase{{4, 3, 6, 5}, {1, 3}}, AxesCase{{3, 17, 5}, {2}}, AxesCase{{33, 70}, {0}}}) {
        SCOPED_TRACE(std::string(op) + " " + std::string(dtype_name(dt)));
        expect_gpu_matches_cpu(reduce_case(op, input_of(dt, ac.dims, seed++), ac.axes, 1), 1e-2);
      }
    }
  }
}

TEST(CudaReduce, Float64AndIntegers) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 200;
  for (DType dt : {DType::kFloat64, DType::kInt32, DType::kInt64}) {
    for (const char* op : kReduceOps) {
      for (const AxesCase& ac : {AxesCase{{4, 3, 6, 5}, {1, 3}}, AxesCase{{3, 17, 5}, {2}},
                                 AxesCase{{9, 40}, {0}}, AxesCase{{2, 5, 3}, {}}}) {
        SCOPED_TRACE(std::string(op) + " " + std::string(dtype_name(dt)));
        expect_gpu_matches_cpu(reduce_case(op, input_of(dt, ac.dims, seed++), ac.axes, 0), 1e-9);
      }
    }
  }
}

TEST(CudaReduce, MaxMinSmallIntegersAndBool) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 300;
  for (DType dt : {DType::kInt8, DType::kUint8, DType::kBool}) {
    for (const char* op : {"ReduceMax", "ReduceMin"}) {
      SCOPED_TRACE(std::string(op) + " " + std::string(dtype_name(dt)));
      expect_gpu_matches_cpu(reduce_case(op, input_of(dt, {5, 7, 3}, seed++), {1}, 1), 0);
      expect_gpu_matches_cpu(reduce_case(op, input_of(dt, {5, 7, 3}, seed++), {0, 2}, 0), 0);
    }
  }
}

TEST(CudaReduce, LongRowsAndManyShortRows) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 400;
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL2"}) {
    SCOPED_TRACE(op);
    // One long contiguous row (split across blocks), a long strided reduction, many short rows.
    expect_gpu_matches_cpu(
        reduce_case(op, random_tensor(DType::kFloat32, {2, 150001}, seed++), {1}, 1), 1e-5);
    expect_gpu_matches_cpu(
        reduce_case(op, random_tensor(DType::kFloat32, {120000, 3}, seed++), {0}, 0), 1e-5);
    expect_gpu_matches_cpu(
        reduce_case(op, random_tensor(DType::kFloat32, {50000, 7}, seed++), {1}, 0), 1e-5);
    expect_gpu_matches_cpu(
        reduce_case(op, random_tensor(DType::kFloat32, {3, 700, 300}, seed++), {0, 2}, 1), 1e-5);
  }
  expect_gpu_matches_cpu(
      reduce_case("ReduceSum", random_tensor(DType::kInt64, {1000003}, 7), {0}, 0), 0);
}

TEST(CudaReduce, AxesAsConstantInputOpset18) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 500;
  for (const char* op : kReduceOps) {
    SCOPED_TRACE(op);
    expect_gpu_matches_cpu(
        reduce_case(op, random_tensor(DType::kFloat32, {4, 3, 6, 5}, seed++), {0, 3}, 1, 18), 1e-5);
    expect_gpu_matches_cpu(
        reduce_case(op, random_tensor(DType::kFloat32, {4, 3, 6, 5}, seed++), {-2}, 0, 18), 1e-5);
    // No axes: reduce everything; noop_with_empty_axes: identity.
    expect_gpu_matches_cpu(
        reduce_case(op, random_tensor(DType::kFloat32, {4, 3, 6, 5}, seed++), {}, 0, 18), 1e-5);
    GpuCase noop = reduce_case(op, random_tensor(DType::kFloat32, {4, 3, 5}, seed++), {}, 1, 18);
    noop.attr_int("noop_with_empty_axes", 1);
    expect_gpu_matches_cpu(noop, 0);
  }
  // ReduceSum-13 with axes input, int32 data.
  expect_gpu_matches_cpu(
      reduce_case("ReduceSum", random_tensor(DType::kInt32, {6, 5, 4}, 9), {0, 2}, 1, 13), 0);
}

TEST(CudaReduce, EmptyReductionsAndNaN) {
  TARMAC_REQUIRE_GPU();
  for (const char* op : kReduceOps) {
    SCOPED_TRACE(op);
    // A reduced axis of length 0: Sum 0, Prod 1, Max -inf, Min +inf, Mean NaN.
    expect_gpu_matches_cpu(reduce_case(op, Tensor::zeros(DType::kFloat32, {3, 0, 4}), {1}, 1),
                           1e-6);
    expect_gpu_matches_cpu(reduce_case(op, Tensor::zeros(DType::kInt32, {3, 0, 4}), {1}, 0), 0);
    // A kept axis of length 0: nothing to compute.
    expect_gpu_matches_cpu(reduce_case(op, Tensor::zeros(DType::kFloat32, {0, 5}), {1}, 1), 1e-6);
    Tensor x = random_tensor(DType::kFloat32, {6, 40}, 11);
    x.data<float>()[3] = std::numeric_limits<float>::quiet_NaN();
    x.data<float>()[40 * 2 + 39] = std::numeric_limits<float>::quiet_NaN();
    x.data<float>()[40 * 4 + 7] = std::numeric_limits<float>::infinity();
    expect_gpu_matches_cpu(reduce_case(op, x, {1}, 1), 1e-5);
  }
}

TEST(CudaReduce, RefusesRuntimeAxes) {
  TARMAC_REQUIRE_GPU();
  GpuCase c("ReduceMean", 18);
  c.input(random_tensor(DType::kFloat32, {3, 4}, 1)).input(axes_tensor({1}), false);
  EXPECT_FALSE(run_gpu_case(c).is_ok());
  GpuCase s("ReduceSum", 17);
  s.input(random_tensor(DType::kInt8, {3, 4}, 1)).input(axes_tensor({1}), true);
  EXPECT_FALSE(run_gpu_case(s).is_ok());
}

// ---- ArgMax / ArgMin --------------------------------------------------------------------------

GpuCase arg_case(const std::string& op, Tensor x, int64_t axis, int keepdims, int last,
                 int64_t opset = 17) {
  GpuCase c(op, opset);
  c.input(std::move(x));
  c.attr_int("axis", axis).attr_int("keepdims", keepdims);
  if (opset >= 12) c.attr_int("select_last_index", last);
  return c;
}

TEST(CudaReduceArg, AxesKeepdimsSelectLastAllTypes) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 600;
  const DType types[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64,
                         DType::kInt32,   DType::kInt64,   DType::kInt8,     DType::kUint8};
  for (const char* op : {"ArgMax", "ArgMin"}) {
    for (DType dt : types) {
      for (int64_t axis : {0, 1, 2, -1}) {
        for (int last : {0, 1}) {
          SCOPED_TRACE(std::string(op) + " " + std::string(dtype_name(dt)) + " axis " +
                       std::to_string(axis) + " last " + std::to_string(last));
          // Integers in [0, 7] give many ties, which select_last_index decides.
          expect_gpu_matches_cpu(arg_case(op, input_of(dt, {5, 37, 3}, seed++), axis, last, last),
                                 0);
        }
      }
    }
  }
}

TEST(CudaReduceArg, LongAndShortRowsAndNaN) {
  TARMAC_REQUIRE_GPU();
  for (const char* op : {"ArgMax", "ArgMin"}) {
    for (int last : {0, 1}) {
      SCOPED_TRACE(std::string(op) + " last " + std::to_string(last));
      expect_gpu_matches_cpu(arg_case(op, random_tensor(DType::kInt32, {2, 200003}, 1), 1, 1, last),
                             0);
      expect_gpu_matches_cpu(
          arg_case(op, random_tensor(DType::kFloat32, {150000, 3}, 2), 0, 0, last), 0);
      expect_gpu_matches_cpu(
          arg_case(op, random_tensor(DType::kFloat32, {40000, 9}, 3), 1, 0, last), 0);
      Tensor x = random_tensor(DType::kFloat32, {4, 5000}, 4);
      float* p = x.data<float>();
      p[17] = p[4000] = std::numeric_limits<float>::quiet_NaN();  // row 0: two NaNs
      p[5000 + 4999] = std::numeric_limits<float>::quiet_NaN();
      p[10000 + 3] = std::numeric_limits<float>::infinity();
      p[15000 + 9] = -std::numeric_limits<float>::infinity();
      expect_gpu_matches_cpu(arg_case(op, x, 1, 1, last), 0);
    }
  }
  // Opset 11 has no select_last_index.
  expect_gpu_matches_cpu(arg_case("ArgMax", random_tensor(DType::kInt64, {3, 9}, 5), 1, 1, 0, 11),
                         0);
}

TEST(CudaReduceArg, RefusesBool) {
  TARMAC_REQUIRE_GPU();
  auto r = run_gpu_case(arg_case("ArgMax", random_tensor(DType::kBool, {3, 4}, 1), 1, 1, 0));
  EXPECT_FALSE(r.is_ok());
}

}  // namespace
}  // namespace tarmac::testing

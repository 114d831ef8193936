// CUDA MaxPool, AveragePool, GlobalMaxPool and GlobalAveragePool against the CPU reference.
#include "gpu_test_util.h"

namespace tarmac::testing {
namespace {

Tensor rnd(DType dt, const Dims& d, uint64_t seed) {
  if (dt == DType::kInt8 || dt == DType::kUint8) return random_tensor(dt, d, seed);
  Tensor t = random_tensor(DType::kFloat32, d, seed);
  return dt == DType::kFloat32 ? t : t.cast(dt);
}

GpuCase pool(const std::string& op, DType dt, const Dims& x, const Dims& kernel, uint64_t seed,
             int64_t opset = 17) {
  GpuCase c(op, opset);
  c.input(rnd(dt, x, seed)).attr_ints("kernel_shape", kernel);
  return c;
}

TEST(CudaNnPool, MaxPool2d) {
  TARMAC_REQUIRE_GPU();
  GpuCase c = pool("MaxPool", DType::kFloat32, {2, 3, 17, 19}, {3, 3}, 1);
  c.attr_ints("strides", {2, 2}).attr_ints("pads", {1, 1, 1, 1});
  expect_gpu_matches_cpu(c, 0);
  GpuCase d = pool("MaxPool", DType::kFloat32, {1, 2, 16, 15}, {2, 3}, 2);
  d.attr_ints("strides", {2, 2}).attr_int("ceil_mode", 1).attr_ints("pads", {0, 1, 1, 0});
  expect_gpu_matches_cpu(d, 0);
  GpuCase e = pool("MaxPool", DType::kFloat32, {1, 3, 13, 11}, {3, 2}, 3);
  e.attr_ints("dilations", {2, 3}).attr_string("auto_pad", "SAME_UPPER");
  expect_gpu_matches_cpu(e, 0);
  GpuCase f = pool("MaxPool", DType::kFloat32, {1, 1, 5, 5}, {2, 2}, 4);
  f.attr_ints("pads", {3, 0, 0, 0});  // rows whose window lies in the padding
  expect_gpu_matches_cpu(f, 0);
}

TEST(CudaNnPool, MaxPool1d3dAndTypes) {
  TARMAC_REQUIRE_GPU();
  GpuCase c = pool("MaxPool", DType::kFloat32, {2, 3, 1000}, {5}, 5);
  c.attr_ints("strides", {3}).attr_ints("pads", {2, 2});
  expect_gpu_matches_cpu(c, 0);
  GpuCase d = pool("MaxPool", DType::kFloat32, {1, 2, 5, 7, 9}, {2, 3, 3}, 6);
  d.attr_ints("strides", {2, 2, 2}).attr_int("ceil_mode", 1);
  expect_gpu_matches_cpu(d, 0);
  for (DType dt :
       {DType::kFloat16, DType::kBFloat16, DType::kInt8, DType::kUint8, DType::kFloat64}) {
    GpuCase e = pool("MaxPool", dt, {2, 4, 9, 11}, {3, 3}, 7);
    e.attr_ints("strides", {2, 2}).attr_ints("pads", {1, 1, 1, 1});
    SCOPED_TRACE(dtype_name(dt));
    expect_gpu_matches_cpu(e, 0);
  }
}

TEST(CudaNnPool, AveragePool) {
  TARMAC_REQUIRE_GPU();
  for (int64_t include : {0, 1}) {
    for (int64_t ceil : {0, 1}) {
      GpuCase c = pool("AveragePool", DType::kFloat32, {2, 3, 17, 14}, {3, 4}, 8);
      c.attr_ints("strides", {2, 3}).attr_ints("pads", {1, 2, 0, 1});
      c.attr_int("count_include_pad", include).attr_int("ceil_mode", ceil);
      SCOPED_TRACE(::testing::Message() << "include " << include << " ceil " << ceil);
      expect_gpu_matches_cpu(c, 1e-6);
    }
  }
  GpuCase d = pool("AveragePool", DType::kFloat32, {1, 2, 31}, {4}, 9);
  d.attr_string("auto_pad", "SAME_LOWER").attr_int("count_include_pad", 1);
  expect_gpu_matches_cpu(d, 1e-6);
  GpuCase e = pool("AveragePool", DType::kFloat32, {1, 2, 6, 7, 8}, {3, 3, 3}, 10);
  e.attr_ints("pads", {1, 1, 1, 1, 1, 1});
  expect_gpu_matches_cpu(e, 1e-6);
  GpuCase f = pool("AveragePool", DType::kFloat32, {1, 3, 15, 15}, {3, 3}, 11, 19);
  f.attr_ints("dilations", {2, 2}).attr_ints("pads", {2, 2, 2, 2}).attr_int("ceil_mode", 1);
  f.attr_ints("strides", {2, 2});
  expect_gpu_matches_cpu(f, 1e-6);
  for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
    GpuCase h = pool("AveragePool", dt, {2, 4, 9, 11}, {2, 2}, 12);
    h.attr_ints("strides", {2, 2}).attr_int("ceil_mode", 1);
    expect_gpu_matches_cpu(h, 1e-2);
  }
}

TEST(CudaNnPool, GlobalPools) {
  TARMAC_REQUIRE_GPU();
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool"}) {
    SCOPED_TRACE(op);
    GpuCase a(op);
    a.input(rnd(DType::kFloat32, {2, 3, 100, 101}, 13));
    expect_gpu_matches_cpu(a, 1e-6);
    GpuCase b(op);
    b.input(rnd(DType::kFloat32, {3, 5, 1}, 14));
    expect_gpu_matches_cpu(b, 1e-6);
    GpuCase c(op);
    c.input(rnd(DType::kFloat32, {1, 17, 3, 4, 5}, 15));
    expect_gpu_matches_cpu(c, 1e-6);
    for (DType dt : {DType::kFloat16, DType::kBFloat16, DType::kFloat64}) {
      GpuCase h(op);
      h.input(rnd(dt, {2, 7, 33, 17}, 16));
      expect_gpu_matches_cpu(h, dt == DType::kFloat64 ? 1e-12 : 1e-2);
    }
  }
}

TEST(CudaNnPool, RefusesIndicesOutput) {
  TARMAC_REQUIRE_GPU();
  GpuCase c = pool("MaxPool", DType::kFloat32, {1, 2, 6, 6}, {2, 2}, 17);
  c.num_outputs = 2;
  EXPECT_FALSE(run_gpu_case(c).is_ok());
  GpuCase d = pool("MaxPool", DType::kFloat32, {1, 2, 6, 6}, {2, 2}, 18);
  d.attr_int("storage_order", 1);
  EXPECT_FALSE(run_gpu_case(d).is_ok());
}

}  // namespace
}  // namespace tarmac::testing

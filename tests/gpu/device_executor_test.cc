// The CUDA DeviceExecutor on small graphs, against the CPU executor.
#include <gtest/gtest.h>

#include "gpu_test_util.h"
#include "passes/pass_test_util.h"
#include "runtime/device_executor.h"
#include "runtime/executor.h"

namespace tarmac::testing {
namespace {

Model conv_block() {
  GraphBuilder b(17);
  Value* x = b.input("x", {1, 3, 17, 19});
  Node* conv = b.node("Conv", "conv",
                      {x, b.random_initializer("w", {8, 3, 3, 3}), b.random_initializer("b", {8})});
  set_ints(conv, "pads", {1, 1, 1, 1});
  Node* bn =
      b.node("BatchNormalization", "bn",
             {b.out(conv), b.random_initializer("scale", {8}), b.random_initializer("bias", {8}),
              b.random_initializer("mean", {8}), b.random_initializer("var", {8}, 0.5f, 2.0f)});
  Node* sig = b.node("Sigmoid", "sig", {b.out(bn)});
  Node* mul = b.node("Mul", "mul", {b.out(bn), b.out(sig)});
  Node* pool = b.node("MaxPool", "pool", {b.out(mul)});
  set_ints(pool, "kernel_shape", {2, 2});
  set_ints(pool, "strides", {2, 2});
  Node* t = b.node("Transpose", "t", {b.out(pool)});
  set_ints(t, "perm", {0, 2, 3, 1});
  Node* soft = b.node("Softmax", "soft", {b.out(t)});
  set_int(soft, "axis", -1);
  b.output(b.out(soft));
  return b.take();
}

std::vector<Tensor> run_cpu(Model m, const std::vector<std::pair<std::string, Tensor>>& in) {
  ExecutorOptions o;
  o.optimize = false;
  auto ex = Executor::create(std::move(m), o);
  EXPECT_TRUE(ex.is_ok()) << ex.status().message();
  std::vector<Tensor> out;
  if (ex.is_ok()) {
    Status s = (*ex)->run(in, &out);
    EXPECT_TRUE(s.is_ok()) << s.message();
  }
  return out;
}

TEST(DeviceExecutor, UnavailableWithoutGpu) {
  if (gpu_available().is_ok()) GTEST_SKIP() << "a GPU is present; covered by the tests below";
  auto ex = DeviceExecutor::create(conv_block(), {});
  ASSERT_FALSE(ex.is_ok());
  EXPECT_EQ(ex.status().code(), StatusCode::kUnavailable) << ex.status().message();
}

TEST(DeviceExecutor, MatchesCpuWithAndWithoutCudaGraph) {
  TARMAC_REQUIRE_GPU();
  const std::vector<std::pair<std::string, Tensor>> in = {
      {"x", random_tensor(DType::kFloat32, {1, 3, 17, 19}, 5)}};
  const std::vector<Tensor> want = run_cpu(conv_block(), in);
  for (bool graph : {false, true}) {
    DeviceExecutorOptions o;
    o.config.allow_tf32 = false;
    o.use_cuda_graph = graph;
    auto ex = DeviceExecutor::create(conv_block(), o);
    ASSERT_TRUE(ex.is_ok()) << ex.status().message();
    for (int rep = 0; rep < 2; ++rep) {  // the second run replays the captured graph
      std::vector<Tensor> got;
      Status s = (*ex)->run(in, &got);
      ASSERT_TRUE(s.is_ok()) << s.message();
      ASSERT_EQ(got.size(), want.size());
      EXPECT_LE(relative_l2_error(got[0], want[0]), 1e-5)
          << "cuda graph " << graph << " run " << rep;
    }
    const DeviceMemoryReport& m = (*ex)->memory();
    EXPECT_GE(m.arena_bytes, m.lower_bound_bytes);
    EXPECT_GT(m.weight_bytes, 0u);
    auto t = (*ex)->time_compute();
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    EXPECT_GT(*t, 0.0);
    auto prof = (*ex)->profile_layers(3);
    ASSERT_TRUE(prof.is_ok()) << prof.status().message();
    ASSERT_EQ(prof->size(), (*ex)->layers().size());
    double total = 0;
    for (double v : *prof) {
      EXPECT_GE(v, 0.0);
      total += v;
    }
    EXPECT_GT(total, 0.0);
  }
}

Model with_nonzero() {
  GraphBuilder b(17);
  Value* x = b.input("x", {4, 5});
  Node* relu = b.node("Relu", "relu", {x});
  Node* nz = b.node("NonZero", "nz", {b.out(relu)});
  b.output(b.out(nz));
  return b.take();
}

TEST(DeviceExecutor, NodesWithoutCudaKernelAreListedOrFallBack) {
  TARMAC_REQUIRE_GPU();
  auto refused = DeviceExecutor::create(with_nonzero(), {});
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(refused.status().message().find("NonZero 'nz'"), std::string::npos)
      << refused.status().message();
}

TEST(DeviceExecutor, WrongInputShapeIsAnError) {
  TARMAC_REQUIRE_GPU();
  auto ex = DeviceExecutor::create(conv_block(), {});
  ASSERT_TRUE(ex.is_ok()) << ex.status().message();
  std::vector<Tensor> out;
  Status s = (*ex)->run({{"x", random_tensor(DType::kFloat32, {1, 3, 16, 19}, 1)}}, &out);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("input 'x' expects"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace tarmac::testing

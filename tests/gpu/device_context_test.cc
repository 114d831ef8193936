// DeviceEngine and DeviceContext: concurrent contexts of one engine, CUDA graph re-capture
// on shape change, and bad shapes, each against the CPU executor.
#include <gtest/gtest.h>

#include <latch>
#include <thread>

#include "gpu_test_util.h"
#include "passes/pass_test_util.h"
#include "runtime/device_engine.h"
#include "runtime/executor.h"

namespace tarmac::testing {
namespace {

/// Conv -> Relu -> Flatten -> Gemm on x [N, 3, 8, 8] -> [N, 10]; N symbolic when
/// `dynamic_batch`, else 2.
Model conv_gemm(bool dynamic_batch) {
  GraphBuilder b(17);
  Value* x =
      dynamic_batch ? b.input_shape("x", {Dim::sym("N"), 3, 8, 8}) : b.input("x", {2, 3, 8, 8});
  Node* conv = b.node("Conv", "conv",
                      {x, b.random_initializer("w", {4, 3, 3, 3}), b.random_initializer("b", {4})});
  set_ints(conv, "pads", {1, 1, 1, 1});
  set_ints(conv, "strides", {2, 2});  // [N, 4, 4, 4]
  Node* relu = b.node("Relu", "relu", {b.out(conv)});
  Node* flat = b.node("Flatten", "flat", {b.out(relu)});  // [N, 64]
  Node* fc = b.node(
      "Gemm", "fc",
      {b.out(flat), b.random_initializer("fc_w", {10, 64}), b.random_initializer("fc_b", {10})});
  set_int(fc, "transB", 1);
  b.output(b.out(fc));
  return b.take();
}

/// The CPU executor's output for each input of shape `dims`.
std::vector<Tensor> cpu_reference(bool dynamic_batch, const Dims& dims,
                                  const std::vector<Tensor>& inputs) {
  ExecutorOptions o;
  o.optimize = false;
  o.input_shapes = {{"x", dims}};
  auto ex = Executor::create(conv_gemm(dynamic_batch), o);
  EXPECT_TRUE(ex.is_ok()) << ex.status().message();
  std::vector<Tensor> want;
  for (const Tensor& x : inputs) {
    std::vector<Tensor> out;
    if (ex.is_ok()) {
      Status s = (*ex)->run({{"x", x}}, &out);
      EXPECT_TRUE(s.is_ok()) << s.message();
    }
    want.push_back(out.empty() ? Tensor() : std::move(out[0]));
  }
  return want;
}

DeviceExecutorOptions options(const Dims& dims, bool cuda_graph) {
  DeviceExecutorOptions o;
  o.config.allow_tf32 = false;
  o.use_cuda_graph = cuda_graph;
  o.input_shapes = {{"x", dims}};
  return o;
}

TEST(DeviceEngine, UnavailableWithoutGpu) {
  if (gpu_available().is_ok()) GTEST_SKIP() << "a GPU is present; covered by the tests below";
  auto engine = DeviceEngine::create(conv_gemm(true), options({1, 3, 8, 8}, false));
  ASSERT_FALSE(engine.is_ok());
  EXPECT_EQ(engine.status().code(), StatusCode::kUnavailable) << engine.status().message();
}

TEST(DeviceContext, TwoContextsOfOneEngineRunConcurrently) {
  TARMAC_REQUIRE_GPU();
  constexpr int kContexts = 2, kRuns = 20;
  const Dims dims = {2, 3, 8, 8};
  for (bool graph : {false, true}) {
    SCOPED_TRACE(graph ? "with CUDA graph" : "without CUDA graph");
    auto engine = DeviceEngine::create(conv_gemm(false), options(dims, graph));
    ASSERT_TRUE(engine.is_ok()) << engine.status().message();
    std::vector<std::unique_ptr<DeviceContext>> contexts;
    for (int c = 0; c < kContexts; ++c) {
      auto ctx = (*engine)->create_context();
      ASSERT_TRUE(ctx.is_ok()) << ctx.status().message();
      contexts.push_back(std::move(ctx).value());
    }
    EXPECT_NE(contexts[0]->stream(), nullptr);
    EXPECT_NE(contexts[0]->stream(), contexts[1]->stream());

    // Inputs and references first: the threads do nothing but GPU runs.
    std::vector<std::vector<Tensor>> in(kContexts), want(kContexts), got(kContexts);
    for (int c = 0; c < kContexts; ++c) {
      for (int i = 0; i < kRuns; ++i)
        in[c].push_back(
            random_tensor(DType::kFloat32, dims, static_cast<uint64_t>(100 * c + i + 1)));
      want[c] = cpu_reference(false, dims, in[c]);
    }
    std::vector<Status> status(kContexts);
    std::latch start(kContexts);
    std::vector<std::thread> threads;
    for (int c = 0; c < kContexts; ++c) {
      threads.emplace_back([&, c] {
        start.arrive_and_wait();
        for (int i = 0; i < kRuns && status[c].is_ok(); ++i) {
          std::vector<Tensor> out;
          status[c] = contexts[c]->run({{"x", in[c][i]}}, &out);
          if (status[c].is_ok() && out.size() == 1) got[c].push_back(std::move(out[0]));
        }
      });
    }
    for (std::thread& t : threads) t.join();

    for (int c = 0; c < kContexts; ++c) {
      ASSERT_TRUE(status[c].is_ok()) << "context " << c << ": " << status[c].message();
      ASSERT_EQ(got[c].size(), static_cast<size_t>(kRuns));
      for (int i = 0; i < kRuns; ++i) {
        ASSERT_EQ(got[c][i].dims(), (Dims{2, 10}));
        EXPECT_LE(relative_l2_error(got[c][i], want[c][i]), 1e-5)
            << "context " << c << " run " << i;
      }
      EXPECT_EQ(contexts[c]->graph_captures(), graph ? 1 : 0);
      EXPECT_EQ(contexts[c]->memory().weight_bytes, (*engine)->weight_bytes());
    }
    // One build and one weights upload, shared by both contexts.
    EXPECT_EQ((*engine)->instances_built(), 1);
    EXPECT_GT((*engine)->weight_bytes(), 0u);
  }
}

TEST(DeviceContext, ShapeChangeRecapturesOncePerCachedShape) {
  TARMAC_REQUIRE_GPU();
  // Batch 1, 3, then 1 again. Keeping 4 shapes, the batch-1 graph survives the detour; keeping
  // 1, it is dropped with its arena and captured again.
  const std::vector<int64_t> batches = {1, 3, 1};
  for (int cached : {4, 1}) {
    SCOPED_TRACE("max_cached_shapes " + std::to_string(cached));
    DeviceExecutorOptions o = options({1, 3, 8, 8}, true);
    o.max_cached_shapes = cached;
    auto engine = DeviceEngine::create(conv_gemm(true), o);
    ASSERT_TRUE(engine.is_ok()) << engine.status().message();
    auto made = (*engine)->create_context();
    ASSERT_TRUE(made.is_ok()) << made.status().message();
    DeviceContext& ctx = **made;
    const size_t weights_batch1 = (*engine)->weight_bytes();
    const std::vector<int> captures =
        cached > 1 ? std::vector<int>{1, 2, 2} : std::vector<int>{1, 2, 3};
    std::vector<size_t> arena;
    for (size_t k = 0; k < batches.size(); ++k) {
      const Dims dims = {batches[k], 3, 8, 8};
      Status s = ctx.set_input_shapes({{"x", dims}});
      ASSERT_TRUE(s.is_ok()) << s.message();
      EXPECT_EQ(ctx.input_shapes().at("x"), dims);
      std::vector<Tensor> in;
      for (int rep = 0; rep < 2; ++rep)  // the second run replays the graph
        in.push_back(random_tensor(DType::kFloat32, dims, static_cast<uint64_t>(10 * k + rep + 1)));
      const std::vector<Tensor> want = cpu_reference(true, dims, in);
      for (int rep = 0; rep < 2; ++rep) {
        std::vector<Tensor> got;
        s = ctx.run({{"x", in[static_cast<size_t>(rep)]}}, &got);
        ASSERT_TRUE(s.is_ok()) << s.message();
        ASSERT_EQ(got.size(), 1u);
        ASSERT_EQ(got[0].dims(), (Dims{batches[k], 10}));
        EXPECT_LE(relative_l2_error(got[0], want[static_cast<size_t>(rep)]), 1e-5)
            << "batch " << batches[k] << " run " << rep;
      }
      EXPECT_EQ(ctx.graph_captures(), captures[k]) << "after batch " << batches[k];
      arena.push_back(ctx.memory().arena_bytes);
    }
    EXPECT_GT(arena[1], arena[0]);
    EXPECT_EQ(arena[2], arena[0]);
    EXPECT_EQ((*engine)->instances_built(), 2);
    // The batch-3 build lives while the context caches it; the first build, always.
    if (cached > 1) {
      EXPECT_GT((*engine)->weight_bytes(), weights_batch1);
    } else {
      EXPECT_EQ((*engine)->weight_bytes(), weights_batch1);
    }

    // The same shapes again, or none: nothing to do.
    ASSERT_TRUE(ctx.set_input_shapes({{"x", {1, 3, 8, 8}}}).is_ok());
    ASSERT_TRUE(ctx.set_input_shapes({}).is_ok());
    std::vector<Tensor> got;
    Status s = ctx.run({{"x", random_tensor(DType::kFloat32, {1, 3, 8, 8}, 99)}}, &got);
    ASSERT_TRUE(s.is_ok()) << s.message();
    EXPECT_EQ(ctx.graph_captures(), captures.back());
  }
}

TEST(DeviceContext, BadShapesAreErrorsAndChangeNothing) {
  TARMAC_REQUIRE_GPU();
  const Dims batch1 = {1, 3, 8, 8};
  auto engine = DeviceEngine::create(conv_gemm(true), options(batch1, true));
  ASSERT_TRUE(engine.is_ok()) << engine.status().message();
  auto made = (*engine)->create_context();
  ASSERT_TRUE(made.is_ok()) << made.status().message();
  DeviceContext& ctx = **made;
  const Tensor x = random_tensor(DType::kFloat32, batch1, 3);
  std::vector<Tensor> got;
  ASSERT_TRUE(ctx.run({{"x", x}}, &got).is_ok());

  const std::vector<std::pair<std::map<std::string, Dims>, std::string>> cases = {
      {{{"x", {1, 3, 8}}}, "has rank 4"},
      {{{"y", {1, 3, 8, 8}}}, "'y' is given a shape but is not an input"},
      {{{"x", {1, 4, 8, 8}}}, "static dimension 1 = 3"},
      {{{"x", {-1, 3, 8, 8}}}, "negative dimension"},
  };
  for (const auto& [shapes, text] : cases) {
    Status s = ctx.set_input_shapes(shapes);
    ASSERT_FALSE(s.is_ok()) << text;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
    EXPECT_NE(s.message().find(text), std::string::npos) << s.message();
    EXPECT_EQ(ctx.input_shapes().at("x"), batch1);
  }
  Status s = ctx.run({{"x", x}}, &got);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(ctx.graph_captures(), 1);
  EXPECT_EQ((*engine)->instances_built(), 1);
  // A tensor of other shapes needs set_input_shapes first.
  s = ctx.run({{"x", random_tensor(DType::kFloat32, {2, 3, 8, 8}, 4)}}, &got);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("input 'x' expects"), std::string::npos) << s.message();

  // A symbolic dim left without a shape is a build-time error.
  auto dynamic = DeviceEngine::create(conv_gemm(true), DeviceExecutorOptions{});
  ASSERT_FALSE(dynamic.is_ok());
  EXPECT_EQ(dynamic.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dynamic.status().message().find("has dynamic shape"), std::string::npos)
      << dynamic.status().message();

  // A model whose inputs were static keeps them.
  auto fixed = DeviceEngine::create(conv_gemm(false), DeviceExecutorOptions{});
  ASSERT_TRUE(fixed.is_ok()) << fixed.status().message();
  auto fixed_ctx = (*fixed)->create_context();
  ASSERT_TRUE(fixed_ctx.is_ok()) << fixed_ctx.status().message();
  s = (*fixed_ctx)->set_input_shapes({{"x", {4, 3, 8, 8}}});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("cannot change"), std::string::npos) << s.message();
  EXPECT_TRUE((*fixed_ctx)->set_input_shapes({{"x", {2, 3, 8, 8}}}).is_ok());
}

}  // namespace
}  // namespace tarmac::testing

// The public API on the CUDA engine: tactics timed and recorded, the timing cache reused and
// refused from another device, build -> serialize -> load bit-identical, enqueue on a caller's
// stream with device addresses, profiles, and a plan from another compute capability refused.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "builder/plan_file.h"
#include "core/random.h"
#include "gpu_test_util.h"
#include "onnx/exporter.h"
#include "passes/pass_test_util.h"
#include "tarmac/builder.h"
#include "tarmac/engine.h"

namespace tarmac {
namespace {

using testing::GraphBuilder;

/// x [N, 16, 24, 24] -> Conv 3x3 -> Relu -> Conv 3x3 -> y: two layers with cuDNN variants.
std::string two_conv_model() {
  GraphBuilder b;
  Value* x = b.input_shape("x", {Dim::sym("N"), 16, 24, 24});
  Value* v = x;
  for (int i = 0; i < 2; ++i) {
    Value* w = b.initializer(fmt::format("w{}", i),
                             random_tensor(DType::kFloat32, {16, 16, 3, 3}, 10 + i));
    Node* conv = b.node("Conv", fmt::format("conv{}", i), {v, w});
    testing::set_ints(conv, "pads", {1, 1, 1, 1});
    v = b.out(conv);
    if (i == 0) v = b.out(b.node("Relu", "relu0", {v}));
  }
  b.output(v);
  auto bytes = export_onnx_bytes(b.take());
  EXPECT_TRUE(bytes.is_ok()) << bytes.status().message();
  return *bytes;
}

BuildConfig gpu_config(bool fp16) {
  BuildConfig c;
  c.device = DeviceKind::kCuda;
  c.fp16 = fp16;
  c.profiles.push_back({{{"x", {{1, 16, 24, 24}, {2, 16, 24, 24}, {4, 16, 24, 24}}}}});
  return c;
}

std::string build(const std::string& onnx, const BuildConfig& c, BuildReport* r = nullptr) {
  auto net = Network::parse_onnx_bytes(onnx, "");
  EXPECT_TRUE(net.is_ok());
  auto plan = build_serialized_engine(*net, c, r);
  EXPECT_TRUE(plan.is_ok()) << plan.status().message();
  return plan.is_ok() ? *plan : std::string();
}

/// Runs batch `n` through a freshly loaded engine with device addresses on a caller's stream.
std::vector<float> run_on_stream(const std::string& plan, int64_t n, bool graph) {
  auto engine = Engine::deserialize(plan);
  EXPECT_TRUE(engine.is_ok()) << engine.status().message();
  if (!engine.is_ok()) return {};
  auto ctx = (*engine)->create_execution_context();
  EXPECT_TRUE(ctx.is_ok()) << ctx.status().message();
  (*ctx)->set_use_cuda_graph(graph);
  EXPECT_TRUE((*ctx)->set_input_shape("x", {n, 16, 24, 24}).is_ok());
  const Tensor x = random_tensor(DType::kFloat32, {n, 16, 24, 24}, 5);
  const std::string out = (*engine)->info().outputs.at(0).name;
  auto shape = (*ctx)->tensor_shape(out);
  EXPECT_TRUE(shape.is_ok());
  std::vector<float> y(static_cast<size_t>(num_elements(*shape)));
  void *dx = nullptr, *dy = nullptr;
  cudaStream_t s = nullptr;
  EXPECT_EQ(cudaMalloc(&dx, x.nbytes()), cudaSuccess);
  EXPECT_EQ(cudaMalloc(&dy, y.size() * 4), cudaSuccess);
  EXPECT_EQ(cudaStreamCreate(&s), cudaSuccess);
  cudaMemcpyAsync(dx, x.raw(), x.nbytes(), cudaMemcpyHostToDevice, s);
  EXPECT_TRUE((*ctx)->set_tensor_address("x", dx).is_ok());
  EXPECT_TRUE((*ctx)->set_tensor_address(out, dy).is_ok());
  for (int i = 0; i < 3; ++i) {
    Status st = (*ctx)->enqueue(s);
    EXPECT_TRUE(st.is_ok()) << st.message();
  }
  cudaMemcpyAsync(y.data(), dy, y.size() * 4, cudaMemcpyDeviceToHost, s);
  EXPECT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  cudaFree(dx);
  cudaFree(dy);
  cudaStreamDestroy(s);
  return y;
}

TEST(CudaEnginePlan, TacticsAreTimedRecordedAndReplayedBitIdentically) {
  TARMAC_REQUIRE_GPU();
  for (bool fp16 : {false, true}) {
    BuildReport r;
    const std::string plan = build(two_conv_model(), gpu_config(fp16), &r);
    EXPECT_GE(r.tactics_timed, 1) << "fp16 " << fp16;
    std::vector<LayerInfo> layers;
    auto info = Engine::read_info(plan, &layers);
    ASSERT_TRUE(info.is_ok());
    EXPECT_GT(info->compute_capability, 0);
    EXPECT_GT(info->cudnn_version, 0);
    bool conv_tactic = false;
    for (const LayerInfo& l : layers)
      conv_tactic = conv_tactic || l.tactic.rfind("cudnn_fwd_algo=", 0) == 0;
    EXPECT_TRUE(conv_tactic);
    // Two loads, with and without CUDA graphs, give the same bits.
    const std::vector<float> a = run_on_stream(plan, 3, false);
    EXPECT_EQ(run_on_stream(plan, 3, true), a);
    EXPECT_EQ(run_on_stream(plan, 3, false), a);
  }
}

/// Loads `plan` (from memory, or from `path` when given) and runs batch 2 through it; `log`
/// receives the loader's messages.
std::vector<float> run_static(const std::string& plan, const std::string& path, std::string* log) {
  LoadOptions lo;
  lo.log = [&](const std::string& m) { log->append(m).append("\n"); };
  auto engine = path.empty() ? Engine::deserialize(plan, lo) : Engine::load_file(path, lo);
  EXPECT_TRUE(engine.is_ok()) << engine.status().message();
  if (!engine.is_ok()) return {};
  auto ctx = (*engine)->create_execution_context();
  EXPECT_TRUE(ctx.is_ok()) << ctx.status().message();
  const Tensor x = random_tensor(DType::kFloat32, {2, 16, 24, 24}, 8);
  const std::string out = (*engine)->info().outputs.at(0).name;
  auto shape = (*ctx)->tensor_shape(out);
  EXPECT_TRUE(shape.is_ok());
  std::vector<float> y(static_cast<size_t>(num_elements(*shape)));
  void *dx = nullptr, *dy = nullptr;
  EXPECT_EQ(cudaMalloc(&dx, x.nbytes()), cudaSuccess);
  EXPECT_EQ(cudaMalloc(&dy, y.size() * 4), cudaSuccess);
  cudaMemcpy(dx, x.raw(), x.nbytes(), cudaMemcpyHostToDevice);
  EXPECT_TRUE((*ctx)->set_tensor_address("x", dx).is_ok());
  EXPECT_TRUE((*ctx)->set_tensor_address(out, dy).is_ok());
  Status st = (*ctx)->execute();
  EXPECT_TRUE(st.is_ok()) << st.message();
  cudaMemcpy(y.data(), dy, y.size() * 4, cudaMemcpyDeviceToHost);
  cudaFree(dx);
  cudaFree(dy);
  return y;
}

TEST(CudaEnginePlan, StaticPlansLoadAsBuiltAndMatchTheReplayedBuild) {
  TARMAC_REQUIRE_GPU();
  for (bool fp16 : {false, true}) {
    BuildConfig c = gpu_config(fp16);
    c.profiles = {{{{"x", {{2, 16, 24, 24}, {2, 16, 24, 24}, {2, 16, 24, 24}}}}}};
    const std::string plan = build(two_conv_model(), c);
    auto parsed = parse_plan(plan);
    ASSERT_TRUE(parsed.is_ok()) << parsed.status().message();
    ASSERT_FALSE(parsed->built.empty()) << "a static single-profile plan stores its built engine";
    std::string log;
    const std::vector<float> built = run_static(plan, "", &log);
    EXPECT_NE(log.find("loaded as built"), std::string::npos) << log;
    // The same plan without its built section replays the build from the source model: the
    // same layers, tactics and bits.
    const std::string replay_plan = serialize_plan(parsed->header, parsed->model, parsed->flags);
    std::string replay_log;
    EXPECT_EQ(run_static(replay_plan, "", &replay_log), built) << "fp16 " << fp16;
    EXPECT_EQ(replay_log.find("loaded as built"), std::string::npos) << replay_log;
    // From a file, reading only the header and the built section.
    const std::string path =
        (std::filesystem::temp_directory_path() / "tarmac_static.plan").string();
    ASSERT_TRUE(write_plan_file(path, plan).is_ok());
    std::string file_log;
    EXPECT_EQ(run_static(plan, path, &file_log), built);
    EXPECT_NE(file_log.find("loaded as built"), std::string::npos) << file_log;
    std::filesystem::remove(path);
  }
  // Plans whose weights may change, or with shape ranges, keep only the source model.
  BuildConfig refit = gpu_config(false);
  refit.refittable = true;
  EXPECT_TRUE(parse_plan(build(two_conv_model(), refit))->built.empty());
  EXPECT_TRUE(parse_plan(build(two_conv_model(), gpu_config(false)))->built.empty());
}

TEST(CudaEnginePlan, GemmTacticsAreTimedAndRecorded) {
  TARMAC_REQUIRE_GPU();
  GraphBuilder b;
  Value* x = b.input("x", {256, 512});
  Value* w = b.initializer("w", random_tensor(DType::kFloat32, {512, 384}, 3));
  Value* bias = b.initializer("b", random_tensor(DType::kFloat32, {384}, 4));
  Node* gemm = b.node("Gemm", "gemm", {x, w, bias});
  b.output(b.out(b.node("Relu", "relu", {b.out(gemm)})));
  auto onnx = export_onnx_bytes(b.take());
  ASSERT_TRUE(onnx.is_ok());
  BuildConfig c;
  c.device = DeviceKind::kCuda;
  std::string log;
  c.log = [&](const std::string& m) { log.append(m).append("\n"); };
  BuildReport r;
  const std::string plan = build(*onnx, c, &r);
  std::vector<LayerInfo> layers;
  ASSERT_TRUE(Engine::read_info(plan, &layers).is_ok());
  ASSERT_FALSE(layers.empty());
  EXPECT_EQ(layers[0].tactic.rfind("cublaslt_heuristic=", 0), 0u) << layers[0].tactic;
  EXPECT_NE(log.find("tactic gemm"), std::string::npos) << log;
}

TEST(CudaEnginePlan, TimingCacheIsReusedAndIgnoredFromAnotherDevice) {
  TARMAC_REQUIRE_GPU();
  const std::string cache =
      (std::filesystem::temp_directory_path() / "tarmac_engine_plan_test.cache").string();
  std::remove(cache.c_str());
  BuildConfig c = gpu_config(false);
  c.timing_cache_file = cache;
  BuildReport cold, warm;
  const std::string a = build(two_conv_model(), c, &cold);
  ASSERT_GE(cold.tactics_timed, 1);
  EXPECT_EQ(cold.tactics_from_cache, 0);
  const std::string b = build(two_conv_model(), c, &warm);
  EXPECT_EQ(warm.tactics_timed, 0);
  EXPECT_EQ(warm.tactics_from_cache, cold.tactics_timed);
  std::vector<LayerInfo> la, lb;
  ASSERT_TRUE(Engine::read_info(a, &la).is_ok());
  ASSERT_TRUE(Engine::read_info(b, &lb).is_ok());
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i) EXPECT_EQ(la[i].tactic, lb[i].tactic);

  // The same cache claiming another device: ignored with a warning, tactics timed again.
  auto text = read_whole_file(cache);
  ASSERT_TRUE(text.is_ok());
  const std::string marker = "\"name\":";
  std::string edited = *text;
  const size_t at = edited.find(marker);
  ASSERT_NE(at, std::string::npos);
  edited.insert(at + marker.size() + 2, "Other GPU ");  // inside the name string
  std::ofstream(cache, std::ios::binary | std::ios::trunc) << edited;
  std::string log;
  c.log = [&](const std::string& m) { log.append(m).append("\n"); };
  BuildReport again;
  build(two_conv_model(), c, &again);
  EXPECT_NE(log.find("is ignored here"), std::string::npos) << log;
  EXPECT_GE(again.tactics_timed, 1);
  // A corrupted cache is an error, not a silent rebuild.
  std::ofstream(cache, std::ios::binary | std::ios::trunc) << "{\"format\": 1";
  auto net = Network::parse_onnx_bytes(two_conv_model(), "");
  ASSERT_TRUE(net.is_ok());
  EXPECT_FALSE(build_serialized_engine(*net, c).is_ok());
  std::remove(cache.c_str());
}

TEST(CudaEnginePlan, OtherComputeCapabilityAndLibrariesAreRefused) {
  TARMAC_REQUIRE_GPU();
  auto p = parse_plan(build(two_conv_model(), gpu_config(false)));
  ASSERT_TRUE(p.is_ok());
  nlohmann::json h = p->header;
  h["device"]["compute_capability"] = 87;
  h["device"]["name"] = "Orin";
  auto e = Engine::deserialize(serialize_plan(h, p->model, p->flags));
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("compute capability 8.7 (Orin)"), std::string::npos)
      << e.status().message();
  h = p->header;
  h["device"]["cudnn"] = 80100;
  e = Engine::deserialize(serialize_plan(h, p->model, p->flags));
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("cuDNN 80100"), std::string::npos) << e.status().message();
}

TEST(CudaEnginePlan, ProfileRangesHoldOnTheDevice) {
  TARMAC_REQUIRE_GPU();
  auto engine = Engine::deserialize(build(two_conv_model(), gpu_config(false)));
  ASSERT_TRUE(engine.is_ok()) << engine.status().message();
  auto ctx = (*engine)->create_execution_context();
  ASSERT_TRUE(ctx.is_ok());
  Status s = (*ctx)->set_input_shape("x", {5, 16, 24, 24});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("[1, 4]"), std::string::npos) << s.message();
  // Every batch in the range runs and agrees with batch 1 on its first sample.
  const std::string plan = build(two_conv_model(), gpu_config(false));
  const std::vector<float> one = run_on_stream(plan, 1, false);
  const std::vector<float> four = run_on_stream(plan, 4, false);
  ASSERT_EQ(four.size(), one.size() * 4);
}

}  // namespace
}  // namespace tarmac

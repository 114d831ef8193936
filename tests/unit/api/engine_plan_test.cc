// The public API on the CPU engine: build -> serialize -> load, profiles and their errors,
// broken plans, refit and weight stripping (the same paths the CUDA engine takes; tests/gpu
// covers tactics and the timing cache).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "api/network_impl.h"
#include "builder/plan_file.h"
#include "core/random.h"
#include "onnx/exporter.h"
#include "passes/pass_test_util.h"
#include "runtime/executor.h"
#include "tarmac/builder.h"
#include "tarmac/engine.h"

namespace tarmac {
namespace {

using testing::GraphBuilder;

/// x [N, 3, 8, 8] -> Conv(3->4, 3x3, pad 1) -> Relu -> y. `seed` picks the weights; `channels`
/// changes the architecture.
std::string conv_model(uint64_t seed, int64_t channels = 4) {
  GraphBuilder b;
  Value* x = b.input_shape("x", {Dim::sym("N"), 3, 8, 8});
  Value* w = b.initializer("w", random_tensor(DType::kFloat32, {channels, 3, 3, 3}, seed));
  Value* bias = b.initializer("b", random_tensor(DType::kFloat32, {channels}, seed + 1));
  Node* conv = b.node("Conv", "conv", {x, w, bias});
  testing::set_ints(conv, "pads", {1, 1, 1, 1});
  Node* relu = b.node("Relu", "relu", {b.out(conv)});
  b.output(b.out(relu));
  auto bytes = export_onnx_bytes(b.take());
  EXPECT_TRUE(bytes.is_ok()) << bytes.status().message();
  return *bytes;
}

Network parse(const std::string& bytes) {
  auto n = Network::parse_onnx_bytes(bytes, "");
  EXPECT_TRUE(n.is_ok()) << n.status().message();
  return std::move(n).value();
}

BuildConfig cpu_config() {
  BuildConfig c;
  c.device = DeviceKind::kCpu;
  c.profiles.push_back({{{"x", {{1, 3, 8, 8}, {2, 3, 8, 8}, {4, 3, 8, 8}}}}});
  return c;
}

std::string build(const std::string& onnx, const BuildConfig& c) {
  auto plan = build_serialized_engine(parse(onnx), c);
  EXPECT_TRUE(plan.is_ok()) << plan.status().message();
  return plan.is_ok() ? *plan : std::string();
}

/// Runs the plan's engine on a seeded input of batch `n` and returns y.
std::vector<float> run_plan(const std::string& plan, int64_t n, const LoadOptions& o = {}) {
  auto engine = Engine::deserialize(plan, o);
  EXPECT_TRUE(engine.is_ok()) << engine.status().message();
  if (!engine.is_ok()) return {};
  auto ctx = (*engine)->create_execution_context();
  EXPECT_TRUE(ctx.is_ok());
  Tensor x = random_tensor(DType::kFloat32, {n, 3, 8, 8}, 7);
  std::vector<float> y(static_cast<size_t>(n * 4 * 64));
  EXPECT_TRUE((*ctx)->set_input_shape("x", {n, 3, 8, 8}).is_ok());
  auto shape = (*ctx)->tensor_shape("relu");
  EXPECT_TRUE(shape.is_ok());
  if (shape.is_ok()) {
    EXPECT_EQ(*shape, (Dims{n, 4, 8, 8}));
  }
  EXPECT_TRUE((*ctx)->set_tensor_address("x", x.raw()).is_ok());
  EXPECT_TRUE((*ctx)->set_tensor_address("relu", y.data()).is_ok());
  Status s = (*ctx)->execute();
  EXPECT_TRUE(s.is_ok()) << s.message();
  return y;
}

std::string output_name(const std::string& onnx) { return parse(onnx).outputs().at(0).name; }

TEST(EnginePlan, BuildSerializeLoadIsBitIdenticalToTheExecutor) {
  const std::string onnx = conv_model(1);
  ASSERT_EQ(output_name(onnx), "relu");
  const std::string plan = build(onnx, cpu_config());
  const std::vector<float> got = run_plan(plan, 3);
  // The same model through the executor directly, with the options the build recorded.
  ExecutorOptions o;
  o.input_shapes = {{"x", {3, 3, 8, 8}}};
  auto imported = Network::parse_onnx_bytes(onnx, "");
  ASSERT_TRUE(imported.is_ok());
  auto ex = Executor::create(clone_model(imported->impl().model), o);
  ASSERT_TRUE(ex.is_ok()) << ex.status().message();
  std::vector<Tensor> outs;
  ASSERT_TRUE((*ex)->run({{"x", random_tensor(DType::kFloat32, {3, 3, 8, 8}, 7)}}, &outs).is_ok());
  ASSERT_EQ(outs[0].numel(), static_cast<int64_t>(got.size()));
  EXPECT_EQ(std::memcmp(outs[0].raw(), got.data(), outs[0].nbytes()), 0);
  // Loading twice gives the same bits again.
  EXPECT_EQ(run_plan(plan, 3), got);
}

TEST(EnginePlan, InfoAndLayerTable) {
  BuildConfig c = cpu_config();
  c.refittable = true;
  const std::string onnx = conv_model(1);
  std::vector<LayerInfo> layers;
  auto info = Engine::read_info(build(onnx, c), &layers);
  ASSERT_TRUE(info.is_ok()) << info.status().message();
  EXPECT_EQ(info->device, DeviceKind::kCpu);
  EXPECT_EQ(info->tarmac_version, TARMAC_VERSION);
  EXPECT_EQ(info->onnx_hash, fnv1a64_hex(onnx));
  EXPECT_TRUE(info->refittable);
  ASSERT_EQ(info->profiles.size(), 1u);
  EXPECT_EQ(info->profiles[0].inputs.at("x").max, (Dims{4, 3, 8, 8}));
  ASSERT_FALSE(layers.empty());
  // Conv + Relu fuse into one layer named after both ONNX nodes.
  EXPECT_NE(layers[0].name.find("conv"), std::string::npos);
  EXPECT_EQ(layers[0].precision, "float32");
}

TEST(EnginePlan, ProfilesSelectAndRefuseShapesOutsideTheirRange) {
  BuildConfig c = cpu_config();
  c.profiles.push_back({{{"x", {{5, 3, 8, 8}, {6, 3, 8, 8}, {8, 3, 8, 8}}}}});
  auto engine = Engine::deserialize(build(conv_model(1), c));
  ASSERT_TRUE(engine.is_ok()) << engine.status().message();
  EXPECT_EQ((*engine)->num_profiles(), 2);
  auto ctx = (*engine)->create_execution_context();
  ASSERT_TRUE(ctx.is_ok());
  Status s = (*ctx)->set_input_shape("x", {6, 3, 8, 8});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("input 'x' dimension 0 is 6"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("[1, 4]"), std::string::npos) << s.message();
  ASSERT_TRUE((*ctx)->set_optimization_profile(1).is_ok());
  EXPECT_TRUE((*ctx)->set_input_shape("x", {6, 3, 8, 8}).is_ok());
  EXPECT_FALSE((*ctx)->set_input_shape("x", {2, 3, 8, 8}).is_ok());
  EXPECT_FALSE((*ctx)->set_input_shape("x", {6, 3, 8}).is_ok());
  EXPECT_FALSE((*ctx)->set_input_shape("nope", {6, 3, 8, 8}).is_ok());
  s = (*ctx)->set_optimization_profile(2);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("profile 2 does not exist"), std::string::npos);
  // Output shapes follow the input shape set in the chosen profile.
  auto y = (*ctx)->tensor_shape("relu");
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_EQ(*y, (Dims{6, 4, 8, 8}));
}

TEST(EnginePlan, DynamicModelWithoutProfileNamesTheFlags) {
  BuildConfig c;
  c.device = DeviceKind::kCpu;
  auto plan = build_serialized_engine(parse(conv_model(1)), c);
  ASSERT_FALSE(plan.is_ok());
  EXPECT_NE(plan.status().message().find("'x'"), std::string::npos);
  EXPECT_NE(plan.status().message().find("--minShapes"), std::string::npos);
  EXPECT_NE(plan.status().message().find("--shapes"), std::string::npos);
}

TEST(EnginePlan, BadProfilesAreRefused) {
  BuildConfig c = cpu_config();
  c.profiles[0].inputs["x"].min = {3, 3, 8, 8};  // min > opt
  EXPECT_FALSE(build_serialized_engine(parse(conv_model(1)), c).is_ok());
  c = cpu_config();
  c.profiles[0].inputs["x"].max = {4, 3, 9, 8};  // a static dim changed
  auto r = build_serialized_engine(parse(conv_model(1)), c);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("fixed at 8"), std::string::npos) << r.status().message();
  c = cpu_config();
  c.profiles[0].inputs["z"] = c.profiles[0].inputs["x"];
  EXPECT_FALSE(build_serialized_engine(parse(conv_model(1)), c).is_ok());
  c = cpu_config();
  c.optimization_level = 6;
  EXPECT_FALSE(build_serialized_engine(parse(conv_model(1)), c).is_ok());
}

TEST(EnginePlan, TruncatedCorruptedAndForeignPlansGetClearErrors) {
  const std::string plan = build(conv_model(1), cpu_config());
  auto expect_error = [](const std::string& bytes, const std::string& text) {
    auto e = Engine::deserialize(bytes);
    ASSERT_FALSE(e.is_ok()) << text;
    EXPECT_NE(e.status().message().find(text), std::string::npos) << e.status().message();
  };
  expect_error("", "not a tarmac plan");
  expect_error("GIF89a and more bytes here", "not a tarmac plan");
  for (size_t cut : {size_t{10}, size_t{30}, plan.size() / 2, plan.size() - 1})
    expect_error(plan.substr(0, cut), cut < 24 ? "not a tarmac plan" : "truncated");
  std::string flipped = plan;
  flipped[plan.size() / 2] = static_cast<char>(flipped[plan.size() / 2] ^ 0x40);
  expect_error(flipped, "checksum");
  std::string later = plan;
  later[8] = 9;  // format version 9
  expect_error(later, "format version 9");
}

TEST(EnginePlan, CudaPlanElsewhereSaysWhatWasExpected) {
  // A CPU plan relabelled as built for an sm_12 GPU: without a GPU the load says so, with one
  // it names both compute capabilities.
  auto p = parse_plan(build(conv_model(1), cpu_config()));
  ASSERT_TRUE(p.is_ok());
  p->header["device"]["kind"] = "cuda";
  p->header["device"]["compute_capability"] = 12;
  p->header["device"]["name"] = "Imaginary GPU";
  auto e = Engine::deserialize(serialize_plan(p->header, p->model, p->flags));
  ASSERT_FALSE(e.is_ok());
  const std::string& m = e.status().message();
  EXPECT_TRUE(m.find("no CUDA device") != std::string::npos ||
              m.find("built without CUDA") != std::string::npos ||
              m.find("compute capability 1.2 (Imaginary GPU)") != std::string::npos)
      << m;
}

TEST(EnginePlan, RefitSwapsWeightsAndNamesMismatches) {
  BuildConfig c = cpu_config();
  c.refittable = true;
  const std::string a = conv_model(1), b = conv_model(100);
  const std::string plan_a = build(a, c);
  auto refitted = refit_serialized_engine(plan_a, parse(b));
  ASSERT_TRUE(refitted.is_ok()) << refitted.status().message();
  const std::vector<float> want = run_plan(build(b, c), 2);
  EXPECT_EQ(run_plan(*refitted, 2), want);
  EXPECT_NE(run_plan(plan_a, 2), want);
  auto info = Engine::read_info(*refitted);
  ASSERT_TRUE(info.is_ok());
  EXPECT_EQ(info->onnx_hash, fnv1a64_hex(b));

  auto other = refit_serialized_engine(plan_a, parse(conv_model(1, 5)));
  ASSERT_FALSE(other.is_ok());
  EXPECT_NE(other.status().message().find("'w'"), std::string::npos) << other.status().message();
  auto not_refittable = refit_serialized_engine(build(a, cpu_config()), parse(b));
  ASSERT_FALSE(not_refittable.is_ok());
  EXPECT_NE(not_refittable.status().message().find("--refit"), std::string::npos);
}

TEST(EnginePlan, StrippedPlansAreRefittedFromOnnxAtLoad) {
  BuildConfig c = cpu_config();
  c.strip_weights = true;
  const std::string onnx = conv_model(3);
  const std::string full = build(onnx, cpu_config());
  const std::string stripped = build(onnx, c);
  EXPECT_LT(stripped.size() + 400, full.size());  // 4 * (4 * 27 + 4) bytes of weights
  auto missing = Engine::deserialize(stripped);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("--stripWeights"), std::string::npos);
  const std::string path =
      (std::filesystem::temp_directory_path() / "tarmac_stripped_weights.onnx").string();
  std::ofstream(path, std::ios::binary) << onnx;
  LoadOptions o;
  o.weights_onnx = path;
  EXPECT_EQ(run_plan(stripped, 2, o), run_plan(full, 2));
  std::ofstream(path, std::ios::binary | std::ios::trunc) << conv_model(3, 6);
  auto wrong = Engine::deserialize(stripped, o);
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().message().find("cannot refit"), std::string::npos);
  std::remove(path.c_str());
}

TEST(EnginePlan, WriteIsAtomicAndReadable) {
  const std::string plan = build(conv_model(1), cpu_config());
  const std::string path =
      (std::filesystem::temp_directory_path() / "tarmac_engine_plan_test.plan").string();
  ASSERT_TRUE(write_plan_file(path, plan).is_ok());
  auto e = Engine::load_file(path);
  EXPECT_TRUE(e.is_ok()) << e.status().message();
  EXPECT_FALSE(write_plan_file("/nonexistent-dir/x.plan", plan).is_ok());
  auto none = Engine::load_file("/nonexistent-dir/x.plan");
  ASSERT_FALSE(none.is_ok());
  EXPECT_NE(none.status().message().find("no file"), std::string::npos);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tarmac

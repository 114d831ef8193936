// Real-model tests: runs each model that python/export_models.py wrote to the models folder on
// the CPU executor, unoptimized and after the graph passes, and compares every output with
// ONNX Runtime's (and the two runs with each other) by relative L2 error.
//   TARMAC_MODELS_DIR=build/models tarmac_model_tests   (the environment overrides the build's)
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "onnx/importer.h"
#include "runtime/executor.h"

namespace tarmac {
namespace {

namespace fs = std::filesystem;

constexpr double kMaxRelativeL2 = 1e-5;

// Models the export script writes; each is reported, as a skip when absent.
const char* const kKnownModels[] = {
    "resnet50",      "mobilenet_v3_small",   "ssdlite", "yolox_nano", "mobilenet_v3_small_raw",
    "encoder_block", "pointpillars_backbone"};
// Models that stay in ../shared (relative to the source folder) instead of the models folder.
const std::map<std::string, std::string> kSharedModels = {
    {"yolox_nano", "../shared/models/yolox_nano.onnx"}};

fs::path source_dir() { return TARMAC_SOURCE_DIR; }

fs::path models_dir() {
  const char* env = std::getenv("TARMAC_MODELS_DIR");
  return env && *env ? fs::path(env) : fs::path(TARMAC_MODELS_DIR);
}

/// The known models plus every other generated one in the models folder.
std::vector<std::string> model_names() {
  std::set<std::string> names(std::begin(kKnownModels), std::end(kKnownModels));
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(models_dir(), ec)) {
    if (fs::exists(e.path() / "test_data_set_0")) names.insert(e.path().filename().string());
  }
  return {names.begin(), names.end()};
}

/// DIR/<name>/model.onnx, or the file named in model_path.txt (relative to the source folder).
fs::path model_file(const std::string& name, const fs::path& dir) {
  if (auto it = kSharedModels.find(name); it != kSharedModels.end())
    return source_dir() / it->second;
  std::ifstream in(dir / "model_path.txt");
  std::string line;
  if (!std::getline(in, line) || line.empty()) return dir / "model.onnx";
  const fs::path p(line);
  return p.is_absolute() ? p : source_dir() / p;
}

/// prefix_0.pb, prefix_1.pb, ... up to the first one missing.
std::vector<fs::path> numbered_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int i = 0;; ++i) {
    fs::path p = dir / (prefix + "_" + std::to_string(i) + ".pb");
    if (!fs::exists(p)) return files;
    files.push_back(std::move(p));
  }
}

class ModelTest : public testing::TestWithParam<std::string> {};

TEST_P(ModelTest, MatchesOnnxRuntime) {
  const std::string& name = GetParam();
  const fs::path dir = models_dir() / name;
  const fs::path data = dir / "test_data_set_0";
  const fs::path model = model_file(name, dir);
  if (kSharedModels.count(name) && !fs::exists(model))
    GTEST_SKIP() << model.string() << " is absent (../shared is not on this machine)";
  // The script writes stamp.txt last, once a model's files are complete.
  if (!fs::exists(dir / "stamp.txt") || !fs::exists(data / "input_0.pb"))
    GTEST_SKIP() << "models not generated: run python/export_models.py --out="
                 << models_dir().string();
  ASSERT_TRUE(fs::exists(model)) << model.string() << " is absent";

  // The model runs twice: as imported and after the graph passes. Both must match the
  // reference, and each other.
  std::vector<std::unique_ptr<Executor>> engines;
  std::vector<std::string> graph_inputs;
  size_t imported_nodes = 0;
  for (bool optimize : {false, true}) {
    auto imported = import_onnx_file(model.string());
    ASSERT_TRUE(imported.is_ok()) << imported.status().message();
    graph_inputs.clear();
    for (const Value* v : imported->model.graph.inputs) graph_inputs.push_back(v->name);
    imported_nodes = imported->model.graph.nodes.size();
    ExecutorOptions eo;
    eo.optimize = optimize;
    auto executor = Executor::create(std::move(imported->model), eo);
    ASSERT_TRUE(executor.is_ok()) << executor.status().message();
    engines.push_back(std::move(executor).value());
  }
  std::printf("%s: %zu ONNX nodes; %zu run unoptimized, %zu after the graph passes\n", name.c_str(),
              imported_nodes, engines[0]->num_runtime_nodes(), engines[1]->num_runtime_nodes());

  std::vector<std::pair<std::string, Tensor>> inputs;
  for (const fs::path& f : numbered_files(data, "input")) {
    auto t = load_named_tensor_proto_file(f.string());
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    // Unnamed tensors bind to graph inputs by position, as in the ONNX backend tests.
    const size_t i = inputs.size();
    std::string input_name = t->first;
    if (input_name.empty() && i < graph_inputs.size()) input_name = graph_inputs[i];
    inputs.emplace_back(input_name, std::move(t->second));
  }
  std::vector<std::vector<Tensor>> results(engines.size());
  for (size_t k = 0; k < engines.size(); ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    const Status st = engines[k]->run(inputs, &results[k]);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(st.is_ok()) << st.message();
    std::printf("%s (%s): ran in %.1f ms\n", name.c_str(), k ? "optimized" : "unoptimized", ms);
  }

  const std::vector<fs::path> expected = numbered_files(data, "output");
  for (size_t k = 0; k < engines.size(); ++k) {
    const std::vector<Tensor>& outputs = results[k];
    const char* mode = k ? "optimized" : "unoptimized";
    ASSERT_EQ(outputs.size(), expected.size()) << "output count differs from the reference";
    for (size_t i = 0; i < expected.size(); ++i) {
      auto want = load_tensor_proto_file(expected[i].string());
      ASSERT_TRUE(want.is_ok()) << want.status().message();
      ASSERT_EQ(want->dtype(), DType::kFloat32) << expected[i].string();
      ASSERT_EQ(outputs[i].dtype(), DType::kFloat32) << "output " << i;
      ASSERT_EQ(outputs[i].dims(), want->dims())
          << "output " << i << " has shape " << dims_to_string(outputs[i].dims()) << ", expected "
          << dims_to_string(want->dims());
      const double err = relative_l2_error(outputs[i], *want);
      std::printf("%s (%s): output %zu [%s] relative L2 error %.3g (limit %g)\n", name.c_str(),
                  mode, i, dims_to_string(want->dims()).c_str(), err, kMaxRelativeL2);
      RecordProperty(std::string(mode) + "_relative_l2_output_" + std::to_string(i),
                     std::to_string(err));
      EXPECT_LE(err, kMaxRelativeL2) << mode << " output " << i;
    }
  }
  for (size_t i = 0; i < results[0].size(); ++i) {
    const double err = relative_l2_error(results[1][i], results[0][i]);
    std::printf("%s: output %zu optimized vs unoptimized relative L2 %.3g\n", name.c_str(), i, err);
    EXPECT_LE(err, kMaxRelativeL2) << "optimized vs unoptimized, output " << i;
  }
}

std::string test_name(const testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(Models, ModelTest, testing::ValuesIn(model_names()), test_name);

}  // namespace
}  // namespace tarmac

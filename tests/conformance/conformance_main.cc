// Runs the ONNX backend tests (model + input/output TensorProtos) whose ops are all in
// tarmac's vocabulary, and compares outputs with the expected ones.
//   tarmac_conformance --data-dir=/usr/share/libonnx-testdata/data --skip-list=skip_list.txt
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "ir/op_registry.h"
#include "onnx/importer.h"
#include "onnx/onnx.pb.h"
#include "runtime/device_executor.h"
#include "runtime/executor.h"

namespace fs = std::filesystem;
using namespace tarmac;

namespace {

struct Options {
  std::string data_dir = "/usr/share/libonnx-testdata/data";
  std::string skip_list;
  std::string filter;
  bool verbose = false;
  std::string device = "cpu";
};

struct Tolerance {
  double rtol = 1e-3;
  double atol = 1e-5;
};

struct SkipList {
  std::map<std::string, std::string> skips;  // test name -> reason
  std::map<std::string, Tolerance> tolerances;
};

bool parse_skip_list(const std::string& path, SkipList* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string kind, name;
    ls >> kind >> name;
    std::string rest;
    std::getline(ls, rest);
    if (kind == "skip") {
      out->skips[name] = rest.substr(
          rest.find_first_not_of(' ') == std::string::npos ? 0 : rest.find_first_not_of(' '));
    } else if (kind == "tolerance") {
      Tolerance t;
      std::istringstream rs(rest);
      rs >> t.rtol >> t.atol;
      out->tolerances[name] = t;
    }
  }
  return true;
}

std::string compare(const Tensor& got, const Tensor& want, const Tolerance& tol) {
  if (got.dtype() != want.dtype()) {
    return fmt::format("dtype {} but expected {}", dtype_name(got.dtype()),
                       dtype_name(want.dtype()));
  }
  if (got.dims() != want.dims()) {
    return fmt::format("shape {} but expected {}", dims_to_string(got.dims()),
                       dims_to_string(want.dims()));
  }
  const bool exact = !is_floating(want.dtype());
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double a = got.as_double(i), b = want.as_double(i);
    if (exact) {
      if (got.as_int64(i) != want.as_int64(i)) {
        return fmt::format("element {} is {} but expected {}", i, got.as_int64(i),
                           want.as_int64(i));
      }
      continue;
    }
    if (std::isnan(b) || std::isnan(a)) {
      if (std::isnan(a) != std::isnan(b))
        return fmt::format("element {} is {} but expected {}", i, a, b);
      continue;
    }
    if (std::isinf(b) || std::isinf(a)) {
      if (a != b) return fmt::format("element {} is {} but expected {}", i, a, b);
      continue;
    }
    if (std::abs(a - b) > tol.atol + tol.rtol * std::abs(b)) {
      return fmt::format("element {} is {} but expected {} (rtol {}, atol {})", i, a, b, tol.rtol,
                         tol.atol);
    }
  }
  return "";
}

std::vector<std::string> sorted_files(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<int, std::string>> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && name.size() > prefix.size() + 3) {
      files.emplace_back(std::atoi(name.c_str() + prefix.size()), e.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> out;
  for (auto& f : files) out.push_back(f.second);
  return out;
}

/// "" when every node's op is in the vocabulary, else the first op that is not.
std::string out_of_scope(const std::string& model_path) {
  std::ifstream in(model_path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  onnx::ModelProto proto;
  if (!proto.ParseFromString(bytes)) return "";  // parse errors are reported when the test runs
  for (const auto& n : proto.graph().node()) {
    if (!is_onnx_domain(n.domain())) return n.op_type() + " (" + n.domain() + ")";
    if (!find_op(n.op_type())) return n.op_type();
  }
  return "";
}

/// Loads test_data_set_* inputs bound to graph input names (by name, else by position).
std::string load_inputs(const fs::path& set_dir, const std::vector<std::string>& input_names,
                        std::vector<std::pair<std::string, Tensor>>* inputs) {
  const auto in_files = sorted_files(set_dir, "input_");
  for (size_t i = 0; i < in_files.size(); ++i) {
    auto t = load_named_tensor_proto_file(in_files[i]);
    if (!t.is_ok()) return "input: " + t.status().message();
    std::string name = t->first;
    if (std::find(input_names.begin(), input_names.end(), name) == input_names.end()) {
      if (i >= input_names.size())
        return fmt::format("input file {} has no matching graph input", in_files[i]);
      name = input_names[i];
    }
    inputs->emplace_back(name, std::move(t->second));
  }
  return "";
}

/// Optimized-vs-unoptimized agreement over the whole run.
struct OptimizerStats {
  int compared = 0;
  double max_rel_l2 = 0;
  std::string worst;
};

/// The optimized graph must compute what the unoptimized one does (float32 relative L2).
constexpr double kOptimizerTolerance = 1e-5;

/// "" on success, else the failure reason. Runs the model unoptimized and optimized; both must
/// match the expected outputs, and each other within kOptimizerTolerance.
std::string run_test(const fs::path& dir, const Tolerance& tol, OptimizerStats* stats) {
  std::vector<std::unique_ptr<Executor>> engines;
  std::vector<std::string> input_names;
  for (bool optimize : {false, true}) {
    auto imported = import_onnx_file((dir / "model.onnx").string());
    if (!imported.is_ok()) return "import: " + imported.status().message();
    input_names.clear();
    for (const Value* v : imported->model.graph.inputs) input_names.push_back(v->name);
    ExecutorOptions eo;
    eo.optimize = optimize;
    auto ex = Executor::create(std::move(imported->model), eo);
    if (!ex.is_ok())
      return fmt::format("prepare ({}): {}", optimize ? "optimized" : "unoptimized",
                         ex.status().message());
    engines.push_back(std::move(ex).value());
  }
  int sets = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_directory() || e.path().filename().string().rfind("test_data_set_", 0) != 0) continue;
    ++sets;
    std::vector<std::pair<std::string, Tensor>> inputs;
    if (std::string why = load_inputs(e.path(), input_names, &inputs); !why.empty()) return why;
    std::vector<std::vector<Tensor>> results(engines.size());
    for (size_t k = 0; k < engines.size(); ++k) {
      Status st = engines[k]->run(inputs, &results[k]);
      if (!st.is_ok())
        return fmt::format("run ({}): {}", k ? "optimized" : "unoptimized", st.message());
    }
    const auto out_files = sorted_files(e.path(), "output_");
    for (size_t k = 0; k < engines.size(); ++k) {
      const std::vector<Tensor>& outputs = results[k];
      if (out_files.size() != outputs.size()) {
        return fmt::format("{} outputs but {} expected", outputs.size(), out_files.size());
      }
      for (size_t i = 0; i < out_files.size(); ++i) {
        auto want = load_tensor_proto_file(out_files[i]);
        if (!want.is_ok()) return "expected output: " + want.status().message();
        const std::string why = compare(outputs[i], *want, tol);
        if (!why.empty())
          return fmt::format("output {} ({}): {}", i, k ? "optimized" : "unoptimized", why);
      }
    }
    for (size_t i = 0; i < results[0].size(); ++i) {
      const double err = relative_l2_error(results[1][i], results[0][i]);
      ++stats->compared;
      if (err > stats->max_rel_l2) {
        stats->max_rel_l2 = err;
        stats->worst = dir.filename().string();
      }
      if (err > kOptimizerTolerance)
        return fmt::format(
            "output {}: optimized graph differs from unoptimized, relative L2 {:.3g}", i, err);
    }
  }
  if (sets == 0) return "no test_data_set_* folders";
  return "";
}

/// The same test on the CUDA executor (optimized graph, TF32 off). Returns "" on success and
/// sets *unsupported (not a failure) when a node has no CUDA kernel yet.
std::string run_test_cuda(const fs::path& dir, const Tolerance& tol, std::string* unsupported) {
  int sets = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_directory() || e.path().filename().string().rfind("test_data_set_", 0) != 0) continue;
    ++sets;
    auto imported = import_onnx_file((dir / "model.onnx").string());
    if (!imported.is_ok()) return "import: " + imported.status().message();
    std::vector<std::string> input_names;
    for (const Value* v : imported->model.graph.inputs) input_names.push_back(v->name);
    std::vector<std::pair<std::string, Tensor>> inputs;
    if (std::string why = load_inputs(e.path(), input_names, &inputs); !why.empty()) return why;
    DeviceExecutorOptions o;
    o.config.allow_tf32 = false;
    for (const auto& [name, t] : inputs) o.input_shapes[name] = t.dims();
    auto ex = DeviceExecutor::create(std::move(imported->model), o);
    if (!ex.is_ok()) {
      if (ex.status().code() == StatusCode::kUnsupported) {
        *unsupported = ex.status().message();
        return "";
      }
      return "prepare (cuda): " + ex.status().message();
    }
    std::vector<Tensor> outputs;
    Status st = (*ex)->run(inputs, &outputs);
    if (!st.is_ok()) return "run (cuda): " + st.message();
    const auto out_files = sorted_files(e.path(), "output_");
    if (out_files.size() != outputs.size())
      return fmt::format("{} outputs but {} expected", outputs.size(), out_files.size());
    for (size_t i = 0; i < out_files.size(); ++i) {
      auto want = load_tensor_proto_file(out_files[i]);
      if (!want.is_ok()) return "expected output: " + want.status().message();
      const std::string why = compare(outputs[i], *want, tol);
      if (!why.empty()) return fmt::format("output {} (cuda): {}", i, why);
    }
  }
  if (sets == 0) return "no test_data_set_* folders";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&](const char* k) { return a.substr(std::string(k).size()); };
    if (a.rfind("--data-dir=", 0) == 0)
      opt.data_dir = val("--data-dir=");
    else if (a.rfind("--skip-list=", 0) == 0)
      opt.skip_list = val("--skip-list=");
    else if (a.rfind("--filter=", 0) == 0)
      opt.filter = val("--filter=");
    else if (a == "--verbose" || a == "-v")
      opt.verbose = true;
    else if (a.rfind("--device=", 0) == 0)
      opt.device = val("--device=");
    else {
      std::fprintf(stderr, "error: unknown argument '%s'\n", a.c_str());
      return 2;
    }
  }
  SkipList skips;
  if (!opt.skip_list.empty() && !parse_skip_list(opt.skip_list, &skips)) {
    std::fprintf(stderr, "error: cannot read skip list '%s'\n", opt.skip_list.c_str());
    return 2;
  }
  if (!fs::is_directory(opt.data_dir)) {
    std::fprintf(stderr,
                 "error: ONNX test data folder '%s' does not exist (install libonnx-testdata)\n",
                 opt.data_dir.c_str());
    return 2;
  }
  if (opt.device != "cpu" && opt.device != "cuda") {
    std::fprintf(stderr, "error: --device must be cpu or cuda\n");
    return 2;
  }
  if (opt.device == "cuda") {
    DeviceExecutorOptions probe;
    auto ex = DeviceExecutor::create(Model{}, probe);
    if (!ex.is_ok() && ex.status().code() == StatusCode::kUnavailable) {
      std::printf("skipped: %s\n", ex.status().message().c_str());
      return 77;
    }
  }
  int not_on_gpu = 0;
  std::map<std::string, int> missing_ops;
  std::regex filter(opt.filter.empty() ? ".*" : opt.filter);
  int passed = 0, failed = 0, skipped = 0, out_of_set = 0;
  std::vector<std::string> failures;
  OptimizerStats opt_stats;
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    const fs::path sdir = fs::path(opt.data_dir) / suite;
    if (!fs::is_directory(sdir)) continue;
    std::vector<fs::path> tests;
    for (const auto& e : fs::directory_iterator(sdir))
      if (e.is_directory()) tests.push_back(e.path());
    std::sort(tests.begin(), tests.end());
    for (const fs::path& t : tests) {
      const std::string name = t.filename().string();
      if (!std::regex_search(name, filter)) continue;
      if (!fs::exists(t / "model.onnx")) continue;
      const std::string scope = out_of_scope((t / "model.onnx").string());
      if (!scope.empty()) {
        ++out_of_set;
        if (opt.verbose)
          std::printf("N/A   %s/%s (op %s is outside the supported set)\n", suite, name.c_str(),
                      scope.c_str());
        continue;
      }
      if (auto it = skips.skips.find(name); it != skips.skips.end()) {
        ++skipped;
        std::printf("SKIP  %s/%s: %s\n", suite, name.c_str(), it->second.c_str());
        continue;
      }
      Tolerance tol;
      if (auto it = skips.tolerances.find(name); it != skips.tolerances.end()) tol = it->second;
      std::string unsupported;
      const std::string why =
          opt.device == "cuda" ? run_test_cuda(t, tol, &unsupported) : run_test(t, tol, &opt_stats);
      if (why.empty() && !unsupported.empty()) {
        ++not_on_gpu;
        // "... cannot run on the GPU ...:\n  Op 'name': reason" -> count the first op.
        const size_t nl = unsupported.find("\n  ");
        const std::string first =
            nl == std::string::npos ? unsupported : unsupported.substr(nl + 3);
        missing_ops[first.substr(0, first.find(' '))]++;
        if (opt.verbose) std::printf("NOGPU %s/%s: %s\n", suite, name.c_str(), first.c_str());
        continue;
      }
      if (why.empty()) {
        ++passed;
        if (opt.verbose) std::printf("PASS  %s/%s\n", suite, name.c_str());
      } else {
        ++failed;
        std::printf("FAIL  %s/%s: %s\n", suite, name.c_str(), why.c_str());
      }
      std::fflush(stdout);
    }
  }
  std::printf("%d tests outside the supported op set were not run\n", out_of_set);
  if (opt.device == "cuda") {
    std::printf("%d tests have a node without a CUDA kernel yet (first such op: count):",
                not_on_gpu);
    for (const auto& [op, n] : missing_ops) std::printf(" %s:%d", op.c_str(), n);
    std::printf("\ncuda: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed == 0 ? 0 : 1;
  }
  std::printf("optimized vs unoptimized: %d outputs compared, max relative L2 %.3g%s%s\n",
              opt_stats.compared, opt_stats.max_rel_l2, opt_stats.worst.empty() ? "" : " in ",
              opt_stats.worst.c_str());
  std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed == 0 ? 0 : 1;
}

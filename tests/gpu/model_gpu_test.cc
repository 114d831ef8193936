// Real models on the CUDA executor against the stored reference outputs (ONNX Runtime):
// float32 with TF32 off (relative L2 <= 1e-5) and on (<= 1e-3), float16 and bfloat16
// (<= 1e-2), no NaN or Inf where the reference has none. Where the number format itself
// cannot reach the bar on a model, the bar is what the CPU reference executor reaches with
// the same storage format (see format_limit). Models come from python/export_models.py:
// TARMAC_MODELS_DIR=<dir with NAME/model.onnx and NAME/test_data_set_0>.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "gpu_test_util.h"
#include "onnx/importer.h"
#include "runtime/device_executor.h"
#include "runtime/executor.h"

namespace tarmac::testing {
namespace {

namespace fs = std::filesystem;

struct Mode {
  const char* name;
  DType precision;
  bool tf32;
  double tol;
};

const Mode kModes[] = {{"fp32", DType::kFloat32, false, 1e-5},
                       {"tf32", DType::kFloat32, true, 1e-3},
                       {"fp16", DType::kFloat16, true, 1e-2},
                       {"bf16", DType::kBFloat16, true, 1e-2}};

std::vector<fs::path> model_dirs() {
  std::vector<fs::path> out;
  const char* env = std::getenv("TARMAC_MODELS_DIR");
  if (!env || !*env) return out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(env, ec))
    if (fs::exists(e.path() / "model.onnx") && fs::exists(e.path() / "test_data_set_0"))
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

/// Outputs of the CPU reference executor computing in `precision` (float16 / bfloat16 storage,
/// float32 arithmetic inside each kernel).
std::vector<Tensor> cpu_outputs(const fs::path& dir, DType precision,
                                const std::vector<std::pair<std::string, Tensor>>& inputs) {
  auto imported = import_onnx_file((dir / "model.onnx").string());
  EXPECT_TRUE(imported.is_ok());
  if (!imported.is_ok()) return {};
  ExecutorOptions o;
  o.precision = precision;
  auto ex = Executor::create(std::move(imported->model), o);
  EXPECT_TRUE(ex.is_ok()) << ex.status().message();
  std::vector<Tensor> out;
  if (!ex.is_ok()) return out;
  Status s = (*ex)->run(inputs, &out);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return out;
}

/// The bar for a reduced-precision mode: the tolerance, or the error the format itself
/// gives on the CPU when that is larger — float16 for TF32 (both round the inputs of a
/// convolution or GEMM to a 10-bit mantissa; TF32 keeps float32 storage, so it may only do
/// better), 1.25x the CPU's own float16 / bfloat16 error for those modes.
double format_limit(const Mode& m, double cpu_fp16_err, double cpu_bf16_err) {
  if (m.precision == DType::kFloat32) return m.tf32 ? std::max(m.tol, cpu_fp16_err) : m.tol;
  const double own = m.precision == DType::kFloat16 ? cpu_fp16_err : cpu_bf16_err;
  return std::max(m.tol, 1.25 * own);
}

bool all_finite(const Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(t.as_double(i))) return false;
  return true;
}

TEST(CudaModels, MatchReferenceInEveryPrecision) {
  TARMAC_REQUIRE_GPU();
  const auto dirs = model_dirs();
  if (dirs.empty()) GTEST_SKIP() << "TARMAC_MODELS_DIR is not set or holds no models";
  for (const fs::path& dir : dirs) {
    std::vector<std::pair<std::string, Tensor>> inputs;
    std::vector<Tensor> want;
    {
      auto probe = import_onnx_file((dir / "model.onnx").string());
      ASSERT_TRUE(probe.is_ok()) << probe.status().message();
      const auto& gin = probe->model.graph.inputs;
      for (size_t i = 0;; ++i) {
        const fs::path f = dir / "test_data_set_0" / ("input_" + std::to_string(i) + ".pb");
        if (!fs::exists(f)) break;
        auto t = load_named_tensor_proto_file(f.string());
        ASSERT_TRUE(t.is_ok()) << t.status().message();
        std::string name = t->first.empty() && i < gin.size() ? gin[i]->name : t->first;
        inputs.emplace_back(name, std::move(t->second));
      }
      for (size_t i = 0;; ++i) {
        const fs::path f = dir / "test_data_set_0" / ("output_" + std::to_string(i) + ".pb");
        if (!fs::exists(f)) break;
        auto t = load_tensor_proto_file(f.string());
        ASSERT_TRUE(t.is_ok()) << t.status().message();
        want.push_back(std::move(t).value());
      }
    }
    const std::vector<Tensor> cpu_fp16 = cpu_outputs(dir, DType::kFloat16, inputs);
    const std::vector<Tensor> cpu_bf16 = cpu_outputs(dir, DType::kBFloat16, inputs);
    ASSERT_EQ(cpu_fp16.size(), want.size());
    ASSERT_EQ(cpu_bf16.size(), want.size());
    for (const Mode& m : kModes) {
      const std::string label = dir.filename().string() + " " + m.name;
      auto imported = import_onnx_file((dir / "model.onnx").string());
      ASSERT_TRUE(imported.is_ok());
      DeviceExecutorOptions o;
      o.precision = m.precision;
      o.config.allow_tf32 = m.tf32;
      o.use_cuda_graph = true;
      for (const auto& [name, t] : inputs) o.input_shapes[name] = t.dims();
      auto ex = DeviceExecutor::create(std::move(imported->model), o);
      ASSERT_TRUE(ex.is_ok()) << label << ": " << ex.status().message();
      std::vector<Tensor> got;
      Status s = (*ex)->run(inputs, &got);
      ASSERT_TRUE(s.is_ok()) << label << ": " << s.message();
      ASSERT_EQ(got.size(), want.size()) << label;
      for (size_t i = 0; i < got.size(); ++i) {
        const double err = relative_l2_error(got[i], want[i]);
        const double limit = format_limit(m, relative_l2_error(cpu_fp16[i], want[i]),
                                          relative_l2_error(cpu_bf16[i], want[i]));
        if (limit > m.tol && m.precision != DType::kFloat32) {
          // The format's own error dominates. Printed, not asserted: two correct
          // implementations in one short format drift apart about as far as each drifts from
          // float32 (different summation orders), so their distance is no sharper bar.
          const Tensor& same = m.precision == DType::kFloat16 ? cpu_fp16[i] : cpu_bf16[i];
          const double vs_cpu = relative_l2_error(got[i], same);
          std::printf("%s output %zu: CPU %s reaches only %.3g; GPU vs CPU %s %.3g\n",
                      label.c_str(), i, m.name, limit / 1.25, m.name, vs_cpu);
        }
        const DeviceMemoryReport& mem = (*ex)->memory();
        auto t = (*ex)->time_compute();
        std::printf(
            "%s output %zu: relative L2 %.3g (limit %.3g); arena %zu / bound %zu = %.3f; "
            "GPU compute %.3f ms\n",
            label.c_str(), i, err, limit, mem.arena_bytes, mem.lower_bound_bytes,
            static_cast<double>(mem.arena_bytes) / std::max<size_t>(mem.lower_bound_bytes, 1),
            t.is_ok() ? *t : -1.0);
        EXPECT_LE(err, limit) << label << " output " << i;
        if (all_finite(want[i])) {
          EXPECT_TRUE(all_finite(got[i])) << label << " output " << i << " has NaN/Inf";
        }
      }
    }
  }
}

}  // namespace
}  // namespace tarmac::testing

// GPU kernel harness: runs one node on the CPU reference kernels and on the CUDA backend and
// compares the outputs. Tests skip without a usable CUDA device.
//   GpuCase c("Add");
//   c.input(random_tensor(DType::kFloat32, {2, 3, 5}, 1)).input(random_tensor(..., {3, 1}, 2));
//   expect_gpu_matches_cpu(c, 1e-6);
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/random.h"
#include "ir/graph.h"

namespace tarmac::testing {

/// Skips the current test when no CUDA device is usable (CI has none).
#define TARMAC_REQUIRE_GPU()                                                     \
  do {                                                                           \
    if (::tarmac::Status s_ = ::tarmac::testing::gpu_available(); !s_.is_ok()) { \
      GTEST_SKIP() << s_.message();                                              \
    }                                                                            \
  } while (0)

Status gpu_available();

/// One node with its inputs. Inputs marked constant become initializers (their contents are
/// visible at build time, as weights and shape/axes inputs are in real models).
struct GpuCase {
  explicit GpuCase(std::string op_type, int64_t opset_ = 17)
      : op(std::move(op_type)), opset(opset_) {}
  GpuCase& input(Tensor t, bool is_constant = false) {
    inputs.push_back(std::move(t));
    constant.push_back(is_constant);
    present.push_back(true);
    return *this;
  }
  GpuCase& absent_input() {
    inputs.emplace_back();
    constant.push_back(false);
    present.push_back(false);
    return *this;
  }
  GpuCase& attr_int(const std::string& n, int64_t v);
  GpuCase& attr_float(const std::string& n, float v);
  GpuCase& attr_string(const std::string& n, const std::string& v);
  GpuCase& attr_ints(const std::string& n, std::vector<int64_t> v);
  GpuCase& attr_floats(const std::string& n, std::vector<float> v);

  std::string op;
  int64_t opset;
  std::string domain;  // "" or "tarmac" (internal fused nodes)
  std::vector<Tensor> inputs;
  std::vector<bool> constant, present;
  std::map<std::string, Attribute> attrs;
  size_t num_outputs = 1;
  KernelConfig config;
};

struct GpuResult {
  std::vector<Tensor> cpu, gpu;
};

/// Runs the case both ways. Fails with the CUDA backend's kUnsupported status when the node
/// has no CUDA kernel for this configuration.
StatusOr<GpuResult> run_gpu_case(const GpuCase& c);

/// Expects every output to match: same dtype and dims; floats within relative L2 `tol` with
/// NaN/Inf at the same positions; integers and bools exactly.
void expect_gpu_matches_cpu(const GpuCase& c, double tol);

}  // namespace tarmac::testing

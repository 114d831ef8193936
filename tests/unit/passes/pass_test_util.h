// Helpers for pass tests: a small graph builder, a runner for chosen passes and a check that
// the rewritten model computes what the original computed.
//   auto make = [] { GraphBuilder b; Value* x = b.input("x", {1, 3, 8, 8}); ... return b.take(); };
//   Model m = make();
//   auto log = run_passes(m, {"conv_bn_folding"});
//   EXPECT_EQ(count_ops(m, "BatchNormalization"), 0);
//   expect_same_outputs(make, std::move(m));
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "ir/graph.h"
#include "passes/pass.h"
#include "passes/pass_manager.h"

namespace tarmac::testing {

class GraphBuilder {
 public:
  explicit GraphBuilder(int64_t opset = 17);
  /// A float32 (or `dtype`) runtime input.
  Value* input(const std::string& name, const Dims& dims, DType dtype = DType::kFloat32);
  /// An input with symbolic dims (Dim::sym("batch")).
  Value* input_shape(const std::string& name, const Shape& shape, DType dtype = DType::kFloat32);
  Value* initializer(const std::string& name, Tensor t);
  /// Seeded uniform float32 initializer in [lo, hi).
  Value* random_initializer(const std::string& name, const Dims& dims, float lo = -1, float hi = 1);
  /// A node with `num_outputs` fresh outputs named "<name>_out<i>" (or "<name>" for one output).
  Node* node(const std::string& op, const std::string& name, std::vector<Value*> inputs,
             size_t num_outputs = 1);
  Value* out(Node* n, size_t i = 0) { return n->outputs[i]; }
  void output(Value* v);
  Model take();

 private:
  Model model_;
  uint32_t seed_ = 1;
};

void set_int(Node* n, const std::string& attr, int64_t v);
void set_float(Node* n, const std::string& attr, float v);
void set_ints(Node* n, const std::string& attr, std::vector<int64_t> v);
void set_string(Node* n, const std::string& attr, const std::string& v);

/// Runs only the named passes (in default-pipeline order, dead code elimination always last)
/// and returns the log lines. Fails the test on an error.
std::vector<std::string> run_passes(Model& m, const std::vector<std::string>& passes,
                                    bool allow_internal_ops = true, bool fold_constants = true);
/// Number of nodes with the op type (any domain).
int count_ops(const Model& m, const std::string& op);
/// Runs a fresh model from `make` unoptimized and `optimized` as it is on the same seeded random
/// inputs and expects every output to agree within relative L2 `tol`.
void expect_same_outputs(const std::function<Model()>& make, Model optimized, double tol = 1e-5);
/// True when any log line contains `text`.
bool log_contains(const std::vector<std::string>& log, const std::string& text);

}  // namespace tarmac::testing

// Executor: runs a verified, inferred graph node by node on one backend.
//   auto ex = Executor::create(std::move(model), {});
//   std::vector<Tensor> outs;
//   Status s = (*ex)->run({{"images", x}}, &outs);
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backends/backend.h"
#include "core/status.h"
#include "ir/graph.h"
#include "runtime/tensor_tap.h"

namespace tarmac {

struct ExecutorOptions {
  /// CPU threads; 0 = all cores.
  int num_threads = 0;
  /// Static input shapes that replace symbolic dims before inference (name -> dims).
  std::map<std::string, Dims> input_shapes;
  /// Record per-node wall time on each run.
  bool profile = false;
  /// Run the graph passes (src/passes) before binding kernels.
  bool optimize = true;
  /// kFloat32, or kFloat16 / kBFloat16 to compute in half precision (builder/precision.h), or
  /// kFloat64 for a reference that computes every float32 tensor in double and returns float64
  /// outputs (`tarmac compare`).
  DType precision = DType::kFloat32;
  /// Layers kept in float32 when precision is half.
  std::set<std::string> keep_fp32;
  /// Receives the passes' rewrite log when set (`--verbose`).
  std::function<void(const std::string&)> log;
};

struct NodeTiming {
  std::string name;
  std::string op_type;
  double total_ms = 0;
  int64_t calls = 0;
};

class Executor {
 public:
  /// Verifies and infers the graph, folds constant subgraphs and binds one kernel per node.
  static StatusOr<std::unique_ptr<Executor>> create(Model model, const ExecutorOptions& options);

  const Model& model() const { return model_; }
  /// Runs the graph. `inputs` must name every graph input; shapes must fit the declared ones.
  /// `tap`, when set, sees every tensor computed (the run is otherwise unchanged).
  Status run(const std::vector<std::pair<std::string, Tensor>>& inputs,
             std::vector<Tensor>* outputs, const TensorTap& tap = nullptr);
  const std::vector<NodeTiming>& timings() const { return timings_; }
  /// Nodes that run at inference time (constant-folded ones excluded).
  size_t num_runtime_nodes() const { return steps_.size(); }

 private:
  struct Step {
    const Node* node;
    std::unique_ptr<Kernel> kernel;
    std::vector<int> inputs;   // value slot per input, -1 when absent
    std::vector<int> outputs;  // value slot per output, -1 when not requested
    std::vector<int> release;  // slots whose last use is this step
  };

  Status prepare(const ExecutorOptions& options);
  Status check_input(const Value& v, const Tensor& t,
                     std::map<std::string, int64_t>* symbols) const;

  Model model_;
  std::unique_ptr<Backend> backend_;
  std::vector<Step> steps_;
  std::map<const Value*, int> slot_of_;
  std::vector<std::shared_ptr<const Tensor>> constants_;  // per slot, for constant values
  std::vector<int> input_slots_;
  std::vector<int> output_slots_;
  int num_slots_ = 0;
  bool profile_ = false;
  std::vector<NodeTiming> timings_;
};

}  // namespace tarmac

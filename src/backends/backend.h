// The backend interface: what the builder and runtime ask of every backend.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace tarmac {

/// One node's executable form, bound to a backend and a tactic.
class Kernel {
 public:
  virtual ~Kernel() = default;
  /// `inputs[i]` is nullptr for an absent optional input; outputs are assigned by the kernel.
  virtual Status run(const std::vector<const Tensor*>& inputs, std::vector<Tensor>* outputs) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  /// OK when this backend can run the node, else a Status saying why not.
  virtual Status supports(const Node& node, int64_t opset) const = 0;
  /// Implementation variants the builder may time; the first is the default.
  virtual std::vector<std::string> tactics(const Node& node, int64_t opset) const = 0;
  virtual StatusOr<std::unique_ptr<Kernel>> make_kernel(const Node& node, int64_t opset,
                                                        const std::string& tactic) const = 0;
};

/// The CPU reference backend (src/backends/cpu).
std::unique_ptr<Backend> make_cpu_backend();

/// Runs one node on the CPU reference kernels (used for constant folding).
StatusOr<std::vector<Tensor>> evaluate_node_on_cpu(const Node& node, int64_t opset,
                                                   const std::vector<const Tensor*>& inputs);

}  // namespace tarmac

// Graph passes: the interface every pass implements and the context it rewrites through.
//   class MyPass final : public Pass {
//     std::string_view name() const override { return "my_pass"; }
//     Status run(PassContext& ctx) override {
//       for (Node* n : ctx.live_nodes()) { ... ctx.rewrite("...", {n}); }
//       return Status::ok();
//     }
//   };
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "ir/fused_ops.h"
#include "ir/graph.h"
#include "ir/inference.h"

namespace tarmac {

struct PassOptions {
  /// May passes create internal fused nodes? false for `tarmac sanitize`, which must write
  /// standard ONNX.
  bool allow_internal_ops = true;
  /// Replace constant subgraphs by initializers.
  bool fold_constants = true;
  /// Largest folded result, in bytes; bigger constants stay computed at run time.
  int64_t fold_size_limit_bytes = int64_t{16} << 20;
  /// Evaluates a node on constant inputs (the CPU reference kernels).
  NodeEvaluator evaluator;
  /// Pass names to skip.
  std::set<std::string> disabled;
  /// Receives one line per rewrite and per candidate left alone; null = quiet.
  std::function<void(const std::string&)> log;
  /// Rounds over the whole pass list; the manager stops earlier once nothing changes.
  int max_rounds = 4;
};

/// What a pass sees: the graph, the opset and the means to record what it did.
class PassContext {
 public:
  PassContext(Model& model, const PassOptions& options, std::string_view pass_name)
      : model_(model), options_(options), pass_name_(pass_name) {}

  Graph& graph() { return model_.graph; }
  Model& model() { return model_; }
  int64_t opset() const { return model_.onnx_opset(); }
  const PassOptions& options() const { return options_; }

  /// Nodes not removed yet, in topological order (a snapshot; safe to rewrite while iterating).
  std::vector<Node*> live_nodes() const;
  /// Marks a node for removal; the manager erases it after the pass.
  void remove(Node* n) { removed_.insert(n); }
  bool is_removed(const Node* n) const { return removed_.count(n) != 0; }
  /// Records one rewrite and logs "[pass] message".
  void rewrite(const std::string& message);
  /// Logs why a candidate was left alone (verbose only; not counted).
  void skip(const std::string& message) const;

  int rewrites() const { return rewrites_; }
  const std::set<const Node*>& removed() const { return removed_; }

 private:
  Model& model_;
  const PassOptions& options_;
  std::string_view pass_name_;
  std::set<const Node*> removed_;
  int rewrites_ = 0;
};

class Pass {
 public:
  virtual ~Pass() = default;
  /// snake_case name used in logs, reports and PassOptions::disabled.
  virtual std::string_view name() const = 0;
  virtual Status run(PassContext& ctx) = 0;
};

}  // namespace tarmac

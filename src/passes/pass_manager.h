// Pass manager: runs an ordered list of passes over a model, repeating the list until nothing
// changes, and keeps the graph sorted, linked and inferred between passes.
//   PassOptions o; o.evaluator = evaluate_node_on_cpu;  // the caller injects the evaluator
//   PassManager pm = default_pipeline();
//   std::vector<PassReport> report;
//   TARMAC_RETURN_IF_ERROR(pm.run(model, o, &report));
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace tarmac {

/// What one pass did over all rounds.
struct PassReport {
  std::string pass;
  int rewrites = 0;
};

class PassManager {
 public:
  void add(std::unique_ptr<Pass> pass) { passes_.push_back(std::move(pass)); }
  const std::vector<std::unique_ptr<Pass>>& passes() const { return passes_; }
  /// Verifies and infers the model, then runs the passes in order, round after round, until a
  /// round changes nothing or `options.max_rounds` is reached. The graph is verified and
  /// re-inferred after every pass that changed it, so a broken rewrite is reported with the
  /// pass's name instead of surfacing at run time.
  Status run(Model& model, const PassOptions& options, std::vector<PassReport>* report) const;

 private:
  std::vector<std::unique_ptr<Pass>> passes_;
};

/// All passes in their standard order (see docs/design.md, "Graph passes").
PassManager default_pipeline();
/// Names of the passes in `default_pipeline()`, in order.
std::vector<std::string> default_pass_names();

}  // namespace tarmac

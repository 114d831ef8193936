#include "passes/pass_manager.h"

#include <algorithm>

#include "ir/verifier.h"
#include "passes/passes.h"

namespace tarmac {

std::vector<Node*> PassContext::live_nodes() const {
  std::vector<Node*> out;
  out.reserve(model_.graph.nodes.size());
  for (auto& n : model_.graph.nodes)
    if (!is_removed(n.get())) out.push_back(n.get());
  return out;
}

void PassContext::rewrite(const std::string& message) {
  ++rewrites_;
  if (options_.log) options_.log(fmt::format("[{}] {}", pass_name_, message));
}

void PassContext::skip(const std::string& message) const {
  if (options_.log) options_.log(fmt::format("[{}] left alone: {}", pass_name_, message));
}

namespace {

/// Erases removed nodes and intermediate values nothing refers to any more, relinks, sorts and
/// re-infers.
Status cleanup(Model& model, const PassContext& ctx, const PassOptions& options,
               std::string_view pass) {
  Graph& g = model.graph;
  if (!ctx.removed().empty()) {
    g.nodes.erase(std::remove_if(g.nodes.begin(), g.nodes.end(),
                                 [&](const std::unique_ptr<Node>& n) {
                                   return ctx.removed().count(n.get()) != 0;
                                 }),
                  g.nodes.end());
  }
  g.relink();
  g.values.erase(std::remove_if(g.values.begin(), g.values.end(),
                                [&](const std::unique_ptr<Value>& v) {
                                  const bool orphan = !v->producer && v->consumers.empty() &&
                                                      !v->is_graph_input && !v->is_graph_output &&
                                                      !v->is_initializer;
                                  if (orphan) g.value_by_name.erase(v->name);
                                  return orphan;
                                }),
                 g.values.end());
  InferOptions io;
  io.evaluator = options.evaluator;
  io.fold_limit_bytes = options.fold_size_limit_bytes;
  Status s = verify_and_infer(g, model.onnx_opset(), io);
  if (!s.is_ok()) return s.with_context(fmt::format("after pass '{}'", pass));
  return Status::ok();
}

}  // namespace

Status PassManager::run(Model& model, const PassOptions& options,
                        std::vector<PassReport>* report) const {
  InferOptions io;
  io.evaluator = options.evaluator;
  io.fold_limit_bytes = options.fold_size_limit_bytes;
  TARMAC_RETURN_IF_ERROR(verify_and_infer(model.graph, model.onnx_opset(), io));
  std::vector<PassReport> local;
  for (const auto& p : passes_) local.push_back({std::string(p->name()), 0});
  for (int round = 0; round < std::max(1, options.max_rounds); ++round) {
    bool changed = false;
    for (size_t i = 0; i < passes_.size(); ++i) {
      Pass& pass = *passes_[i];
      if (options.disabled.count(std::string(pass.name()))) continue;
      PassContext ctx(model, options, pass.name());
      Status s = pass.run(ctx);
      if (!s.is_ok()) return s.with_context(fmt::format("pass '{}'", pass.name()));
      if (ctx.rewrites() == 0 && ctx.removed().empty()) continue;
      changed = true;
      local[i].rewrites += ctx.rewrites();
      TARMAC_RETURN_IF_ERROR(cleanup(model, ctx, options, pass.name()));
    }
    if (!changed) break;
  }
  if (report) *report = std::move(local);
  return Status::ok();
}

PassManager default_pipeline() {
  PassManager pm;
  // Folding first so later passes see constant weights and static shapes; structural cleanups
  // before the fusions that match on producer/consumer pairs; dead code last.
  pm.add(make_constant_folding_pass());
  pm.add(make_noop_elimination_pass());
  pm.add(make_transpose_reshape_pass());
  pm.add(make_cse_pass());
  pm.add(make_conv_bn_folding_pass());
  pm.add(make_pad_folding_pass());
  pm.add(make_layernorm_fusion_pass());
  pm.add(make_gelu_fusion_pass());
  pm.add(make_matmul_add_fusion_pass());
  pm.add(make_conv_residual_fusion_pass());
  pm.add(make_activation_fusion_pass());
  // Last of the fusions: it takes only the elementwise work the pattern fusions left.
  pm.add(make_elementwise_fusion_pass());
  pm.add(make_dead_code_elimination_pass());
  return pm;
}

std::vector<std::string> default_pass_names() {
  std::vector<std::string> names;
  const PassManager pm = default_pipeline();
  for (const auto& p : pm.passes()) names.emplace_back(p->name());
  return names;
}

}  // namespace tarmac

// Dead code elimination: nodes none of whose outputs reach a graph output, and initializers
// nothing reads.
#include "passes/passes.h"
#include "passes/rewrite.h"

namespace tarmac {

namespace {

class DeadCodeEliminationPass final : public Pass {
 public:
  std::string_view name() const override { return "dead_code_elimination"; }

  Status run(PassContext& ctx) override {
    Graph& g = ctx.graph();
    std::vector<Node*> nodes = ctx.live_nodes();
    // Reverse topological order: a node is dead when no live node and no graph output reads
    // any of its outputs.
    std::set<const Node*> live;
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
      Node* n = *it;
      bool used = false;
      for (const Value* out : n->outputs) {
        if (!out) continue;
        if (out->is_graph_output) used = true;
        for (const Node* c : out->consumers)
          if (live.count(c)) used = true;
      }
      if (used) {
        live.insert(n);
        continue;
      }
      ctx.remove(n);
      ctx.rewrite(fmt::format("removed {} (no output is used)", n->describe()));
    }
    std::set<const Value*> read;
    for (const Node* n : live)
      for (const Value* in : n->inputs)
        if (in) read.insert(in);
    for (auto& v : g.values) {
      if (!v->is_initializer || v->is_graph_output || v->is_graph_input || read.count(v.get()))
        continue;
      v->is_initializer = false;  // an orphan now: the manager's cleanup erases it
      v->constant.reset();
      v->consumers.clear();
      ctx.rewrite(fmt::format("removed unused initializer '{}'", v->name));
    }
    return Status::ok();
  }
};

}  // namespace

std::unique_ptr<Pass> make_dead_code_elimination_pass() {
  return std::make_unique<DeadCodeEliminationPass>();
}

}  // namespace tarmac

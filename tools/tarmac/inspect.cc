// `tarmac inspect M [--json]`: what a model is made of and whether tarmac can run it.
#include <cstdio>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "backends/backend.h"
#include "cli_common.h"
#include "commands.h"
#include "ir/fused_ops.h"
#include "ir/inference.h"
#include "ir/verifier.h"
#include "onnx/importer.h"
#include "passes/pass_manager.h"

namespace tarmac::cli {

namespace {

struct InspectOptions {
  std::string model;
  bool json = false;
  bool layers = false;
  std::string shapes;
  bool verbose = false;
};

nlohmann::json value_json(const Value& v) {
  nlohmann::json dims = nlohmann::json::array();
  for (const Dim& d : v.type.shape) {
    if (d.is_static())
      dims.push_back(d.value);
    else
      dims.push_back(d.symbol.empty() ? "?" : d.symbol);
  }
  nlohmann::json j = {{"name", v.name}, {"dtype", std::string(dtype_name(v.type.dtype))}};
  j["shape"] = v.type.has_shape ? dims : nlohmann::json(nullptr);
  return j;
}

std::string values_string(const std::vector<Value*>& vs) {
  std::string s;
  for (const Value* v : vs) {
    if (!v || v->constant) continue;  // weights are not activations
    s += (s.empty() ? "" : ", ") + v->name + " " + v->type.to_string();
  }
  return s;
}

/// `--layers`: the graph after the passes, as the builder sees it. A layer's name joins the
/// names of the ONNX nodes it came from with " + ".
int layers_command(const InspectOptions& o) {
  auto r = import_onnx_file(o.model);
  if (!r.is_ok()) return fail(r.status().message());
  Model& m = r->model;
  const size_t onnx_nodes = m.graph.nodes.size();
  if (!o.shapes.empty()) {
    auto shapes = parse_shapes(o.shapes);
    if (!shapes.is_ok()) return fail(shapes.status().message());
    Status s = override_input_shapes(m.graph, *shapes);
    if (!s.is_ok()) return fail(s.message());
  }
  PassOptions po;
  po.evaluator = evaluate_node_on_cpu;
  if (o.verbose && !o.json)
    po.log = [](const std::string& line) { std::printf("  %s\n", line.c_str()); };
  Status s = default_pipeline().run(m, po, nullptr);
  if (!s.is_ok()) return fail(s.message());
  const Graph& g = m.graph;
  if (o.json) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& n : g.nodes) {
      nlohmann::json ins = nlohmann::json::array(), outs = nlohmann::json::array();
      for (const Value* v : n->inputs)
        if (v && !v->constant) ins.push_back(value_json(*v));
      for (const Value* v : n->outputs)
        if (v) outs.push_back(value_json(*v));
      nlohmann::json onnx_names = nlohmann::json::array();
      for (size_t b = 0, e; b <= n->name.size(); b = e + 3) {
        e = n->name.find(" + ", b);
        if (e == std::string::npos) e = n->name.size();
        onnx_names.push_back(n->name.substr(b, e - b));
      }
      layers.push_back({{"name", n->name},
                        {"type", layer_type(*n)},
                        {"domain", n->domain},
                        {"onnx_nodes", onnx_names},
                        {"inputs", ins},
                        {"outputs", outs}});
    }
    nlohmann::json j = {{"path", o.model}, {"onnx_nodes", onnx_nodes}, {"layers", layers}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("Layers: %zu (from %zu ONNX nodes)\n", g.nodes.size(), onnx_nodes);
  size_t i = 0;
  for (const auto& n : g.nodes) {
    std::printf("[%zu] %s\n      %s: %s -> %s\n", i++, n->name.c_str(), layer_type(*n).c_str(),
                values_string(n->inputs).c_str(), values_string(n->outputs).c_str());
  }
  return 0;
}

int inspect_command(const InspectOptions& o) {
  if (o.layers) return layers_command(o);
  ImportOptions io;
  io.collect_unsupported = true;
  auto r = import_onnx_file(o.model, io);
  if (!r.is_ok()) return fail(r.status().message());
  Model& m = r->model;
  Graph& g = m.graph;

  std::map<std::string, int64_t> histogram;
  for (const auto& n : g.nodes) histogram[n->op_type]++;
  int64_t params = 0, param_bytes = 0;
  for (const auto& v : g.values) {
    if (v->is_initializer && v->constant) {
      params += v->constant->numel();
      param_bytes += static_cast<int64_t>(v->constant->nbytes());
    }
  }
  for (const auto& n : g.nodes) {
    if (n->op_type != "Constant") continue;
    if (const Tensor* t = n->attr_tensor("value")) {
      params += t->numel();
      param_bytes += static_cast<int64_t>(t->nbytes());
    }
  }
  // Full verification and inference only make sense when every node is understood.
  if (r->unsupported.empty()) {
    InferOptions inf;
    inf.evaluator = evaluate_node_on_cpu;
    Status s = verify_and_infer(g, m.onnx_opset(), inf);
    if (!s.is_ok()) return fail(s.message());
  }

  if (o.json) {
    nlohmann::json j;
    j["path"] = o.model;
    j["producer"] = m.producer_name + (m.producer_version.empty() ? "" : " " + m.producer_version);
    j["ir_version"] = m.ir_version;
    nlohmann::json opsets = nlohmann::json::object();
    for (const auto& [d, v] : m.opsets) opsets[d.empty() ? "ai.onnx" : d] = v;
    j["opsets"] = opsets;
    j["inputs"] = nlohmann::json::array();
    for (const Value* v : g.inputs) j["inputs"].push_back(value_json(*v));
    j["outputs"] = nlohmann::json::array();
    for (const Value* v : g.outputs) j["outputs"].push_back(value_json(*v));
    j["nodes"] = g.nodes.size();
    j["op_histogram"] = histogram;
    j["parameters"] = params;
    j["parameter_bytes"] = param_bytes;
    j["unsupported"] = nlohmann::json::array();
    for (const auto& u : r->unsupported) {
      j["unsupported"].push_back({{"name", u.name},
                                  {"op", u.op_type},
                                  {"domain", u.domain},
                                  {"opset", u.opset},
                                  {"reason", u.reason}});
    }
    j["supported"] = r->unsupported.empty();
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }

  std::printf("Model: %s\n", o.model.c_str());
  std::printf("Producer: %s %s\n", m.producer_name.c_str(), m.producer_version.c_str());
  std::printf("IR version: %lld\n", static_cast<long long>(m.ir_version));
  std::printf("Opsets:");
  for (const auto& [d, v] : m.opsets)
    std::printf(" %s=%lld", d.empty() ? "ai.onnx" : d.c_str(), static_cast<long long>(v));
  std::printf("\nInputs:\n");
  for (const Value* v : g.inputs)
    std::printf("  %s: %s\n", v->name.c_str(), v->type.to_string().c_str());
  std::printf("Outputs:\n");
  for (const Value* v : g.outputs)
    std::printf("  %s: %s\n", v->name.c_str(), v->type.to_string().c_str());
  std::printf("Nodes: %zu\n", g.nodes.size());
  for (const auto& [op, count] : histogram)
    std::printf("  %-24s %lld\n", op.c_str(), static_cast<long long>(count));
  std::printf("Parameters: %lld (%lld bytes)\n", static_cast<long long>(params),
              static_cast<long long>(param_bytes));
  if (r->unsupported.empty()) {
    std::printf("Supported: yes, every node can run on tarmac\n");
  } else {
    std::printf("Supported: no, %zu unsupported node(s):\n", r->unsupported.size());
    for (const auto& u : r->unsupported) {
      std::printf("  %s (op %s, domain %s, opset %lld): %s\n", u.name.c_str(), u.op_type.c_str(),
                  u.domain.c_str(), static_cast<long long>(u.opset), u.reason.c_str());
    }
  }
  return 0;
}

}  // namespace

int fail(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

void add_inspect_command(CLI::App& app, Action* action) {
  auto o = std::make_shared<InspectOptions>();
  CLI::App* sub = app.add_subcommand(
      "inspect", "Describe an ONNX model (and what tarmac supports of it) or a plan");
  sub->add_option("model", o->model, "ONNX model or tarmac plan file")->required();
  sub->add_flag("--json", o->json, "Print JSON");
  sub->add_flag("--layers", o->layers,
                "Show the optimized layers the builder sees (fused names join ONNX node names)");
  sub->add_option("--shapes", o->shapes, "Static input shapes for --layers, e.g. x:1x3x224x224");
  sub->add_flag("-v,--verbose", o->verbose, "With --layers: log every rewrite of the passes");
  sub->callback([o, action] {
    *action = [o] {
      return is_plan_file(o->model) ? inspect_plan(o->model, o->json) : inspect_command(*o);
    };
  });
}

}  // namespace tarmac::cli

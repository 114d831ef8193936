#include "passes/pass_test_util.h"

#include <cmath>
#include <random>
#include <set>

#include "backends/backend.h"
#include "core/random.h"
#include "passes/pass_manager.h"
#include "passes/passes.h"
#include "runtime/executor.h"

namespace tarmac::testing {

GraphBuilder::GraphBuilder(int64_t opset) {
  model_.ir_version = 8;
  model_.opsets[""] = opset;
  model_.graph.name = "test";
}

Value* GraphBuilder::input(const std::string& name, const Dims& dims, DType dtype) {
  return input_shape(name, shape_from_dims(dims), dtype);
}

Value* GraphBuilder::input_shape(const std::string& name, const Shape& shape, DType dtype) {
  Value* v = model_.graph.get_or_add_value(name);
  v->type.dtype = dtype;
  v->type.has_shape = true;
  v->type.shape = shape;
  v->is_graph_input = true;
  model_.graph.inputs.push_back(v);
  return v;
}

Value* GraphBuilder::initializer(const std::string& name, Tensor t) {
  Value* v = model_.graph.get_or_add_value(name);
  v->type.dtype = t.dtype();
  v->type.has_shape = true;
  v->type.shape = shape_from_dims(t.dims());
  v->is_initializer = true;
  v->constant = std::make_shared<const Tensor>(std::move(t));
  return v;
}

Value* GraphBuilder::random_initializer(const std::string& name, const Dims& dims, float lo,
                                        float hi) {
  Tensor t = Tensor::zeros(DType::kFloat32, dims);
  std::mt19937 rng(seed_++);
  std::uniform_real_distribution<float> u(lo, hi);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = u(rng);
  return initializer(name, std::move(t));
}

Node* GraphBuilder::node(const std::string& op, const std::string& name, std::vector<Value*> inputs,
                         size_t num_outputs) {
  auto n = std::make_unique<Node>();
  n->op_type = op;
  n->name = name;
  n->inputs = std::move(inputs);
  for (size_t i = 0; i < num_outputs; ++i)
    n->outputs.push_back(
        model_.graph.get_or_add_value(num_outputs == 1 ? name : name + "_out" + std::to_string(i)));
  return model_.graph.add_node(std::move(n));
}

void GraphBuilder::output(Value* v) {
  v->is_graph_output = true;
  model_.graph.outputs.push_back(v);
}

Model GraphBuilder::take() { return std::move(model_); }

namespace {

Attribute& attr(Node* n, const std::string& name, Attribute::Kind kind) {
  Attribute& a = n->attrs[name];
  a.kind = kind;
  return a;
}

}  // namespace

void set_int(Node* n, const std::string& a, int64_t v) { attr(n, a, Attribute::Kind::kInt).i = v; }
void set_float(Node* n, const std::string& a, float v) {
  attr(n, a, Attribute::Kind::kFloat).f = v;
}
void set_ints(Node* n, const std::string& a, std::vector<int64_t> v) {
  attr(n, a, Attribute::Kind::kInts).ints = std::move(v);
}
void set_string(Node* n, const std::string& a, const std::string& v) {
  attr(n, a, Attribute::Kind::kString).s = v;
}

std::vector<std::string> run_passes(Model& m, const std::vector<std::string>& passes,
                                    bool allow_internal_ops, bool fold_constants) {
  std::vector<std::string> log;
  PassOptions o;
  o.evaluator = evaluate_node_on_cpu;
  o.allow_internal_ops = allow_internal_ops;
  o.fold_constants = fold_constants;
  o.log = [&](const std::string& line) { log.push_back(line); };
  std::set<std::string> wanted(passes.begin(), passes.end());
  wanted.insert("dead_code_elimination");
  for (const std::string& name : default_pass_names())
    if (!wanted.count(name)) o.disabled.insert(name);
  Status s = default_pipeline().run(m, o, nullptr);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return log;
}

int count_ops(const Model& m, const std::string& op) {
  int n = 0;
  for (const auto& node : m.graph.nodes)
    if (node->op_type == op) ++n;
  return n;
}

void expect_same_outputs(const std::function<Model()>& make, Model optimized, double tol) {
  ExecutorOptions plain;
  plain.optimize = false;
  auto ref = Executor::create(make(), plain);
  ASSERT_TRUE(ref.is_ok()) << ref.status().message();
  auto opt = Executor::create(std::move(optimized), plain);
  ASSERT_TRUE(opt.is_ok()) << opt.status().message();
  std::vector<std::pair<std::string, Tensor>> inputs;
  uint64_t seed = 7;
  for (const Value* v : (*ref)->model().graph.inputs) {
    ASSERT_TRUE(v->type.has_shape && shape_is_static(v->type.shape)) << v->name;
    inputs.emplace_back(v->name, random_tensor(v->type.dtype, static_dims(v->type.shape), seed++));
  }
  std::vector<Tensor> a, b;
  Status sa = (*ref)->run(inputs, &a);
  ASSERT_TRUE(sa.is_ok()) << sa.message();
  Status sb = (*opt)->run(inputs, &b);
  ASSERT_TRUE(sb.is_ok()) << sb.message();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].dims(), b[i].dims()) << "output " << i;
    ASSERT_EQ(a[i].dtype(), b[i].dtype()) << "output " << i;
    EXPECT_LE(relative_l2_error(b[i], a[i]), tol) << "output " << i << " relative L2 error";
  }
}

bool log_contains(const std::vector<std::string>& log, const std::string& text) {
  for (const std::string& l : log)
    if (l.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace tarmac::testing

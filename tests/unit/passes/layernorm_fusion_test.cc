// LayerNormalization fusion: the ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div(/Mul/Add) chain.
#include <gtest/gtest.h>

#include "ir/fused_ops.h"
#include "passes/pass_test_util.h"

namespace tarmac::testing {
namespace {

const Node* find_op(const Model& m, const std::string& op) {
  for (const auto& n : m.graph.nodes)
    if (n->op_type == op) return n.get();
  return nullptr;
}

Tensor i64(std::vector<int64_t> v) {
  const auto n = static_cast<int64_t>(v.size());
  return Tensor::from_vector<int64_t>(v, {n});
}

struct LnForm {
  int64_t opset = 17;
  Dims x_dims = {2, 5, 8};
  std::vector<int64_t> axes = {-1};
  bool square_by_mul = false;  // Mul(d, d) instead of Pow(d, 2)
  bool gamma = true, beta = true;
  Dims param_dims = {8};
  bool commute = false;  // Add(eps, var), Mul(gamma, n), Add(beta, .)
  float eps = 1e-5f;
};

/// Sets the axes of a ReduceMean the way the opset wants them.
void set_axes(GraphBuilder& b, Node* r, const LnForm& f, const std::string& name) {
  if (f.opset >= 18) {
    r->inputs.push_back(b.initializer(name, i64(f.axes)));
  } else {
    set_ints(r, "axes", f.axes);
  }
}

Model layernorm(const LnForm& f) {
  GraphBuilder b(f.opset);
  Value* x = b.input("x", f.x_dims);
  Node* mean = b.node("ReduceMean", "mean", {x});
  set_axes(b, mean, f, "axes1");
  Node* sub = b.node("Sub", "sub", {x, b.out(mean)});
  Value* d = b.out(sub);
  Node* sq = f.square_by_mul
                 ? b.node("Mul", "sq", {d, d})
                 : b.node("Pow", "sq", {d, b.initializer("two", Tensor::scalar<float>(2.f))});
  Node* var = b.node("ReduceMean", "var", {b.out(sq)});
  set_axes(b, var, f, "axes2");
  Value* eps = b.initializer("eps", Tensor::scalar<float>(f.eps));
  Node* add_eps = b.node("Add", "add_eps",
                         f.commute ? std::vector{eps, b.out(var)} : std::vector{b.out(var), eps});
  Node* sqrt = b.node("Sqrt", "sqrt", {b.out(add_eps)});
  Node* div = b.node("Div", "div", {d, b.out(sqrt)});
  Value* y = b.out(div);
  if (f.gamma) {
    Value* g = b.random_initializer("gamma", f.param_dims, 0.5f, 1.5f);
    y = b.out(b.node("Mul", "mul_gamma", f.commute ? std::vector{g, y} : std::vector{y, g}));
  }
  if (f.beta) {
    Value* be = b.random_initializer("beta", f.param_dims);
    y = b.out(b.node("Add", "add_beta", f.commute ? std::vector{be, y} : std::vector{y, be}));
  }
  b.output(y);
  return b.take();
}

const Node* expect_fused(const LnForm& f, Model* out, const std::string& domain,
                         bool allow_internal = true) {
  auto make = [f] { return layernorm(f); };
  Model m = make();
  const std::string out_name = m.graph.outputs[0]->name;
  auto log = run_passes(m, {"layernorm_fusion"}, allow_internal);
  EXPECT_EQ(count_ops(m, "LayerNormalization"), 1);
  EXPECT_EQ(m.graph.nodes.size(), 1u);
  const Node* ln = find_op(m, "LayerNormalization");
  if (!ln) return nullptr;
  EXPECT_EQ(ln->domain, domain);
  EXPECT_EQ(ln->inputs[0]->name, "x");
  EXPECT_FLOAT_EQ(ln->attr_float("epsilon", 0), f.eps);
  EXPECT_EQ(ln->attr_int("axis", 99),
            static_cast<int64_t>(f.x_dims.size()) - static_cast<int64_t>(f.axes.size()));
  EXPECT_EQ(m.graph.outputs[0]->name, out_name);
  EXPECT_EQ(m.graph.outputs[0]->producer, ln);
  EXPECT_TRUE(log_contains(log, "into LayerNormalization"));
  *out = std::move(m);
  expect_same_outputs(make, std::move(*out), 1e-5);
  *out = make();
  run_passes(*out, {"layernorm_fusion"}, allow_internal);
  return find_op(*out, "LayerNormalization");
}

TEST(LayerNormFusion, FullPatternOpset17) {
  Model m;
  const Node* ln = expect_fused({}, &m, "");
  ASSERT_NE(ln, nullptr);
  EXPECT_EQ(ln->name, "mean + sub + sq + var + add_eps + sqrt + div + mul_gamma + add_beta");
  ASSERT_EQ(ln->inputs.size(), 3u);
  EXPECT_EQ(ln->inputs[1]->name, "gamma");
  EXPECT_EQ(ln->inputs[2]->name, "beta");
}

TEST(LayerNormFusion, AxesInputOpset18) {
  LnForm f;
  f.opset = 18;
  Model m;
  expect_fused(f, &m, "");
}

TEST(LayerNormFusion, MulSquareAndCommutedOperands) {
  LnForm f;
  f.square_by_mul = true;
  f.commute = true;
  f.eps = 1e-6f;
  Model m;
  expect_fused(f, &m, "");
}

TEST(LayerNormFusion, LastTwoAxes) {
  LnForm f;
  f.axes = {-2, -1};
  f.param_dims = {5, 8};
  Model m;
  expect_fused(f, &m, "");
  f.axes = {1, 2};  // positive and opset 18
  f.opset = 18;
  expect_fused(f, &m, "");
}

TEST(LayerNormFusion, OldOpsetGivesInternalNode) {
  LnForm f;
  f.opset = 13;
  Model m;
  expect_fused(f, &m, std::string(kInternalDomain));
}

TEST(LayerNormFusion, SanitizeOldOpsetLeavesPatternWithReason) {
  LnForm f;
  f.opset = 13;
  Model m = layernorm(f);
  auto log = run_passes(m, {"layernorm_fusion"}, /*allow_internal_ops=*/false);
  EXPECT_EQ(count_ops(m, "LayerNormalization"), 0);
  EXPECT_EQ(count_ops(m, "ReduceMean"), 2);
  EXPECT_TRUE(log_contains(log,
                           "LayerNorm pattern at 'mean': LayerNormalization needs opset 17, model "
                           "has 13, and internal ops are off"));
}

TEST(LayerNormFusion, SanitizeOpset17WritesStandardNode) {
  Model m;
  expect_fused({}, &m, "", /*allow_internal=*/false);
}

TEST(LayerNormFusion, WithoutAffineMakesOnesScale) {
  LnForm f;
  f.gamma = f.beta = false;
  Model m;
  const Node* ln = expect_fused(f, &m, "");
  ASSERT_NE(ln, nullptr);
  ASSERT_EQ(ln->inputs.size(), 2u);
  const Tensor* scale = ln->inputs[1]->constant.get();
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(scale->dims(), (Dims{8}));
  for (int64_t i = 0; i < scale->numel(); ++i) EXPECT_EQ(scale->as_double(i), 1.0);
}

TEST(LayerNormFusion, BetaOnly) {
  LnForm f;
  f.gamma = false;
  Model m;
  const Node* ln = expect_fused(f, &m, "");
  ASSERT_NE(ln, nullptr);
  ASSERT_EQ(ln->inputs.size(), 3u);
  EXPECT_EQ(ln->inputs[2]->name, "beta");
}

TEST(LayerNormFusion, LeadingOnesParamsAreReshapedNotMutated) {
  LnForm f;
  f.param_dims = {1, 1, 8};
  Model m;
  const Node* ln = expect_fused(f, &m, "");
  ASSERT_NE(ln, nullptr);
  EXPECT_EQ(ln->inputs[1]->constant->dims(), (Dims{8}));
  // The original initializer, if still present, keeps its shape.
  if (const Value* g = m.graph.find_value("gamma")) {
    EXPECT_EQ(g->constant->dims(), (Dims{1, 1, 8}));
  }
}

TEST(LayerNormFusion, PerRowGammaIsNotAbsorbed) {
  // gamma [5, 1] scales across a non-normalized axis: fuse up to the division only.
  LnForm f;
  f.param_dims = {5, 1};
  f.beta = false;
  auto make = [f] { return layernorm(f); };
  Model m = make();
  run_passes(m, {"layernorm_fusion"});
  EXPECT_EQ(count_ops(m, "LayerNormalization"), 1);
  EXPECT_EQ(count_ops(m, "Mul"), 1);
  expect_same_outputs(make, std::move(m));
}

TEST(LayerNormFusion, DivisionReadElsewhereKeepsAffineOutside) {
  auto make = [] {
    Model m = layernorm({});
    Value* n = m.graph.find_value("div");
    n->is_graph_output = true;
    m.graph.outputs.push_back(n);
    return m;
  };
  Model m = make();
  run_passes(m, {"layernorm_fusion"});
  EXPECT_EQ(count_ops(m, "LayerNormalization"), 1);
  EXPECT_EQ(count_ops(m, "Mul"), 1);
  EXPECT_EQ(count_ops(m, "Add"), 1);
  EXPECT_EQ(m.graph.outputs[1]->name, "div");
  EXPECT_EQ(m.graph.outputs[1]->producer->op_type, "LayerNormalization");
  expect_same_outputs(make, std::move(m));
}

TEST(LayerNormFusion, MiddleAxisIsNotLayerNorm) {
  LnForm f;
  f.axes = {1};
  f.param_dims = {8};
  Model m = layernorm(f);
  auto log = run_passes(m, {"layernorm_fusion"});
  EXPECT_EQ(count_ops(m, "LayerNormalization"), 0);
  EXPECT_TRUE(log.empty());
}

TEST(LayerNormFusion, MismatchedAxesAreNotLayerNorm) {
  Model m = layernorm({});
  for (auto& n : m.graph.nodes)
    if (n->name == "var") set_ints(n.get(), "axes", {-2, -1});
  run_passes(m, {"layernorm_fusion"});
  EXPECT_EQ(count_ops(m, "LayerNormalization"), 0);
}

TEST(LayerNormFusion, SquareOfThreeIsNotVariance) {
  Model m = layernorm({});
  for (auto& v : m.graph.values)
    if (v->name == "two") v->constant = std::make_shared<const Tensor>(Tensor::scalar<float>(3.f));
  run_passes(m, {"layernorm_fusion"});
  EXPECT_EQ(count_ops(m, "LayerNormalization"), 0);
}

Model with_extra_reader(const std::string& value) {
  Model m = layernorm({});
  auto n = std::make_unique<Node>();
  n->op_type = "Neg";
  n->name = "extra";
  n->inputs = {m.graph.find_value(value)};
  n->outputs = {m.graph.get_or_add_value("extra")};
  m.graph.add_node(std::move(n));
  Value* out = m.graph.find_value("extra");
  out->is_graph_output = true;
  m.graph.outputs.push_back(out);
  return m;
}

TEST(LayerNormFusion, MeanReadElsewhereIsLeftAlone) {
  Model m = with_extra_reader("mean");
  auto log = run_passes(m, {"layernorm_fusion"});
  EXPECT_EQ(count_ops(m, "LayerNormalization"), 0);
  EXPECT_TRUE(
      log_contains(log, "LayerNorm pattern at 'mean' not fused: intermediate 'mean' has 2 uses"));
}

TEST(LayerNormFusion, CenteredReadElsewhereIsLeftAlone) {
  Model m = with_extra_reader("sub");
  auto log = run_passes(m, {"layernorm_fusion"});
  EXPECT_EQ(count_ops(m, "LayerNormalization"), 0);
  EXPECT_TRUE(log_contains(log, "'sub' (x - mean) has 3 uses, expected 2"));
}

TEST(LayerNormFusion, StdReadElsewhereIsLeftAlone) {
  Model m = with_extra_reader("sqrt");
  auto log = run_passes(m, {"layernorm_fusion"});
  EXPECT_EQ(count_ops(m, "LayerNormalization"), 0);
  EXPECT_TRUE(log_contains(log, "intermediate 'sqrt' has 2 uses"));
}

TEST(LayerNormFusion, SymbolicBatch) {
  auto make = [](Shape s) {
    GraphBuilder b(17);
    Value* x = b.input_shape("x", s);
    Node* mean = b.node("ReduceMean", "mean", {x});
    set_ints(mean, "axes", {-1});
    Node* sub = b.node("Sub", "sub", {x, b.out(mean)});
    Node* sq = b.node("Mul", "sq", {b.out(sub), b.out(sub)});
    Node* var = b.node("ReduceMean", "var", {b.out(sq)});
    set_ints(var, "axes", {-1});
    Node* add = b.node("Add", "add", {b.out(var), b.initializer("eps", Tensor::scalar(1e-5f))});
    Node* sqrt = b.node("Sqrt", "sqrt", {b.out(add)});
    b.output(b.out(b.node("Div", "div", {b.out(sub), b.out(sqrt)})));
    return b.take();
  };
  Model m = make({Dim::sym("batch"), Dim(16)});
  run_passes(m, {"layernorm_fusion"});
  EXPECT_EQ(count_ops(m, "LayerNormalization"), 1);
  // Without a scale and with a symbolic normalized dim no ones scale can be made.
  Model n = make({Dim(2), Dim::sym("hidden")});
  auto log = run_passes(n, {"layernorm_fusion"});
  EXPECT_EQ(count_ops(n, "LayerNormalization"), 0);
  EXPECT_TRUE(log_contains(log, "no ones scale can be made"));
}

TEST(LayerNormFusion, Float16) {
  auto make = [] {
    GraphBuilder b(17);
    Value* x = b.input("x", {3, 16}, DType::kFloat16);
    Node* mean = b.node("ReduceMean", "mean", {x});
    set_ints(mean, "axes", {-1});
    Node* sub = b.node("Sub", "sub", {x, b.out(mean)});
    Node* sq = b.node("Pow", "sq", {b.out(sub), b.initializer("two", Tensor::scalar(2.f))});
    Node* var = b.node("ReduceMean", "var", {b.out(sq)});
    set_ints(var, "axes", {-1});
    Node* add =
        b.node("Add", "add",
               {b.out(var), b.initializer("eps", Tensor::scalar(1e-5f).cast(DType::kFloat16))});
    Node* sqrt = b.node("Sqrt", "sqrt", {b.out(add)});
    b.output(b.out(b.node("Div", "div", {b.out(sub), b.out(sqrt)})));
    return b.take();
  };
  Model m = make();
  run_passes(m, {"layernorm_fusion"});
  ASSERT_EQ(count_ops(m, "LayerNormalization"), 1);
  EXPECT_EQ(find_op(m, "LayerNormalization")->inputs[1]->constant->dtype(), DType::kFloat16);
  // The decomposition rounds every step to half precision; the fused node rounds once.
  expect_same_outputs(make, std::move(m), 5e-3);
}

}  // namespace
}  // namespace tarmac::testing

// Graph inference: shape arithmetic folds to static shapes, symbols propagate, declared types
// are checked; the executor skips folded nodes and validates its inputs.
#include <gtest/gtest.h>

#include "backends/backend.h"
#include "ir/inference.h"
#include "ir/verifier.h"
#include "runtime/executor.h"

namespace tarmac {
namespace {

class GraphBuilder {
 public:
  GraphBuilder() { model_.opsets[""] = 17; }
  Value* input(const std::string& name, DType t, Shape s) {
    Value* v = g().get_or_add_value(name);
    v->type = {t, true, std::move(s)};
    v->is_graph_input = true;
    g().inputs.push_back(v);
    return v;
  }
  Value* constant(const std::string& name, Tensor t) {
    Value* v = g().get_or_add_value(name);
    v->type = {t.dtype(), true, shape_from_dims(t.dims())};
    v->is_initializer = true;
    v->constant = std::make_shared<const Tensor>(std::move(t));
    return v;
  }
  Node* node(const std::string& op, std::vector<Value*> ins, std::vector<std::string> outs) {
    auto n = std::make_unique<Node>();
    n->name = op + "_" + std::to_string(g().nodes.size());
    n->op_type = op;
    n->inputs = std::move(ins);
    for (const auto& o : outs) n->outputs.push_back(g().get_or_add_value(o));
    return g().add_node(std::move(n));
  }
  void output(const std::string& name) {
    Value* v = g().find_value(name);
    v->is_graph_output = true;
    g().outputs.push_back(v);
  }
  Graph& g() { return model_.graph; }
  Model& model() { return model_; }

 private:
  Model model_;
};

InferOptions with_folding() {
  InferOptions o;
  o.evaluator = evaluate_node_on_cpu;
  return o;
}

TEST(Inference, ShapeArithmeticBecomesStatic) {
  GraphBuilder b;
  Value* x = b.input("x", DType::kFloat32, {2, 3, 4});
  b.node("Shape", {x}, {"s"});
  Value* idx = b.constant("idx", Tensor::from_vector<int64_t>({0}, {1}));
  b.node("Gather", {b.g().find_value("s"), idx}, {"batch"});
  Value* m1 = b.constant("m1", Tensor::from_vector<int64_t>({-1}, {1}));
  b.node("Concat", {b.g().find_value("batch"), m1}, {"target"});
  b.g().nodes.back()->attrs["axis"].i = 0;
  b.node("Reshape", {x, b.g().find_value("target")}, {"y"});
  b.output("y");
  ASSERT_TRUE(verify_and_infer(b.g(), 17, with_folding()).is_ok());
  const Value* y = b.g().find_value("y");
  ASSERT_TRUE(y->type.has_shape);
  EXPECT_EQ(shape_to_string(y->type.shape), "[2, 12]");
  ASSERT_TRUE(b.g().find_value("target")->constant);

  auto ex = Executor::create(std::move(b.model()), {});
  ASSERT_TRUE(ex.is_ok()) << ex.status().message();
  EXPECT_EQ((*ex)->num_runtime_nodes(), 1u);  // only the Reshape runs
  Tensor in = Tensor::zeros(DType::kFloat32, {2, 3, 4});
  for (int i = 0; i < 24; ++i) in.data<float>()[i] = static_cast<float>(i);
  std::vector<Tensor> out;
  ASSERT_TRUE((*ex)->run({{"x", in}}, &out).is_ok());
  EXPECT_EQ(out[0].dims(), (Dims{2, 12}));
  EXPECT_EQ(out[0].data<float>()[13], 13.0f);
}

TEST(Inference, SymbolicDimsPropagateAndAreChecked) {
  GraphBuilder b;
  Value* x = b.input("x", DType::kFloat32, {Dim::sym("N"), 3});
  Value* y = b.input("y", DType::kFloat32, {Dim::sym("N"), 3});
  b.node("Add", {x, y}, {"z"});
  b.output("z");
  ASSERT_TRUE(verify_and_infer(b.g(), 17, with_folding()).is_ok());
  EXPECT_EQ(shape_to_string(b.g().find_value("z")->type.shape), "[N, 3]");

  auto ex = Executor::create(std::move(b.model()), {});
  ASSERT_TRUE(ex.is_ok());
  std::vector<Tensor> out;
  Status s = (*ex)->run({{"x", Tensor::zeros(DType::kFloat32, {2, 3})},
                         {"y", Tensor::zeros(DType::kFloat32, {5, 3})}},
                        &out);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("'N'"), std::string::npos) << s.message();
  s = (*ex)->run(
      {{"x", Tensor::zeros(DType::kInt64, {2, 3})}, {"y", Tensor::zeros(DType::kFloat32, {2, 3})}},
      &out);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("expects float32"), std::string::npos) << s.message();
}

TEST(Inference, DeclaredTypeContradictionNamesTheNode) {
  GraphBuilder b;
  Value* x = b.input("x", DType::kFloat32, {2, 3});
  b.node("Relu", {x}, {"y"});
  b.g().find_value("y")->type = {DType::kInt64, true, {2, 3}};
  b.output("y");
  Status s = verify_and_infer(b.g(), 17, with_folding());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("Relu 'Relu_0'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("type mismatch"), std::string::npos) << s.message();
}

TEST(Verifier, CycleAndDanglingInputAreReported) {
  {
    GraphBuilder b;
    Value* x = b.input("x", DType::kFloat32, {2});
    Value* loop = b.g().get_or_add_value("b");
    b.node("Add", {x, loop}, {"a"});
    b.node("Relu", {b.g().find_value("a")}, {"b"});
    b.output("b");
    Status s = verify_graph(b.g());
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("cycle"), std::string::npos) << s.message();
  }
  {
    GraphBuilder b;
    Value* x = b.input("x", DType::kFloat32, {2});
    b.node("Add", {x, b.g().get_or_add_value("nowhere")}, {"a"});
    b.output("a");
    Status s = verify_graph(b.g());
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("'nowhere'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("dangling"), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace tarmac

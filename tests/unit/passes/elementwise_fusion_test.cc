// Elementwise fusion: chains of float elementwise ops -> one internal FusedElementwise node,
// the program encoding (ir/elementwise_program.h) and the CPU kernel against the unfused graph.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "ir/elementwise_program.h"
#include "ir/fused_ops.h"
#include "passes/pass_test_util.h"

namespace tarmac::testing {
namespace {

constexpr const char* kFused = "FusedElementwise";

std::vector<const Node*> fused_nodes(const Model& m) {
  std::vector<const Node*> out;
  for (const auto& n : m.graph.nodes)
    if (n->op_type == kFused) out.push_back(n.get());
  return out;
}

Value* scalar(GraphBuilder& b, const std::string& name, float v, DType t = DType::kFloat32) {
  Tensor s = Tensor::scalar<float>(v);
  return b.initializer(name, t == DType::kFloat32 ? s : s.cast(t));
}

std::vector<std::string> input_names(const Node& n) {
  std::vector<std::string> names;
  for (const Value* v : n.inputs) names.push_back(v->name);
  return names;
}

/// x * sigmoid(x) * 0.5 + y with y broadcast over the channels.
Model silu_chain() {
  GraphBuilder b(17);
  Value* x = b.input("x", {2, 3, 4, 5});
  Value* y = b.input("y", {1, 3, 1, 1});
  Node* s = b.node("Sigmoid", "s", {x});
  Node* m = b.node("Mul", "m", {x, b.out(s)});
  Node* h = b.node("Mul", "h", {b.out(m), scalar(b, "half", 0.5f)});
  Node* o = b.node("Add", "o", {b.out(h), y});
  b.output(b.out(o));
  return b.take();
}

TEST(ElementwiseFusion, FusesChainWithBroadcastAndScalarConstant) {
  Model m = silu_chain();
  auto log = run_passes(m, {"elementwise_fusion"});
  ASSERT_EQ(fused_nodes(m).size(), 1u);
  EXPECT_EQ(m.graph.nodes.size(), 1u);
  const Node& f = *fused_nodes(m)[0];
  EXPECT_EQ(f.domain, "tarmac");
  EXPECT_EQ(f.name, "s + m + h + o");
  EXPECT_EQ(input_names(f), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(f.outputs[0]->name, "o");  // the graph output keeps its name
  EXPECT_EQ(f.attr_string("ops", ""), "Sigmoid,Mul,Mul,Add");
  EXPECT_EQ(f.attr_floats("constants"), std::vector<float>{0.5f});
  EXPECT_EQ(layer_type(f), "FusedElementwise(Sigmoid,Mul,Mul,Add)");
  EXPECT_EQ(f.outputs[0]->type.to_string(), "float32[2, 3, 4, 5]");
  EXPECT_TRUE(log_contains(log, "fused Sigmoid 's' + Mul 'm' + Mul 'h' + Add 'o'"));
  auto p = decode_program(f);
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  EXPECT_EQ(p->code.size(), 4u);
  EXPECT_LE(p->num_registers, 3);  // x, y and one temporary suffice
  expect_same_outputs(silu_chain, std::move(m));
}

/// e = exp(x) read twice, t = tanh(x) a graph output: both stay, the rest fuses.
Model shared_values() {
  GraphBuilder b(17);
  Value* x = b.input("x", {4, 6});
  Value* e = b.out(b.node("Exp", "e", {x}));
  Node* n = b.node("Neg", "n", {e});
  Node* a = b.node("Abs", "a", {e});
  Node* s = b.node("Add", "s", {b.out(n), b.out(a)});
  Value* t = b.out(b.node("Tanh", "t", {x}));
  b.output(t);
  Node* r = b.node("Relu", "r", {t});
  Node* v = b.node("Mul", "v", {b.out(r), b.out(s)});
  b.output(b.out(v));
  return b.take();
}

TEST(ElementwiseFusion, StopsAtSharedValuesAndGraphOutputs) {
  Model m = shared_values();
  run_passes(m, {"elementwise_fusion"});
  EXPECT_EQ(count_ops(m, "Exp"), 1);
  EXPECT_EQ(count_ops(m, "Tanh"), 1);
  ASSERT_EQ(fused_nodes(m).size(), 1u);
  const Node& f = *fused_nodes(m)[0];
  std::vector<std::string> ins = input_names(f);
  std::sort(ins.begin(), ins.end());
  EXPECT_EQ(ins, (std::vector<std::string>{"e", "t"}));
  std::vector<std::string> ops;
  std::string list = f.attr_string("ops", "");
  for (size_t p = 0; p != std::string::npos;) {
    const size_t q = list.find(',', p);
    ops.push_back(list.substr(p, q == std::string::npos ? q : q - p));
    p = q == std::string::npos ? q : q + 1;
  }
  std::sort(ops.begin(), ops.end());
  EXPECT_EQ(ops, (std::vector<std::string>{"Abs", "Add", "Mul", "Neg", "Relu"}));
  expect_same_outputs(shared_values, std::move(m));
}

TEST(ElementwiseFusion, LeavesNonFloatDtypesAlone) {
  for (DType t : {DType::kInt32, DType::kInt64, DType::kFloat64}) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    GraphBuilder b(17);
    Value* x = b.input("x", {3, 4}, t);
    Value* y = b.input("y", {4}, t);
    Node* a = b.node("Add", "a", {x, y});
    Node* m = b.node("Mul", "m", {b.out(a), x});
    Node* n = b.node("Neg", "n", {b.out(m)});
    b.output(b.out(n));
    Model model = b.take();
    run_passes(model, {"elementwise_fusion"});
    EXPECT_TRUE(fused_nodes(model).empty());
    EXPECT_EQ(model.graph.nodes.size(), 3u);
  }
}

TEST(ElementwiseFusion, OffWhenInternalOpsAreNotAllowed) {
  Model m = silu_chain();
  auto log = run_passes(m, {"elementwise_fusion"}, /*allow_internal_ops=*/false);
  EXPECT_TRUE(fused_nodes(m).empty());
  EXPECT_EQ(m.graph.nodes.size(), 4u);
  EXPECT_FALSE(log_contains(log, "[elementwise_fusion]"));
}

TEST(ElementwiseFusion, SymbolicShapesFuseUnknownOnesDoNot) {
  for (bool named : {true, false}) {
    SCOPED_TRACE(named ? "named symbol" : "unknown dim");
    GraphBuilder b(17);
    Value* x = b.input_shape("x", {named ? Dim::sym("batch") : Dim(), Dim(8)});
    Value* y = b.input("y", {8});
    Node* s = b.node("Sigmoid", "s", {x});
    Node* m = b.node("Mul", "m", {b.out(s), y});
    b.output(b.out(m));
    Model model = b.take();
    auto log = run_passes(model, {"elementwise_fusion"});
    EXPECT_EQ(fused_nodes(model).size(), named ? 1u : 0u);
    if (!named) {
      EXPECT_TRUE(log_contains(log, "not the known broadcast of the group's inputs"));
    }
  }
}

/// [C, 1, 1] weights stay tensor inputs; a one-element constant of higher rank than the
/// other operand too (folding it would lose the rank it adds).
Model tensor_constants() {
  GraphBuilder b(17);
  Value* x = b.input("x", {2, 3, 4, 4});
  Value* z = b.input("z", {5});
  Node* m = b.node("Mul", "m", {x, b.random_initializer("w", {3, 1, 1})});
  Node* a = b.node("Add", "a", {b.out(m), scalar(b, "one", 1.f)});
  b.output(b.out(b.node("Relu", "r", {b.out(a)})));
  Node* k = b.node("Mul", "k", {z, b.initializer("c", Tensor::from_vector<float>({2.f}, {1, 1}))});
  b.output(b.out(b.node("Neg", "n", {b.out(k)})));
  return b.take();
}

TEST(ElementwiseFusion, TensorConstantsBecomeInputs) {
  Model m = tensor_constants();
  run_passes(m, {"elementwise_fusion"});
  ASSERT_EQ(fused_nodes(m).size(), 2u);
  for (const Node* f : fused_nodes(m)) {
    if (f->attr_string("ops", "") == "Mul,Add,Relu") {
      EXPECT_EQ(input_names(*f), (std::vector<std::string>{"x", "w"}));
      EXPECT_EQ(f->attr_floats("constants"), std::vector<float>{1.f});
    } else {
      EXPECT_EQ(f->attr_string("ops", ""), "Mul,Neg");
      EXPECT_EQ(input_names(*f), (std::vector<std::string>{"z", "c"}));
      EXPECT_EQ(f->outputs[0]->type.to_string(), "float32[1, 5]");
    }
  }
  expect_same_outputs(tensor_constants, std::move(m));
}

// Built with append: GCC 12 warns (-Wrestrict) on string + string here.
std::string numbered(const char* prefix, int i) {
  return std::string(prefix).append(std::to_string(i));
}

/// A 40-op unary chain and a 9-Add sum of 10 inputs.
Model long_chains() {
  GraphBuilder b(17);
  Value* x = b.input("x", {7, 9});
  const char* ops[] = {"Neg", "Tanh", "Abs", "Sin", "Cos"};
  Value* v = x;
  for (int i = 0; i < 40; ++i) v = b.out(b.node(ops[i % 5], numbered("u", i), {v}));
  b.output(v);
  Value* s = b.input("x0", {7, 9});
  for (int i = 1; i < 10; ++i)
    s = b.out(b.node("Add", numbered("add", i),
                     {s, b.input(numbered("x", i), i % 2 ? Dims{7, 9} : Dims{9})}));
  b.output(s);
  return b.take();
}

TEST(ElementwiseFusion, LimitsSplitLongChains) {
  Model m = long_chains();
  auto log = run_passes(m, {"elementwise_fusion"});
  // 40 unary ops: 32 + 8; 9 Adds over 10 inputs: 7 Adds (8 inputs) + 2 Adds (3 inputs).
  ASSERT_EQ(fused_nodes(m).size(), 4u);
  std::vector<size_t> sizes;
  for (const Node* f : fused_nodes(m)) {
    auto p = decode_program(*f);
    ASSERT_TRUE(p.is_ok()) << p.status().message();
    EXPECT_LE(p->code.size(), static_cast<size_t>(kEwMaxInstructions));
    EXPECT_LE(f->inputs.size(), static_cast<size_t>(kEwMaxInputs));
    sizes.push_back(p->code.size());
    if (f->inputs.size() == 1) {
      EXPECT_EQ(p->num_registers, 1);  // one register, reused
    }
  }
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 7, 8, 32}));
  EXPECT_TRUE(log_contains(log, "would have 33 ops (at most 32)"));
  EXPECT_TRUE(log_contains(log, "would read 9 inputs (at most 8)"));
  expect_same_outputs(long_chains, std::move(m));
}

TEST(ElementwiseFusion, RunsAfterActivationFusion) {
  // Conv -> SiLU is a Conv epilogue; only the Mul and Add after it are left to fuse.
  auto make = [] {
    GraphBuilder b(17);
    Value* x = b.input("x", {1, 3, 6, 6});
    Node* c = b.node("Conv", "conv",
                     {x, b.random_initializer("w", {4, 3, 3, 3}), b.random_initializer("b", {4})});
    set_ints(c, "pads", {1, 1, 1, 1});
    Value* y = b.out(c);
    Node* s = b.node("Sigmoid", "sig", {y});
    Node* silu = b.node("Mul", "silu", {y, b.out(s)});
    Node* m = b.node("Mul", "scale", {b.out(silu), scalar(b, "two", 2.f)});
    Node* a = b.node("Add", "shift", {b.out(m), b.input("z", {4, 1, 1})});
    b.output(b.out(a));
    return b.take();
  };
  Model m = make();
  run_passes(m, {"activation_fusion", "elementwise_fusion"});
  EXPECT_EQ(count_ops(m, "Sigmoid"), 0);
  ASSERT_EQ(count_ops(m, "Conv"), 1);
  for (const auto& n : m.graph.nodes)
    if (n->op_type == "Conv") {
      EXPECT_EQ(n->attr_string("activation", ""), "Silu");
    }
  ASSERT_EQ(fused_nodes(m).size(), 1u);
  EXPECT_EQ(fused_nodes(m)[0]->attr_string("ops", ""), "Mul,Add");
  expect_same_outputs(make, std::move(m));
}

TEST(ElementwiseFusion, InDefaultPipelineAfterActivationFusion) {
  const std::vector<std::string> names = default_pass_names();
  auto at = [&](const std::string& n) { return std::find(names.begin(), names.end(), n); };
  ASSERT_NE(at("elementwise_fusion"), names.end());
  EXPECT_EQ(at("elementwise_fusion") - at("activation_fusion"), 1);
  EXPECT_EQ(at("dead_code_elimination") - at("elementwise_fusion"), 1);
}

// ---- every op, fused against unfused on the CPU -----------------------------------------

struct OpCase {
  std::string label;
  std::string op;  // expected first entry of `ops`
  int64_t opset;
  std::function<Value*(GraphBuilder&, Value* x, Value* y, DType t)> build;
};

Node* attr_node(GraphBuilder& b, const std::string& op, std::vector<Value*> in,
                std::vector<std::pair<std::string, float>> attrs) {
  Node* n = b.node(op, "op", std::move(in));
  for (const auto& [k, v] : attrs) set_float(n, k, v);
  return n;
}

std::vector<OpCase> op_cases() {
  std::vector<OpCase> c;
  for (const char* op :
       {"Neg", "Abs", "Exp", "Log", "Sqrt", "Reciprocal", "Sigmoid", "Tanh", "Relu", "Erf", "Floor",
        "Ceil", "Sin", "Cos", "Softplus", "HardSwish", "HardSigmoid", "LeakyRelu", "Elu"}) {
    c.push_back({op, op, 17, [op](GraphBuilder& b, Value* x, Value*, DType) {
                   return b.out(b.node(op, "op", {x}));
                 }});
  }
  c.push_back({"HardSigmoidAttrs", "HardSigmoid", 17, [](GraphBuilder& b, Value* x, Value*, DType) {
                 return b.out(attr_node(b, "HardSigmoid", {x}, {{"alpha", 0.3f}, {"beta", 0.4f}}));
               }});
  c.push_back({"LeakyReluAlpha", "LeakyRelu", 17, [](GraphBuilder& b, Value* x, Value*, DType) {
                 return b.out(attr_node(b, "LeakyRelu", {x}, {{"alpha", 0.2f}}));
               }});
  c.push_back({"EluAlpha", "Elu", 17, [](GraphBuilder& b, Value* x, Value*, DType) {
                 return b.out(attr_node(b, "Elu", {x}, {{"alpha", 0.7f}}));
               }});
  c.push_back({"ClipInputs", "Clip", 17, [](GraphBuilder& b, Value* x, Value*, DType t) {
                 return b.out(b.node("Clip", "op",
                                     {x, scalar(b, "lo", -0.5f, t), scalar(b, "hi", 0.6f, t)}));
               }});
  c.push_back({"ClipMinOnly", "Clip", 17, [](GraphBuilder& b, Value* x, Value*, DType t) {
                 return b.out(b.node("Clip", "op", {x, scalar(b, "lo", -0.25f, t)}));
               }});
  c.push_back({"ClipAttrsOpset6", "Clip", 6, [](GraphBuilder& b, Value* x, Value*, DType) {
                 return b.out(attr_node(b, "Clip", {x}, {{"min", -0.4f}, {"max", 0.3f}}));
               }});
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"}) {
    c.push_back({op, op, 17, [op](GraphBuilder& b, Value* x, Value* y, DType) {
                   return b.out(b.node(op, "op", {x, y}));
                 }});
  }
  c.push_back({"SubConstantFirst", "Sub", 17, [](GraphBuilder& b, Value* x, Value*, DType t) {
                 return b.out(b.node("Sub", "op", {scalar(b, "one", 1.f, t), x}));
               }});
  c.push_back({"DivByConstant", "Div", 17, [](GraphBuilder& b, Value* x, Value*, DType t) {
                 return b.out(b.node("Div", "op", {x, scalar(b, "three", 3.f, t)}));
               }});
  c.push_back({"PowSquare", "Pow", 17, [](GraphBuilder& b, Value* x, Value*, DType t) {
                 return b.out(b.node("Pow", "op", {x, scalar(b, "two", 2.f, t)}));
               }});
  c.push_back(
      {"PowInt64Cube", "Pow", 17, [](GraphBuilder& b, Value* x, Value*, DType) {
         return b.out(b.node("Pow", "op", {x, b.initializer("e", Tensor::scalar<int64_t>(3))}));
       }});
  c.push_back({"PowFloat32HalfExponent", "Pow", 17, [](GraphBuilder& b, Value* x, Value*, DType) {
                 // Abs first: the square root of negative bases is NaN either way, but keep
                 // this case finite.
                 Value* a = b.out(b.node("Abs", "abs", {x}));
                 return b.out(b.node("Pow", "op", {a, scalar(b, "e", 0.5f)}));
               }});
  c.push_back({"MaxConstant", "Max", 17, [](GraphBuilder& b, Value* x, Value*, DType t) {
                 return b.out(b.node("Max", "op", {x, scalar(b, "c", 0.1f, t)}));
               }});
  return c;
}

TEST(ElementwiseFusion, EveryOpMatchesUnfusedOnCpu) {
  for (const OpCase& oc : op_cases()) {
    for (DType t : {DType::kFloat32, DType::kFloat16, DType::kBFloat16}) {
      SCOPED_TRACE(std::string(oc.label).append(" ").append(dtype_name(t)));
      // op(x[, y]) then a multiply by w, so every case is a two-op group; at opset 6 the
      // binary ops broadcast by the legacy rule, so Neg follows instead.
      auto make = [&oc, t] {
        GraphBuilder b(oc.opset);
        Value* x = b.input("x", {2, 3, 5}, t);
        Value* y = b.input("y", {3, 1}, t);
        Value* v = oc.build(b, x, y, t);
        Node* last = oc.opset < 7 ? b.node("Neg", "last", {v})
                                  : b.node("Mul", "last", {v, b.input("w", {5}, t)});
        b.output(b.out(last));
        return b.take();
      };
      Model m = make();
      run_passes(m, {"elementwise_fusion"});
      ASSERT_EQ(fused_nodes(m).size(), 1u);
      const std::string ops = fused_nodes(m)[0]->attr_string("ops", "");
      EXPECT_NE(ops.find(oc.op), std::string::npos) << ops;
      // Unfused rounds every intermediate to the storage type, fused rounds once.
      const double tol = t == DType::kFloat32 ? 1e-5 : (t == DType::kFloat16 ? 2e-3 : 1.6e-2);
      expect_same_outputs(make, std::move(m), tol);
    }
  }
}

// ---- the program itself -----------------------------------------------------------------

TEST(ElementwiseProgram, BuilderEvaluatorAndEncodingAgree) {
  EwProgramBuilder b(2);
  const EwRef x = b.input(0), y = b.input(1);
  const EwRef s = b.unary(EwOp::kSigmoid, x);
  const EwRef h = b.binary(EwOp::kMul, b.binary(EwOp::kMul, x, s), b.constant(0.5f));
  const EwRef c = b.unary(EwOp::kClip, b.binary(EwOp::kAdd, h, y), -1.f, 2.f);
  b.unary(EwOp::kHardSigmoid, c, 0.5f, -1.f);
  auto p = b.finish();
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  EXPECT_EQ(p->ops(), "Sigmoid,Mul,Mul,Add,Clip,HardSigmoid");
  EXPECT_EQ(p->constants, (std::vector<float>{0.5f, -1.f, 2.f}));  // (0.5, -1) is shared
  for (float xv : {-3.f, -0.5f, 0.f, 0.7f, 4.f}) {
    for (float yv : {-1.f, 0.25f}) {
      const float sig = 1.f / (1.f + std::exp(-xv));
      const float clip = std::min(2.f, std::max(-1.f, xv * sig * 0.5f + yv));
      const float want = std::max(0.f, std::min(1.f, 0.5f * clip - 1.f));
      const float in[2] = {xv, yv};
      EXPECT_NEAR(evaluate_program(*p, in), want, 1e-6f) << xv << " " << yv;
    }
  }
  // Round trip through the attributes.
  Graph g;
  Node n;
  n.name = "f";
  n.op_type = kFused;
  n.domain = "tarmac";
  n.inputs = {g.get_or_add_value("a"), g.get_or_add_value("b")};
  n.outputs = {g.get_or_add_value("o")};
  set_program_attrs(*p, &n);
  auto q = decode_program(n);
  ASSERT_TRUE(q.is_ok()) << q.status().message();
  ASSERT_EQ(q->code.size(), p->code.size());
  for (size_t i = 0; i < p->code.size(); ++i) {
    EXPECT_EQ(q->code[i].op, p->code[i].op);
    EXPECT_EQ(q->code[i].a, p->code[i].a);
    EXPECT_EQ(q->code[i].b, p->code[i].b);
    EXPECT_EQ(q->code[i].dst, p->code[i].dst);
  }
}

TEST(ElementwiseProgram, DecodeRejectsMalformedPrograms) {
  Graph g;
  auto node = [&](std::vector<int64_t> program, std::vector<float> constants) {
    Node n;
    n.name = "bad";
    n.op_type = kFused;
    n.domain = "tarmac";
    n.inputs = {g.get_or_add_value("a")};
    n.outputs = {g.get_or_add_value("o")};
    Attribute p;
    p.kind = Attribute::Kind::kInts;
    p.ints = std::move(program);
    n.attrs["program"] = p;
    Attribute c;
    c.kind = Attribute::Kind::kFloats;
    c.floats = std::move(constants);
    n.attrs["constants"] = c;
    return n;
  };
  struct Bad {
    std::vector<int64_t> program;
    std::vector<float> constants;
    std::string why;
  };
  const std::vector<Bad> cases = {
      {{}, {}, "positive multiple of 4"},
      {{0, 0, 0}, {}, "positive multiple of 4"},
      {{99, 0, 0, 1}, {}, "opcode 99 is not an elementwise op"},
      {{0, 3, 0, 1}, {}, "register 3 is read before it is written"},
      {{20, 0, -2, 1}, {1.f}, "constant 1 is out of range"},
      {{19, 0, -1, 1}, {1.f}, "constant 0 is out of range"},  // Clip needs two
      {{17, 0, 0, 1}, {}, "reads its parameters from constants"},
      {{0, 0, 0, 16}, {}, "destination register 16 is out of range"},
      {{0, 40, 0, 1}, {}, "register 40 is out of range"},
  };
  for (const Bad& c : cases) {
    auto r = decode_program(node(c.program, c.constants));
    ASSERT_FALSE(r.is_ok()) << c.why;
    EXPECT_NE(r.status().message().find("FusedElementwise 'bad'"), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find(c.why), std::string::npos) << r.status().message();
  }
  std::vector<int64_t> long_program;
  for (int i = 0; i <= kEwMaxInstructions; ++i)
    long_program.insert(long_program.end(), {0, 0, 0, 0});
  auto r = decode_program(node(long_program, {}));
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("at most 32"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace tarmac::testing

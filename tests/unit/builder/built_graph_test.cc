// A plan's built section: the model as the builder leaves it (fused internal nodes, float16,
// channels-last weights, reformats) survives serialization exactly, and bad bytes are errors.
#include "builder/built_graph.h"

#include <gtest/gtest.h>

#include <cstring>

#include "backends/backend.h"
#include "builder/layout.h"
#include "builder/precision.h"
#include "core/random.h"
#include "ir/inference.h"
#include "passes/pass_manager.h"
#include "passes/pass_test_util.h"
#include "runtime/executor.h"

namespace tarmac::testing {
namespace {

/// Conv + BN + Relu, a residual Conv, a Clip (float attributes), a Resize, LayerNorm parts and
/// a Gemm head: the builder fuses, converts to float16 and reorders to NHWC.
Model model() {
  GraphBuilder b(17);
  Value* x = b.input("x", {1, 4, 8, 8});
  Node* c1 = b.node("Conv", "c1",
                    {x, b.random_initializer("w1", {8, 4, 3, 3}), b.random_initializer("b1", {8})});
  set_ints(c1, "pads", {1, 1, 1, 1});
  Node* bn = b.node("BatchNormalization", "bn",
                    {b.out(c1), b.random_initializer("g", {8}), b.random_initializer("be", {8}),
                     b.random_initializer("m", {8}), b.random_initializer("v", {8}, 0.5f, 2.0f)});
  Node* r1 = b.node("Relu", "r1", {b.out(bn)});
  Node* c2 = b.node("Conv", "c2", {b.out(r1), b.random_initializer("w2", {8, 8, 3, 3})});
  set_ints(c2, "pads", {1, 1, 1, 1});
  Node* add = b.node("Add", "add", {b.out(c2), b.out(r1)});
  Node* clip = b.node("Clip", "clip",
                      {b.out(add), b.initializer("lo", Tensor::scalar<float>(-0.5f)),
                       b.initializer("hi", Tensor::scalar<float>(0.75f))});
  Node* up = b.node("Resize", "up",
                    {b.out(clip), nullptr,
                     b.initializer("scales", Tensor::from_vector<float>({1, 1, 2, 2}, {4}))});
  set_string(up, "mode", "nearest");
  Node* pool = b.node("GlobalAveragePool", "pool", {b.out(up)});
  Node* flat = b.node("Flatten", "flat", {b.out(pool)});
  Node* fc =
      b.node("Gemm", "fc",
             {b.out(flat), b.random_initializer("fw", {5, 8}), b.random_initializer("fb", {5})});
  set_int(fc, "transB", 1);
  Node* lrelu = b.node("LeakyRelu", "lrelu", {b.out(fc)});
  set_float(lrelu, "alpha", 0.037f);
  b.output(b.out(lrelu));
  b.output(b.out(up));
  return b.take();
}

/// The builder's view of the model: passes, float16, NHWC.
Model built() {
  Model m = model();
  PassOptions po;
  po.evaluator = evaluate_node_on_cpu;
  EXPECT_TRUE(default_pipeline().run(m, po, nullptr).is_ok());
  PrecisionOptions p;
  p.dtype = DType::kFloat16;
  EXPECT_TRUE(assign_precision(m, p).is_ok());
  LayoutOptions lo;
  lo.mode = LayoutMode::kNhwc;
  EXPECT_TRUE(assign_layouts(m, lo).is_ok());
  return m;
}

std::vector<Tensor> run_as_loaded(Model m, const Tensor& x) {
  ExecutorOptions o;
  o.optimize = false;  // what a plan's built section gets at load: no passes
  auto ex = Executor::create(std::move(m), o);
  EXPECT_TRUE(ex.is_ok()) << ex.status().message();
  std::vector<Tensor> out;
  if (ex.is_ok()) {
    Status s = (*ex)->run({{"x", x}}, &out);
    EXPECT_TRUE(s.is_ok()) << s.message();
  }
  return out;
}

TEST(BuiltGraph, RoundTripKeepsEveryNodeAttributeAndWeightExactly) {
  const Model m = built();
  int internal = 0;
  for (const auto& n : m.graph.nodes) internal += n->domain == "tarmac";
  ASSERT_GT(internal, 0) << "the builder should have made internal nodes";
  auto bytes = serialize_built_model(m);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
  auto owner = std::make_shared<std::string>(*bytes);
  auto back = parse_built_model(*owner, owner, "test.plan");
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  ASSERT_EQ(back->graph.nodes.size(), m.graph.nodes.size());
  for (size_t i = 0; i < m.graph.nodes.size(); ++i) {
    const Node& a = *m.graph.nodes[i];
    const Node& b = *back->graph.nodes[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.op_type, b.op_type);
    EXPECT_EQ(a.domain, b.domain);
    ASSERT_EQ(a.attrs.size(), b.attrs.size()) << a.name;
    for (const auto& [k, attr] : a.attrs) {
      ASSERT_TRUE(b.attrs.count(k)) << a.name << "." << k;
      const Attribute& c = b.attrs.at(k);
      EXPECT_EQ(attr.kind, c.kind);
      EXPECT_EQ(attr.i, c.i);
      EXPECT_EQ(std::memcmp(&attr.f, &c.f, sizeof(float)), 0) << a.name << "." << k;
      EXPECT_EQ(attr.s, c.s);
      EXPECT_EQ(attr.ints, c.ints);
      EXPECT_EQ(attr.floats, c.floats);
    }
  }
  size_t weight_bytes = 0;
  for (const auto& v : back->graph.values)
    if (v->constant) weight_bytes += v->constant->nbytes();
  // Only the weights the graph reads are stored (not the float32 originals of converted ones).
  EXPECT_LT(bytes->size(), weight_bytes + 16384);
  for (const auto& v : m.graph.values) {
    if (!v->producer && v->consumers.empty() && !v->is_graph_input && !v->is_graph_output) {
      EXPECT_EQ(back->graph.find_value(v->name), nullptr) << v->name << " is unused";
      continue;
    }
    const Value* w = back->graph.find_value(v->name);
    ASSERT_NE(w, nullptr) << v->name;
    EXPECT_EQ(w->type.to_string(), v->type.to_string()) << v->name;
    if (!v->is_initializer) continue;
    ASSERT_TRUE(w->constant) << v->name;
    ASSERT_EQ(w->constant->nbytes(), v->constant->nbytes());
    EXPECT_EQ(std::memcmp(w->constant->raw(), v->constant->raw(), v->constant->nbytes()), 0)
        << v->name;
  }
  // Loaded without passes, it computes bit for bit what the built model computes.
  const Tensor x = random_tensor(DType::kFloat32, {1, 4, 8, 8}, 11);
  const auto want = run_as_loaded(clone_model(m), x);
  const auto got = run_as_loaded(std::move(back).value(), x);
  ASSERT_EQ(want.size(), 2u);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].nbytes(), want[i].nbytes());
    EXPECT_EQ(std::memcmp(got[i].raw(), want[i].raw(), want[i].nbytes()), 0) << "output " << i;
  }
}

TEST(BuiltGraph, DamagedBytesAreErrorsNotCrashes) {
  auto bytes = serialize_built_model(built());
  ASSERT_TRUE(bytes.is_ok());
  auto parse = [](const std::string& b) { return parse_built_model(b, nullptr, "p"); };
  EXPECT_NE(parse("").status().message().find("truncated"), std::string::npos);
  std::string huge = *bytes;
  huge[7] = 0x7f;  // description size beyond the section
  EXPECT_NE(parse(huge).status().message().find("truncated"), std::string::npos);
  std::string text = *bytes;
  text[8] = '[';  // not an object
  EXPECT_FALSE(parse(text).is_ok());
  for (size_t cut = 0; cut < bytes->size(); cut += 1 + bytes->size() / 300)
    EXPECT_FALSE(parse(bytes->substr(0, cut)).is_ok()) << cut;
  // Single-byte changes: a Status either way, never a crash (weights may change silently:
  // the plan's section checksum is what catches those).
  for (size_t i = 0; i < 2000; ++i) {
    std::string mutated = *bytes;
    const size_t at = (i * 7919) % mutated.size();
    mutated[at] = static_cast<char>(mutated[at] ^ (1 << (i % 8)));
    (void)parse(mutated);
  }
}

}  // namespace
}  // namespace tarmac::testing

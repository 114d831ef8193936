// CPU kernels of the internal fused nodes (ir/fused_ops.h) against the unfused ONNX graphs they
// stand for, run through the Executor without passes.
#include <gtest/gtest.h>

#include <limits>

#include "core/random.h"
#include "ir/fused_ops.h"
#include "passes/pass_test_util.h"
#include "runtime/executor.h"

namespace tarmac::testing {
namespace {

constexpr int64_t kOpset = 20;  // Gelu is standard from 20

struct Epilogue {
  Activation act = Activation::kNone;
  bool has_alpha = false, has_beta = false;
  float alpha = 0, beta = 0;
};

Epilogue epilogue(Activation act) {
  Epilogue e;
  e.act = act;
  switch (act) {
    case Activation::kClip:
      e.has_alpha = e.has_beta = true;
      e.alpha = -0.3f;
      e.beta = 0.6f;
      break;
    case Activation::kLeakyRelu:
      e.has_alpha = true;
      e.alpha = 0.2f;
      break;
    case Activation::kHardSigmoid:
      e.has_alpha = e.has_beta = true;
      e.alpha = 0.3f;
      e.beta = 0.4f;
      break;
    default:
      break;
  }
  return e;
}

/// The activation as standard ONNX nodes on `y`.
Value* unfused(GraphBuilder& b, Value* y, const Epilogue& e) {
  auto one = [&](const std::string& op) { return b.node(op, "act_" + op, {y}); };
  switch (e.act) {
    case Activation::kNone:
      return y;
    case Activation::kRelu:
      return b.out(one("Relu"));
    case Activation::kClip:
      return b.out(b.node("Clip", "clip",
                          {y, b.initializer("lo", Tensor::scalar(e.alpha)),
                           b.initializer("hi", Tensor::scalar(e.beta))}));
    case Activation::kLeakyRelu: {
      Node* n = one("LeakyRelu");
      if (e.has_alpha) set_float(n, "alpha", e.alpha);
      return b.out(n);
    }
    case Activation::kSigmoid:
      return b.out(one("Sigmoid"));
    case Activation::kHardSigmoid: {
      Node* n = one("HardSigmoid");
      if (e.has_alpha) set_float(n, "alpha", e.alpha);
      if (e.has_beta) set_float(n, "beta", e.beta);
      return b.out(n);
    }
    case Activation::kHardSwish:
      return b.out(one("HardSwish"));
    case Activation::kSilu:
      return b.out(b.node("Mul", "mul", {y, b.out(one("Sigmoid"))}));
    case Activation::kGelu:
      return b.out(one("Gelu"));
    case Activation::kGeluTanh: {
      Node* n = one("Gelu");
      set_string(n, "approximate", "tanh");
      return b.out(n);
    }
    case Activation::kMish: {
      Node* sp = one("Softplus");
      Node* t = b.node("Tanh", "tanh", {b.out(sp)});
      return b.out(b.node("Mul", "mul", {y, b.out(t)}));
    }
    case Activation::kTanh:
      return b.out(one("Tanh"));
  }
  return y;
}

void set_epilogue(Node* n, const Epilogue& e) {
  n->domain = std::string(kInternalDomain);
  if (e.act == Activation::kNone) return;
  set_string(n, "activation", std::string(activation_name(e.act)));
  if (e.has_alpha) set_float(n, "activation_alpha", e.alpha);
  if (e.has_beta) set_float(n, "activation_beta", e.beta);
}

enum class Base { kConv, kConvTranspose, kGemm, kMatMul, kMatMulBias };

/// The base op on seeded weights; with `fused` the bias of kMatMulBias is input 2 of the
/// MatMul, otherwise a separate Add. Returns the base node and its (biased) output.
std::pair<Node*, Value*> base(GraphBuilder& b, Base k, bool fused) {
  switch (k) {
    case Base::kConv: {
      Value* x = b.input("x", {1, 3, 7, 7});
      Node* c =
          b.node("Conv", "conv",
                 {x, b.random_initializer("w", {4, 3, 3, 3}), b.random_initializer("b", {4})});
      set_ints(c, "strides", {2, 2});
      return {c, b.out(c)};
    }
    case Base::kConvTranspose: {
      Value* x = b.input("x", {1, 2, 4, 4});
      Node* c = b.node("ConvTranspose", "convt", {x, b.random_initializer("w", {2, 3, 3, 3})});
      set_ints(c, "strides", {2, 2});
      return {c, b.out(c)};
    }
    case Base::kGemm: {
      Value* a = b.input("a", {3, 6});
      Node* g = b.node("Gemm", "gemm",
                       {a, b.random_initializer("w", {5, 6}), b.random_initializer("c", {5})});
      set_int(g, "transB", 1);
      set_float(g, "alpha", 0.7f);
      return {g, b.out(g)};
    }
    case Base::kMatMul: {
      Value* a = b.input("a", {4, 6});
      Node* m = b.node("MatMul", "mm", {a, b.random_initializer("w", {6, 5})});
      return {m, b.out(m)};
    }
    case Base::kMatMulBias: {
      Value* a = b.input("a", {2, 3, 6});
      Value* w = b.random_initializer("w", {6, 5});
      Value* bias = b.random_initializer("bias", {5});
      if (fused) {
        Node* m = b.node("MatMul", "mm", {a, w, bias});
        return {m, b.out(m)};
      }
      Node* m = b.node("MatMul", "mm", {a, w});
      return {m, b.out(b.node("Add", "add_bias", {b.out(m), bias}))};
    }
  }
  return {nullptr, nullptr};
}

Model make_model(Base k, const Epilogue& e, bool fused) {
  GraphBuilder b(kOpset);
  auto [node, y] = base(b, k, fused);
  if (fused) {
    set_epilogue(node, e);
    b.output(y);
  } else {
    b.output(unfused(b, y, e));
  }
  return b.take();
}

const Activation kAll[] = {
    Activation::kRelu,        Activation::kClip,      Activation::kLeakyRelu, Activation::kSigmoid,
    Activation::kHardSigmoid, Activation::kHardSwish, Activation::kSilu,      Activation::kGelu,
    Activation::kGeluTanh,    Activation::kMish,      Activation::kTanh,
};

TEST(FusedCpu, ConvWithEveryActivation) {
  for (Activation act : kAll) {
    SCOPED_TRACE(std::string(activation_name(act)));
    const Epilogue e = epilogue(act);
    expect_same_outputs([&] { return make_model(Base::kConv, e, false); },
                        make_model(Base::kConv, e, true));
  }
}

TEST(FusedCpu, EveryBaseOp) {
  for (Base k : {Base::kConv, Base::kConvTranspose, Base::kGemm, Base::kMatMul, Base::kMatMulBias})
    for (Activation act : {Activation::kNone, Activation::kLeakyRelu, Activation::kSilu}) {
      SCOPED_TRACE(::testing::Message()
                   << "base " << static_cast<int>(k) << " " << activation_name(act));
      const Epilogue e = epilogue(act);
      expect_same_outputs([&] { return make_model(k, e, false); }, make_model(k, e, true));
    }
}

TEST(FusedCpu, MatMulBiasWithEveryActivation) {
  for (Activation act : kAll) {
    SCOPED_TRACE(std::string(activation_name(act)));
    const Epilogue e = epilogue(act);
    expect_same_outputs([&] { return make_model(Base::kMatMulBias, e, false); },
                        make_model(Base::kMatMulBias, e, true));
  }
}

TEST(FusedCpu, DefaultAlphaBeta) {
  // Without activation_alpha/beta: LeakyRelu 0.01, HardSigmoid 0.2/0.5, as the ONNX ops.
  for (Activation act : {Activation::kLeakyRelu, Activation::kHardSigmoid}) {
    SCOPED_TRACE(std::string(activation_name(act)));
    Epilogue e;
    e.act = act;
    expect_same_outputs([&] { return make_model(Base::kGemm, e, false); },
                        make_model(Base::kGemm, e, true));
  }
}

TEST(FusedCpu, UnboundedClip) {
  Epilogue e = epilogue(Activation::kClip);
  e.beta = std::numeric_limits<float>::infinity();
  auto make = [&](bool fused) {
    GraphBuilder b(kOpset);
    auto [node, y] = base(b, Base::kMatMul, fused);
    if (fused) {
      set_epilogue(node, e);
      b.output(y);
    } else {
      b.output(b.out(b.node("Clip", "clip", {y, b.initializer("lo", Tensor::scalar(e.alpha))})));
    }
    return b.take();
  };
  expect_same_outputs([&] { return make(false); }, make(true));
}

/// MatMul(a, w) + bias -> activation with every operand a float16 graph input.
Model half_model(const Epilogue& e, bool fused) {
  GraphBuilder b(kOpset);
  Value* a = b.input("a", {2, 3, 8}, DType::kFloat16);
  Value* w = b.input("w", {8, 5}, DType::kFloat16);
  Value* bias = b.input("bias", {5}, DType::kFloat16);
  if (fused) {
    Node* m = b.node("MatMul", "mm", {a, w, bias});
    set_epilogue(m, e);
    b.output(b.out(m));
  } else {
    Node* m = b.node("MatMul", "mm", {a, w});
    b.output(unfused(b, b.out(b.node("Add", "add_bias", {b.out(m), bias})), e));
  }
  return b.take();
}

TEST(FusedCpu, Float16) {
  // Relu is exact; Sigmoid is computed in double by the epilogue and in float by the ONNX op,
  // so the two may differ by one half-precision ulp.
  const Epilogue relu = epilogue(Activation::kRelu);
  expect_same_outputs([&] { return half_model(relu, false); }, half_model(relu, true), 1e-5);
  const Epilogue sig = epilogue(Activation::kSigmoid);
  expect_same_outputs([&] { return half_model(sig, false); }, half_model(sig, true), 1e-3);
}

TEST(FusedCpu, UnknownActivationIsAClearError) {
  Model m = make_model(Base::kConv, epilogue(Activation::kRelu), true);
  set_string(m.graph.nodes[0].get(), "activation", "Swoosh");
  ExecutorOptions o;
  o.optimize = false;
  auto ex = Executor::create(std::move(m), o);
  ASSERT_FALSE(ex.is_ok());
  EXPECT_NE(ex.status().message().find("Conv 'conv'"), std::string::npos) << ex.status().message();
  EXPECT_NE(ex.status().message().find("unknown fused activation 'Swoosh'"), std::string::npos)
      << ex.status().message();
}

TEST(FusedCpu, ActivationOnLayerNormIsRefused) {
  GraphBuilder b(kOpset);
  Value* x = b.input("x", {2, 4});
  Node* ln = b.node("LayerNormalization", "ln",
                    {x, b.initializer("g", Tensor::from_vector<float>({1, 1, 1, 1}, {4}))});
  ln->domain = std::string(kInternalDomain);
  set_string(ln, "activation", "Relu");
  b.output(b.out(ln));
  ExecutorOptions o;
  o.optimize = false;
  auto ex = Executor::create(b.take(), o);
  ASSERT_FALSE(ex.is_ok());
  EXPECT_NE(ex.status().message().find("cannot carry a fused activation"), std::string::npos)
      << ex.status().message();
}

TEST(FusedCpu, BiasThatWidensTheProductIsRefused) {
  GraphBuilder b(kOpset);
  Value* a = b.input("a", {3, 6});
  Node* m = b.node("MatMul", "mm",
                   {a, b.random_initializer("w", {6, 5}), b.random_initializer("bias", {2, 1, 5})});
  m->domain = std::string(kInternalDomain);
  b.output(b.out(m));
  ExecutorOptions o;
  o.optimize = false;
  // Shape inference refuses it before any kernel runs.
  auto ex = Executor::create(b.take(), o);
  ASSERT_FALSE(ex.is_ok());
  EXPECT_NE(ex.status().message().find("MatMul 'mm': bias [2, 1, 5] does not broadcast to the "
                                       "product [3, 5]"),
            std::string::npos)
      << ex.status().message();
}

/// Conv X [2, 3, 7, 7] -> Y [2, 4, 4, 4] (stride 2) plus a residual input r [2, 4, 4, 4]:
/// fused, one internal Conv(x, w, b, r) with the epilogue; otherwise Conv, Add(y, r) and the
/// activation as standard nodes.
Model residual_model(const Epilogue& e, bool bias, bool fused) {
  GraphBuilder b(kOpset);
  Value* x = b.input("x", {2, 3, 7, 7});
  Value* r = b.input("r", {2, 4, 4, 4});
  Value* w = b.random_initializer("w", {4, 3, 3, 3});
  Value* bv = bias ? b.random_initializer("b", {4}) : nullptr;
  std::vector<Value*> in{x, w};
  if (bias || fused) in.push_back(bv);
  if (fused) in.push_back(r);
  Node* c = b.node("Conv", "conv", in);
  set_ints(c, "strides", {2, 2});
  set_ints(c, "pads", {1, 1, 1, 1});
  if (fused) {
    set_epilogue(c, e);
    b.output(b.out(c));
  } else {
    b.output(unfused(b, b.out(b.node("Add", "add", {b.out(c), r})), e));
  }
  return b.take();
}

TEST(FusedCpu, ConvResidualWithActivations) {
  for (bool bias : {true, false})
    for (Activation act : {Activation::kNone, Activation::kRelu, Activation::kSilu}) {
      SCOPED_TRACE(::testing::Message() << "bias " << bias << " " << activation_name(act));
      const Epilogue e = epilogue(act);
      expect_same_outputs([&] { return residual_model(e, bias, false); },
                          residual_model(e, bias, true));
    }
}

TEST(FusedCpu, ConvResidualWithWrongShapeIsRefused) {
  GraphBuilder b(kOpset);
  Value* x = b.input("x", {1, 3, 6, 6});
  Value* r = b.input("r", {1, 4, 1, 1});  // would broadcast: not part of the spec
  Node* c = b.node("Conv", "conv",
                   {x, b.random_initializer("w", {4, 3, 3, 3}), b.random_initializer("b", {4}), r});
  c->domain = std::string(kInternalDomain);
  b.output(b.out(c));
  ExecutorOptions o;
  o.optimize = false;
  auto ex = Executor::create(b.take(), o);
  ASSERT_FALSE(ex.is_ok());
  EXPECT_NE(ex.status().message().find("Conv 'conv': residual [1, 4, 1, 1] does not match the "
                                       "output shape [1, 4, 4, 4]"),
            std::string::npos)
      << ex.status().message();
}

TEST(FusedCpu, StandardConvWithFourInputsIsRefused) {
  GraphBuilder b(kOpset);
  Value* x = b.input("x", {1, 3, 6, 6});
  Value* r = b.input("r", {1, 4, 4, 4});
  Node* c = b.node("Conv", "conv", {x, b.random_initializer("w", {4, 3, 3, 3}), nullptr, r});
  b.output(b.out(c));
  ExecutorOptions o;
  o.optimize = false;
  auto ex = Executor::create(b.take(), o);
  ASSERT_FALSE(ex.is_ok());
  EXPECT_NE(ex.status().message().find("has 4 inputs, expected at most 3"), std::string::npos)
      << ex.status().message();
}

}  // namespace
}  // namespace tarmac::testing

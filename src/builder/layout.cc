#include "builder/layout.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "ir/fused_ops.h"
#include "ir/infer/nn_util.h"
#include "ir/inference.h"
#include "ir/verifier.h"
#include "passes/rewrite.h"

namespace tarmac {

namespace {

const Dims kToNhwc{0, 2, 3, 1};
const Dims kToNchw{0, 3, 1, 2};

/// ONNX ops that map each element on its own (extra inputs, if any, must be constants).
const std::set<std::string> kUnary = {
    "Relu",  "LeakyRelu", "Sigmoid",  "Tanh",     "HardSigmoid", "HardSwish", "Elu",
    "Selu",  "Celu",      "Softplus", "Softsign", "Clip",        "Cast",      "Neg",
    "Abs",   "Exp",       "Log",      "Sqrt",     "Erf",         "Mish",      "Reciprocal",
    "Floor", "Ceil",      "Round",    "Sin",      "Cos",         "Gelu",      "ThresholdedRelu",
    "Sign",  "Not",       "IsNaN",    "IsInf"};
/// Broadcasting binary ONNX ops whose result does not depend on the memory order.
const std::set<std::string> kBinary = {"Add", "Sub",   "Mul",  "Div",     "Max", "Min",
                                       "Pow", "Equal", "Less", "Greater", "And", "Or"};

Attribute ints_attr(const Dims& v) {
  Attribute a;
  a.kind = Attribute::Kind::kInts;
  a.ints = v;
  return a;
}

Attribute string_attr(const std::string& s) {
  Attribute a;
  a.kind = Attribute::Kind::kString;
  a.s = s;
  return a;
}

bool is_reformat(const Node* n, const Dims& perm) {
  return n && is_internal_node(*n) && n->op_type == "Transpose" && n->attr_ints("perm") == perm;
}

/// A 4-D static type with its dims permuted.
ValueType permuted(const ValueType& t, const Dims& perm) {
  ValueType r = t;
  r.shape.clear();
  for (int64_t a : perm) r.shape.push_back(t.shape[static_cast<size_t>(a)]);
  return r;
}

bool static_rank4(const Value* v) {
  return v && v->type.has_shape && v->type.rank() == 4 && shape_is_static(v->type.shape);
}

/// A 4-D tensor with its axes permuted (any element type).
StatusOr<Tensor> permute_tensor(const Tensor& t, const Dims& perm) {
  const Dims& d = t.dims();
  Dims out_dims;
  for (int64_t a : perm) out_dims.push_back(d[static_cast<size_t>(a)]);
  TARMAC_ASSIGN_OR_RETURN(Tensor out, Tensor::create(t.dtype(), out_dims));
  const size_t es = dtype_size(t.dtype());
  Dims in_strides(4, 1);
  for (size_t i = 3; i-- > 0;) in_strides[i] = in_strides[i + 1] * d[i + 1];
  const auto* src = static_cast<const char*>(t.raw());
  auto* dst = static_cast<char*>(out.raw());
  int64_t o = 0;
  for (int64_t a = 0; a < out_dims[0]; ++a)
    for (int64_t b = 0; b < out_dims[1]; ++b)
      for (int64_t c = 0; c < out_dims[2]; ++c)
        for (int64_t e = 0; e < out_dims[3]; ++e, ++o) {
          const int64_t idx[4] = {a, b, c, e};
          int64_t off = 0;
          for (size_t k = 0; k < 4; ++k) off += idx[k] * in_strides[static_cast<size_t>(perm[k])];
          std::memcpy(dst + static_cast<size_t>(o) * es, src + static_cast<size_t>(off) * es, es);
        }
  return out;
}

class LayoutAssigner {
 public:
  LayoutAssigner(Model& m, const LayoutOptions& o) : model_(m), g_(m.graph), o_(o) {}

  Status run(LayoutReport* report) {
    if (o_.mode == LayoutMode::kNchw) return Status::ok();
    fp32_nhwc_ = o_.mode == LayoutMode::kNhwc;
    if (o_.mode == LayoutMode::kAuto && o_.allow_tf32) {
      fp32_nhwc_ = true;
      for (auto& n : g_.nodes)
        if ((n->op_type == "Conv" || n->op_type == "ConvTranspose") && n->has_input(0) &&
            n->inputs[0]->type.dtype == DType::kFloat32 && n->attr_int("group", 1) > 1)
          fp32_nhwc_ = false;
    }
    std::vector<Node*> convs;
    for (auto& n : g_.nodes)
      if (eligible(*n)) convs.push_back(n.get());
    for (Node* n : convs) TARMAC_RETURN_IF_ERROR(convert(n));
    // Each move takes a reformat one layer further down; the bound only guards the loop.
    for (size_t round = 0; round <= g_.nodes.size() && sink_all(); ++round) {
    }
    return finish(static_cast<int>(convs.size()), report);
  }

 private:
  bool eligible(const Node& n) const {
    const bool transpose = n.op_type == "ConvTranspose";
    if (n.op_type != "Conv" && !transpose) return false;
    if (!(n.domain.empty() || n.domain == "ai.onnx" || is_internal_node(n)) || is_nhwc_node(n))
      return false;
    if (!n.has_input(0) || !n.has_input(1) || n.outputs.size() != 1 || !n.outputs[0]) return false;
    const Value* x = n.inputs[0];
    const Value* w = n.inputs[1];
    if (!static_rank4(x) || !static_rank4(n.outputs[0]) || !w->constant || w->constant->rank() != 4)
      return false;
    const DType t = x->type.dtype;
    const bool half = t == DType::kFloat16 || t == DType::kBFloat16;
    if (!(half || (fp32_nhwc_ && t == DType::kFloat32))) return false;
    // The geometry the CUDA kernel runs channels-last: symmetric pads, direct ConvTranspose.
    const Dims& wd = w->constant->dims();
    StatusOr<nn::WindowAttrs> a =
        nn::read_window_attrs(n, Dims{wd[2], wd[3]}, {true, false, transpose});
    if (!a.is_ok()) return false;
    const Dims xd = static_dims(x->type.shape);
    for (size_t i = 0; i < 2; ++i) {
      int64_t pb = 0, pe = 0;
      StatusOr<int64_t> out = transpose
                                  ? nn::conv_transpose_output_size(n, *a, i, xd[i + 2], &pb, &pe)
                                  : nn::window_output_size(n, *a, i, xd[i + 2], &pb, &pe);
      if (!out.is_ok() || pb != pe) return false;
      const int64_t window = (a->kernel[i] - 1) * a->dilations[i] + 1;
      const int64_t span = *out + 2 * pb - window;
      if (transpose && !(span >= 0 && span / a->strides[i] + 1 == xd[i + 2])) return false;
    }
    return true;
  }

  Node* reformat(const std::string& name, Value* in, Value* out, const Dims& perm) {
    Node* r = new_node(g_, name, "Transpose", {in}, {out});
    r->domain = std::string(kInternalDomain);
    r->attrs["perm"] = ints_attr(perm);
    return r;
  }

  /// The NHWC form of NCHW value `v`: the input of the reformat that produced it, or a new
  /// NCHW->NHWC reformat (one per value).
  Value* to_nhwc(Value* v) {
    if (is_reformat(v->producer, kToNchw)) return v->producer->inputs[0];
    if (auto it = nhwc_of_.find(v); it != nhwc_of_.end()) return it->second;
    Value* out = new_value(g_, v->name + "_nhwc", permuted(v->type, kToNhwc));
    reformat("reformat_to_nhwc(" + v->name + ")", v, out, kToNhwc);
    nhwc_of_[v] = out;
    return out;
  }

  /// Makes `n` write an NHWC value and puts an NHWC->NCHW reformat between it and its old
  /// output, which keeps its name and readers.
  void redirect_output(Node* n) {
    Value* old_out = n->outputs[0];
    Value* nhwc = new_value(g_, old_out->name + "_nhwc", permuted(old_out->type, kToNhwc));
    n->outputs[0] = nhwc;
    nhwc->producer = n;
    reformat("reformat_to_nchw(" + old_out->name + ")", nhwc, old_out, kToNchw);
  }

  Status convert(Node* n) {
    Value* w = n->inputs[1];
    auto it = weight_of_.find(w);
    if (it == weight_of_.end()) {
      TARMAC_ASSIGN_OR_RETURN(Tensor t, permute_tensor(*w->constant, kToNhwc));
      it = weight_of_.emplace(w, new_initializer(g_, w->name + "_nhwc", std::move(t))).first;
    }
    set_input(n, 0, to_nhwc(n->inputs[0]));
    set_input(n, 1, it->second);
    if (n->has_input(3)) set_input(n, 3, to_nhwc(n->inputs[3]));
    n->domain = std::string(kInternalDomain);
    n->attrs["layout"] = string_attr("NHWC");
    redirect_output(n);
    if (o_.log) o_.log(fmt::format("layout: {} runs NHWC", n->describe()));
    return Status::ok();
  }

  void drop(Node* n) {
    removed_.insert(n);
    for (Value* in : n->inputs) {
      if (!in) continue;
      auto& c = in->consumers;
      c.erase(std::remove(c.begin(), c.end(), n), c.end());
    }
  }

  /// The NHWC operand standing for input `u` of a node being moved past the reformat: the
  /// reformat's own input, another reformat's input, or a constant permuted to NHWC (padded
  /// to rank 4 for broadcasting). nullptr when `u` is none of these.
  StatusOr<Value*> nhwc_operand(Value* u) {
    if (is_reformat(u->producer, kToNchw)) return u->producer->inputs[0];
    if (!u->constant || u->constant->rank() > 4) return nullptr;
    if (u->constant->numel() == 1) return u;
    Dims d = u->constant->dims();
    d.insert(d.begin(), 4 - d.size(), 1);
    TARMAC_ASSIGN_OR_RETURN(Tensor t, permute_tensor(u->constant->reshaped(d), kToNhwc));
    return new_initializer(g_, u->name + "_nhwc", std::move(t));
  }

  /// Moves the NHWC->NCHW reformat `r` past its reader `c` when `c` does not care about the
  /// memory order. True when the graph changed.
  StatusOr<bool> sink(Node* r, Node* c) {
    Value* y = r->inputs[0];   // NHWC
    Value* v = r->outputs[0];  // NCHW
    if (c->op_type == "Transpose" && c->attr_ints("perm") == kToNhwc) {
      if (!replace_value(g_, c->outputs[0], y)) return false;
      drop(c);
      return true;
    }
    const bool onnx = c->domain.empty() || c->domain == "ai.onnx";
    // An internal elementwise chain (passes/elementwise_fusion) broadcasts like Add.
    const bool chain = is_internal_node(*c) && c->op_type == "FusedElementwise";
    if (c->outputs.size() != 1 || !static_rank4(c->outputs[0]) || !(onnx || chain)) return false;
    if (onnx && kUnary.count(c->op_type)) {
      if (c->inputs[0] != v) return false;
      // A widening Cast would make the reformat move more bytes (the float32 outputs of a
      // half-precision region): the reformat stays in front of it.
      if (c->op_type == "Cast" && dtype_size(c->outputs[0]->type.dtype) > dtype_size(v->type.dtype))
        return false;
      for (size_t i = 1; i < c->inputs.size(); ++i)
        if (c->inputs[i] && !c->inputs[i]->constant) return false;
      set_input(c, 0, y);
    } else if ((onnx && kBinary.count(c->op_type) && c->inputs.size() == 2) || chain) {
      std::vector<Value*> ops;
      for (Value* u : c->inputs) {
        if (!u) return false;
        TARMAC_ASSIGN_OR_RETURN(Value * op, nhwc_operand(u));
        if (!op) return false;
        ops.push_back(op);
      }
      for (size_t i = 0; i < ops.size(); ++i) set_input(c, i, ops[i]);
    } else if (onnx && c->op_type == "Concat") {
      const int64_t axis = c->attr_int("axis", 1);
      if (axis != 1 && axis != -3) return false;
      for (Value* u : c->inputs)
        if (!u || !is_reformat(u->producer, kToNchw)) return false;
      for (size_t i = 0; i < c->inputs.size(); ++i)
        set_input(c, i, c->inputs[i]->producer->inputs[0]);
      Attribute axis3;
      axis3.kind = Attribute::Kind::kInt;
      axis3.i = 3;
      c->attrs["axis"] = axis3;
    } else {
      return false;
    }
    redirect_output(c);
    return true;
  }

  /// One sweep over the NHWC->NCHW reformats; true when anything moved.
  StatusOr<bool> sink_once() {
    bool changed = false;
    std::vector<Node*> reformats;
    for (auto& n : g_.nodes)
      if (!removed_.count(n.get()) && is_reformat(n.get(), kToNchw)) reformats.push_back(n.get());
    for (Node* r : reformats) {
      const std::vector<Node*> readers = r->outputs[0]->consumers;
      for (Node* c : readers) {
        if (removed_.count(c)) continue;
        TARMAC_ASSIGN_OR_RETURN(bool moved, sink(r, c));
        changed |= moved;
      }
    }
    return changed;
  }

  bool sink_all() {
    StatusOr<bool> s = sink_once();
    if (!s.is_ok()) {
      error_ = s.status();
      return false;
    }
    return *s;
  }

  Status finish(int converted, LayoutReport* report) {
    TARMAC_RETURN_IF_ERROR(error_);
    // Reformats nobody reads any more.
    for (bool again = true; again;) {
      again = false;
      for (auto& n : g_.nodes) {
        Node* p = n.get();
        if (removed_.count(p) || !is_internal_node(*p) || p->op_type != "Transpose") continue;
        const Value* out = p->outputs[0];
        if (out->consumers.empty() && !out->is_graph_output) {
          drop(p);
          again = true;
        }
      }
    }
    g_.nodes.erase(std::remove_if(g_.nodes.begin(), g_.nodes.end(),
                                  [&](const std::unique_ptr<Node>& n) {
                                    return removed_.count(n.get()) != 0;
                                  }),
                   g_.nodes.end());
    g_.relink();
    // Values nothing produces or reads any more, including the weights in the NCHW order.
    g_.values.erase(std::remove_if(g_.values.begin(), g_.values.end(),
                                   [&](const std::unique_ptr<Value>& v) {
                                     const bool orphan =
                                         !v->producer && v->consumers.empty() &&
                                         !v->is_graph_input && !v->is_graph_output &&
                                         (!v->is_initializer || weight_of_.count(v.get()) != 0);
                                     if (orphan) g_.value_by_name.erase(v->name);
                                     return orphan;
                                   }),
                    g_.values.end());
    TARMAC_RETURN_IF_ERROR(g_.sort());
    InferOptions io;
    TARMAC_RETURN_IF_ERROR(verify_and_infer(g_, model_.onnx_opset(), io));
    int reformats = 0;
    for (auto& n : g_.nodes)
      if (is_internal_node(*n) && n->op_type == "Transpose") {
        ++reformats;
        if (o_.log) o_.log(fmt::format("layout: reformat layer {}", n->name));
      }
    if (o_.log)
      o_.log(fmt::format("layout: {} convolution(s) NHWC, {} reformat layer(s)", converted,
                         reformats));
    if (report) *report = LayoutReport{converted, reformats};
    return Status::ok();
  }

  Model& model_;
  Graph& g_;
  const LayoutOptions& o_;
  std::map<const Value*, Value*> nhwc_of_;    // NCHW value -> its NCHW->NHWC reformat's output
  std::map<const Value*, Value*> weight_of_;  // ONNX-layout weight -> permuted initializer
  std::set<const Node*> removed_;
  Status error_;
  bool fp32_nhwc_ = false;  // float32 convolutions convert too
};

}  // namespace

StatusOr<LayoutMode> parse_layout_mode(const std::string& s) {
  if (s == "auto") return LayoutMode::kAuto;
  if (s == "nchw") return LayoutMode::kNchw;
  if (s == "nhwc") return LayoutMode::kNhwc;
  return invalid_argument("layout '{}' is not one of auto, nchw, nhwc", s);
}

Status assign_layouts(Model& model, const LayoutOptions& options, LayoutReport* report) {
  if (report) *report = LayoutReport{};
  LayoutAssigner a(model, options);
  return a.run(report);
}

}  // namespace tarmac

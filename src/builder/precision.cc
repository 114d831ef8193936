#include "builder/precision.h"

#include <map>

#include "ir/fused_ops.h"
#include "ir/inference.h"
#include "ir/verifier.h"
#include "passes/rewrite.h"

namespace tarmac {

namespace {

/// Ops computed in float32 whatever the target precision: those whose ONNX type constraints
/// exclude half types or fix float32 parameters, and — as mixed-precision training does — ops
/// whose results grow or sum beyond half precision's range or resolution (exponentials, powers,
/// unnormalized sums).
bool always_fp32(const Node& n, DType target) {
  if (target == DType::kFloat64) {
    // A float64 reference widens everything whose ONNX type constraints allow double.
    static const std::set<std::string> fixed = {"QuantizeLinear", "DequantizeLinear",
                                                "NonMaxSuppression"};
    return fixed.count(n.op_type) != 0;
  }
  static const std::set<std::string> ops = {"QuantizeLinear",
                                            "DequantizeLinear",
                                            "NonMaxSuppression",
                                            "Range",  // type constraints
                                            "Exp",
                                            "Log",
                                            "Pow",
                                            "Softplus",  // growth
                                            "ReduceSum",
                                            "ReduceProd",
                                            "ReduceL2",
                                            "ReduceSumSquare",
                                            "CumSum"};
  if (is_internal_node(n) && n.op_type == "FusedElementwise") {
    // An elementwise chain (passes/elementwise_fusion) containing such an op keeps float32.
    const std::string chain = n.attr_string("ops", "");
    for (size_t b = 0; b < chain.size();) {
      size_t e = chain.find(',', b);
      if (e == std::string::npos) e = chain.size();
      if (ops.count(chain.substr(b, e - b))) return true;
      b = e + 1;
    }
    return false;
  }
  return ops.count(n.op_type) != 0;
}

/// Elementwise and joining ops run in the widest float type among their inputs (as
/// mixed-precision training's "promote" ops do), so a float32 result stays float32 downstream.
bool promotes(const Node& n) {
  static const std::set<std::string> ops = {"Add", "Sub",  "Mul",    "Div",   "Max", "Min",
                                            "Sum", "Mean", "Concat", "Where", "Neg", "Abs"};
  return ops.count(n.op_type) != 0 || (is_internal_node(n) && n.op_type == "FusedElementwise");
}

/// Inputs that stay float32 even on converted nodes (their type is fixed by the op).
bool input_locked_fp32(const Node& n, size_t i) {
  if (n.op_type == "Resize") return i == 1 || i == 2;  // roi, scales
  if (n.op_type == "Upsample") return i == 1;          // scales
  return false;
}

Attribute int_attr(int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::kInt;
  a.i = v;
  return a;
}

class Converter {
 public:
  Converter(Model& m, const PrecisionOptions& o) : model_(m), g_(m.graph), o_(o) {}

  Status run() {
    if (o_.dtype != DType::kFloat16 && o_.dtype != DType::kBFloat16 && o_.dtype != DType::kFloat64)
      return invalid_argument("precision must be float16, bfloat16 or float64, not {}",
                              dtype_name(o_.dtype));
    // The dtype each float32 value has after conversion: half when written by a converted
    // node; constants and graph inputs keep float32 and are cast (constants converted) on use.
    std::vector<Node*> nodes;
    for (auto& n : g_.nodes) nodes.push_back(n.get());
    for (Node* n : nodes) {
      bool half = converted(*n);
      if (half && promotes(*n) && o_.dtype != DType::kFloat64)
        for (const Value* v : n->inputs)
          if (v && fp32_results_.count(v)) half = false;
      if (!half)
        for (const Value* out : n->outputs)
          if (out && out->type.dtype == DType::kFloat32 && !layer_listed(o_.keep_fp32, n->name))
            fp32_results_.insert(out);
      for (size_t i = 0; i < n->inputs.size(); ++i) {
        Value* v = n->inputs[i];
        // float32 in the original graph: still float32, or already retyped by its producer.
        if (!v || (v->type.dtype != DType::kFloat32 && !half_values_.count(v))) continue;
        const DType want = (half && !input_locked_fp32(*n, i)) ? o_.dtype : DType::kFloat32;
        n->inputs[i] = as_dtype(v, want);
      }
      if (!half) continue;
      for (Value* out : n->outputs)
        if (out && out->type.dtype == DType::kFloat32) {
          out->type.dtype = o_.dtype;
          out->constant.reset();  // folded values are recomputed by inference
          half_values_.insert(out);
        }
      if (n->op_type == "Cast" && n->attr_int("to", 0) == static_cast<int64_t>(DType::kFloat32))
        n->attrs["to"] = int_attr(static_cast<int64_t>(o_.dtype));
      if (n->op_type == "ConstantOfShape" || n->op_type == "Constant") convert_value_attr(n);
    }
    // Graph outputs keep float32: the half producer writes a new value, a Cast writes the name.
    for (Value*& out : g_.outputs) {
      // Half outputs keep the model's float32 signature; a float64 reference stays unrounded.
      if (!half_values_.count(out) || o_.dtype == DType::kFloat64) continue;
      Value* half = fresh(out->name + "_" + std::string(dtype_name(o_.dtype)), out->type);
      for (Value*& o : out->producer->outputs)
        if (o == out) o = half;
      for (Node* c : out->consumers)
        for (Value*& in : c->inputs)
          if (in == out) in = half;
      out->type.dtype = DType::kFloat32;
      add_cast(half, out, DType::kFloat32);
    }
    g_.relink();
    for (auto& v : g_.values)  // stale folded contents of retyped values
      if (v->type.dtype != DType::kFloat32 && v->constant &&
          v->constant->dtype() != v->type.dtype && !v->is_initializer)
        v->constant.reset();
    InferOptions io;
    return verify_and_infer(g_, model_.onnx_opset(), io);
  }

 private:
  bool converted(const Node& n) const {
    if (always_fp32(n, o_.dtype) || layer_listed(o_.keep_fp32, n.name)) return false;
    // Nodes with no float data (shape arithmetic) are unaffected either way.
    return true;
  }

  Value* fresh(const std::string& hint, const ValueType& type) {
    std::string name = hint;
    for (int i = 1; g_.find_value(name); ++i) name = hint + "_" + std::to_string(i);
    Value* v = g_.get_or_add_value(name);
    v->type = type;
    return v;
  }

  void add_cast(Value* from, Value* to, DType dtype) {
    auto n = std::make_unique<Node>();
    n->op_type = "Cast";
    n->name = "cast_" + to->name;
    n->inputs = {from};
    n->outputs = {to};
    n->attrs["to"] = int_attr(static_cast<int64_t>(dtype));
    g_.add_node(std::move(n));
  }

  /// `v` (currently float32 or half) as `want`: itself, a converted constant or a Cast.
  Value* as_dtype(Value* v, DType want) {
    const DType have = half_values_.count(v) ? o_.dtype : DType::kFloat32;
    if (have == want) return v;
    auto key = std::make_pair(v, want);
    if (auto it = casts_.find(key); it != casts_.end()) return it->second;
    ValueType t = v->type;
    t.dtype = want;
    Value* out = fresh(v->name + "_" + std::string(dtype_name(want)), t);
    if (v->constant && (v->is_initializer || !v->producer)) {
      out->is_initializer = true;
      out->constant = std::make_shared<const Tensor>(v->constant->cast(want));
    } else {
      add_cast(v, out, want);
    }
    casts_[key] = out;
    return out;
  }

  void convert_value_attr(Node* n) {
    auto it = n->attrs.find("value");
    if (it == n->attrs.end() || !it->second.tensor || it->second.tensor->dtype() != DType::kFloat32)
      return;
    it->second.tensor = std::make_shared<const Tensor>(it->second.tensor->cast(o_.dtype));
  }

  Model& model_;
  Graph& g_;
  const PrecisionOptions& o_;
  std::set<const Value*> half_values_;
  std::set<const Value*> fp32_results_;  // float32 outputs of nodes kept in float32 by policy
  std::map<std::pair<Value*, DType>, Value*> casts_;
};

}  // namespace

bool layer_listed(const std::set<std::string>& keep_fp32, const std::string& layer) {
  if (keep_fp32.empty()) return false;
  if (keep_fp32.count(layer)) return true;
  for (const std::string& name : fused_node_names(layer))
    if (keep_fp32.count(name)) return true;
  return false;
}

Status assign_precision(Model& model, const PrecisionOptions& options) {
  return Converter(model, options).run();
}

}  // namespace tarmac

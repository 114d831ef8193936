#include "ir/inference.h"

#include <limits>

#include "ir/elementwise_program.h"
#include "ir/fused_ops.h"
#include "ir/op_registry.h"

namespace tarmac {

namespace {

bool all_static(const ValueType& t) { return t.has_shape && shape_is_static(t.shape); }

/// Element count of static dims, or -1 when it does not fit in int64: shapes inferred from
/// malformed models can be that large, and multiplying them directly would overflow.
int64_t checked_elements(const Dims& dims) {
  for (int64_t d : dims)
    if (d == 0) return 0;
  unsigned __int128 n = 1;
  for (int64_t d : dims) {
    n *= static_cast<unsigned __int128>(d);
    if (n > static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max())) return -1;
  }
  return static_cast<int64_t>(n);
}

/// Shape and Size only need the input's shape; fold them when it is static.
bool fold_shape_op(const Node& node, int64_t opset, const std::vector<const ValueType*>& ins,
                   std::vector<Tensor>* out) {
  if (ins.empty() || !ins[0] || !all_static(*ins[0])) return false;
  const Dims dims = static_dims(ins[0]->shape);
  if (node.op_type == "Size") {
    const int64_t n = checked_elements(dims);
    if (n < 0) return false;
    out->push_back(Tensor::scalar<int64_t>(n));
    return true;
  }
  if (node.op_type != "Shape") return false;
  const int64_t rank = static_cast<int64_t>(dims.size());
  int64_t start = 0, end = rank;
  if (opset >= 15) {
    start = node.attr_int("start", 0);
    end = node.attr_int("end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, 0, rank);
  }
  std::vector<int64_t> v;
  for (int64_t i = start; i < end; ++i) v.push_back(dims[static_cast<size_t>(i)]);
  out->push_back(Tensor::from_vector<int64_t>(v, {static_cast<int64_t>(v.size())}));
  return true;
}

/// Merges what the op produced with what the model declared; errors on contradictions.
Status merge_declared(const Node& node, size_t i, const ValueType& inferred, ValueType* declared) {
  if (declared->dtype != DType::kUndefined && inferred.dtype != DType::kUndefined &&
      declared->dtype != inferred.dtype) {
    return node_error(node, "output {} '{}' is declared {} but the op produces {} (type mismatch)",
                      i, node.outputs[i]->name, dtype_name(declared->dtype),
                      dtype_name(inferred.dtype));
  }
  ValueType merged = inferred;
  if (merged.dtype == DType::kUndefined) merged.dtype = declared->dtype;
  if (declared->has_shape && inferred.has_shape) {
    if (declared->rank() != inferred.rank()) {
      return node_error(
          node, "output {} '{}' is declared with rank {} {} but the op produces rank {} {}", i,
          node.outputs[i]->name, declared->rank(), shape_to_string(declared->shape),
          inferred.rank(), shape_to_string(inferred.shape));
    }
    for (size_t k = 0; k < inferred.shape.size(); ++k) {
      const Dim& a = inferred.shape[k];
      const Dim& b = declared->shape[k];
      if (a.is_static() && b.is_static() && a.value != b.value) {
        return node_error(node, "output {} '{}' is declared {} but the op produces {}", i,
                          node.outputs[i]->name, shape_to_string(declared->shape),
                          shape_to_string(inferred.shape));
      }
      if (!a.is_static() && (b.is_static() || !b.symbol.empty())) merged.shape[k] = b;
    }
  } else if (declared->has_shape) {
    merged.has_shape = true;
    merged.shape = declared->shape;
  }
  *declared = std::move(merged);
  return Status::ok();
}

}  // namespace

bool is_foldable_op(const Node& node) {
  const std::string& op = node.op_type;
  return op != "NonZero" && op != "NonMaxSuppression" && op != "QuantizeLinear" &&
         op != "DequantizeLinear";
}

Status infer_graph(Graph& graph, int64_t opset, const InferOptions& options) {
  for (auto& node_ptr : graph.nodes) {
    Node& node = *node_ptr;
    // FusedElementwise is the one internal op with no ONNX counterpart to borrow inference from.
    const bool fused_ew = is_internal_node(node) && node.op_type == kFusedElementwiseOp;
    const OpInfo* info = fused_ew ? nullptr : find_op(node.op_type);
    if (!info && !fused_ew) return node_error(node, "op is not supported");
    InferContext ctx{node, opset, &graph, {}, {}, std::vector<ValueType>(node.outputs.size())};
    bool all_const = true;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      Value* v = node.inputs[i];
      if (!v) {
        ctx.inputs.push_back(nullptr);
        ctx.values.push_back(nullptr);
        continue;
      }
      if (v->type.dtype == DType::kUndefined) {
        return node_error(node, "input {} '{}' has no known type", i, v->name);
      }
      ctx.inputs.push_back(&v->type);
      ctx.values.push_back(v->constant.get());
      if (!v->constant) all_const = false;
    }
    // Trailing absent optional inputs are dropped so ops see their real arity.
    while (!ctx.inputs.empty() && ctx.inputs.back() == nullptr) {
      ctx.inputs.pop_back();
      ctx.values.pop_back();
    }
    TARMAC_RETURN_IF_ERROR(fused_ew ? infer_fused_elementwise(ctx) : info->infer(ctx));

    std::vector<Tensor> folded;
    bool have_fold = fold_shape_op(node, opset, ctx.inputs, &folded);
    if (!have_fold && all_const && options.evaluator && is_foldable_op(node)) {
      bool small = true;  // Constant nodes fold whatever their size: they are data already
      if (node.op_type != "Constant")
        for (const ValueType& t : ctx.outputs) {
          const int64_t n = all_static(t) ? checked_elements(static_dims(t.shape)) : -1;
          const int64_t size = static_cast<int64_t>(dtype_size(t.dtype));
          if (n < 0 || (size > 0 && n > options.fold_limit_bytes / size)) {
            small = false;
          }
        }
      if (small) {
        auto r = options.evaluator(node, opset, ctx.values);
        if (!r.is_ok()) return r.status();
        folded = std::move(r).value();
        have_fold = true;
      }
    }

    for (size_t i = 0; i < node.outputs.size(); ++i) {
      Value* out = node.outputs[i];
      if (!out) continue;
      ValueType inferred = ctx.outputs[i];
      if (have_fold && i < folded.size() && folded[i].defined()) {
        inferred.dtype = folded[i].dtype();
        inferred.has_shape = true;
        inferred.shape = shape_from_dims(folded[i].dims());
        out->constant = std::make_shared<const Tensor>(std::move(folded[i]));
      }
      if (inferred.dtype == DType::kUndefined) {
        return node_error(node, "could not infer the type of output {} '{}'", i, out->name);
      }
      TARMAC_RETURN_IF_ERROR(merge_declared(node, i, inferred, &out->type));
    }
  }
  return Status::ok();
}

}  // namespace tarmac

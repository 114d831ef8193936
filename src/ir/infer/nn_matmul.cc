// Shape and type inference for the matrix products: Gemm, MatMul, Einsum.
#include "ir/infer/nn_util.h"
#include "ir/op_registry.h"

namespace tarmac {

namespace {

/// Float types, plus int32/int64 where `ints` (MatMul/Gemm since opset 9).
Status check_dtypes(const InferContext& ctx, bool ints) {
  const DType t = ctx.input(0).dtype;
  const bool ok = is_floating(t) || (ints && (t == DType::kInt32 || t == DType::kInt64));
  if (!ok) {
    return node_error(ctx.node, "input 0 has dtype {}, which this op does not accept at opset {}",
                      dtype_name(t), ctx.opset);
  }
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    if (ctx.has_input(i) && ctx.input(i).dtype != t) {
      return node_error(ctx.node, "input {} has dtype {} but input 0 has {}", i,
                        dtype_name(ctx.input(i).dtype), dtype_name(t));
    }
  }
  return Status::ok();
}

Status check_inner(const Node& n, const Dim& ka, const Dim& kb) {
  if (ka.is_static() && kb.is_static() && ka.value != kb.value) {
    return node_error(n, "inner dimensions differ: {} and {}", ka.value, kb.value);
  }
  return Status::ok();
}

}  // namespace

Status infer_MatMul(InferContext& ctx) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return node_error(n, "expects inputs A and B");
  TARMAC_RETURN_IF_ERROR(check_dtypes(ctx, ctx.opset >= 9));
  const ValueType& a = ctx.input(0);
  const ValueType& b = ctx.input(1);
  if (!a.has_shape || !b.has_shape) {
    ctx.set_output_dtype(0, a.dtype);
    return Status::ok();
  }
  if (a.rank() < 1 || b.rank() < 1) return node_error(n, "inputs must have rank >= 1");
  const Dim ka = a.shape.back();
  const Dim kb = b.rank() == 1 ? b.shape[0] : b.shape[b.shape.size() - 2];
  TARMAC_RETURN_IF_ERROR(check_inner(n, ka, kb));
  ValueType ba, bb;
  ba.has_shape = bb.has_shape = true;
  if (a.rank() > 2) ba.shape.assign(a.shape.begin(), a.shape.end() - 2);
  if (b.rank() > 2) bb.shape.assign(b.shape.begin(), b.shape.end() - 2);
  TARMAC_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(n, {&ba, &bb}));
  if (a.rank() > 1) out.push_back(a.shape[a.shape.size() - 2]);
  if (b.rank() > 1) out.push_back(b.shape.back());
  if (ctx.has_input(2)) {  // internal MatMul with bias (ir/fused_ops.h)
    ValueType product;
    product.has_shape = true;
    product.shape = out;
    TARMAC_ASSIGN_OR_RETURN(Shape with_bias, broadcast_shapes(n, {&product, &ctx.input(2)}));
    if (with_bias.size() != out.size())
      return node_error(n, "bias {} does not broadcast to the product {}",
                        shape_to_string(ctx.input(2).shape), shape_to_string(out));
    for (size_t i = 0; i < out.size(); ++i)
      if (with_bias[i].is_static() && out[i].is_static() && with_bias[i].value != out[i].value)
        return node_error(n, "bias {} does not broadcast to the product {}",
                          shape_to_string(ctx.input(2).shape), shape_to_string(out));
  }
  ctx.set_output(0, a.dtype, std::move(out));
  return Status::ok();
}

Status infer_Gemm(InferContext& ctx) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return node_error(n, "expects inputs A and B");
  if (ctx.opset < 11 && !ctx.has_input(2)) {
    return node_error(n, "input C is required before opset 11");
  }
  TARMAC_RETURN_IF_ERROR(check_dtypes(ctx, ctx.opset >= 9));
  const ValueType& a = ctx.input(0);
  const ValueType& b = ctx.input(1);
  for (const ValueType* v : {&a, &b}) {
    if (v->has_shape && v->rank() != 2) {
      return node_error(n, "input {} has rank {}, expected 2", v == &a ? "A" : "B", v->rank());
    }
  }
  const bool ta = n.attr_int("transA", 0) != 0;
  const bool tb = n.attr_int("transB", 0) != 0;
  const Dim m = a.has_shape ? a.shape[ta ? 1 : 0] : ctx.new_dim("gemm_m");
  const Dim nn = b.has_shape ? b.shape[tb ? 0 : 1] : ctx.new_dim("gemm_n");
  if (a.has_shape && b.has_shape) {
    TARMAC_RETURN_IF_ERROR(check_inner(n, a.shape[ta ? 0 : 1], b.shape[tb ? 1 : 0]));
  }
  if (ctx.has_input(2) && ctx.input(2).has_shape) {
    const Shape& c = ctx.input(2).shape;
    if (c.size() > 2) return node_error(n, "input C has rank {}, expected <= 2", c.size());
    const Shape target{m, nn};
    for (size_t i = 0; i < c.size(); ++i) {
      const Dim& t = target[2 - c.size() + i];
      if (c[i].is_static() && t.is_static() && c[i].value != 1 && c[i].value != t.value) {
        return node_error(n, "input C of shape {} does not broadcast to [{}, {}]",
                          shape_to_string(c), m.to_string(), nn.to_string());
      }
    }
  }
  ctx.set_output(0, a.dtype, {m, nn});
  return Status::ok();
}

Status infer_Einsum(InferContext& ctx) {
  const Node& n = ctx.node;
  if (ctx.num_inputs() == 0 || !ctx.has_input(0)) return node_error(n, "expects inputs");
  const DType t = ctx.input(0).dtype;
  if (!is_floating(t) && !is_integer(t)) {
    return node_error(n, "input 0 has dtype {}, expected a numeric type", dtype_name(t));
  }
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return node_error(n, "input {} is missing", i);
    if (ctx.input(i).dtype != t) {
      return node_error(n, "input {} has dtype {} but input 0 has {}", i,
                        dtype_name(ctx.input(i).dtype), dtype_name(t));
    }
  }
  if (!n.has_attr("equation")) return node_error(n, "attribute equation is required");
  const std::string eq = n.attr_string("equation", "");
  std::vector<int64_t> ranks;
  bool all_known = true;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    ranks.push_back(ctx.input(i).has_shape ? ctx.input(i).rank() : -1);
    all_known &= ctx.input(i).has_shape;
  }
  if (!all_known && eq.find("...") != std::string::npos) {
    ctx.set_output_dtype(0, t);
    return Status::ok();
  }
  TARMAC_ASSIGN_OR_RETURN(nn::EinsumSpec spec, nn::parse_einsum(n, eq, ranks));
  std::vector<Dims> dims;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    Dims d;
    if (ctx.input(i).has_shape) {
      for (const Dim& x : ctx.input(i).shape) d.push_back(x.is_static() ? x.value : -1);
    } else {
      d.assign(spec.inputs[i].size(), -1);
    }
    dims.push_back(std::move(d));
  }
  TARMAC_ASSIGN_OR_RETURN(auto sizes, nn::einsum_label_sizes(n, spec, dims));
  Shape out;
  for (int l : spec.output) {
    const int64_t s = sizes[static_cast<size_t>(l)];
    out.push_back(s >= 0 ? Dim(s) : ctx.new_dim("einsum"));
  }
  ctx.set_output(0, t, std::move(out));
  return Status::ok();
}

}  // namespace tarmac

// Shape and type inference for the elementwise ops. Kernels repeat every check on concrete
// shapes; here a check fires only when the dims involved are known.
#include <map>

#include "ir/op_registry.h"

namespace tarmac {

namespace {

enum class Accepts { kFloat, kSignedNumeric, kNumeric, kBool, kAny };

bool accepts(Accepts a, DType t) {
  switch (a) {
    case Accepts::kFloat:
      return is_floating(t);
    case Accepts::kSignedNumeric:
      return is_floating(t) || t == DType::kInt8 || t == DType::kInt32 || t == DType::kInt64;
    case Accepts::kNumeric:
      return is_floating(t) || is_integer(t);
    case Accepts::kBool:
      return t == DType::kBool;
    case Accepts::kAny:
      return t != DType::kUndefined;
  }
  return false;
}

const char* accepts_name(Accepts a) {
  switch (a) {
    case Accepts::kFloat:
      return "a floating-point type";
    case Accepts::kSignedNumeric:
      return "a signed numeric type";
    case Accepts::kNumeric:
      return "a numeric type";
    case Accepts::kBool:
      return "bool";
    case Accepts::kAny:
      return "a tensor type";
  }
  return "";
}

Status need_inputs(const InferContext& ctx, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!ctx.has_input(i))
      return node_error(ctx.node, "expects {} inputs, input {} is missing", n, i);
  return Status::ok();
}

Status check_dtype(const InferContext& ctx, size_t i, Accepts a) {
  const DType t = ctx.input(i).dtype;
  if (!accepts(a, t)) {
    return node_error(ctx.node, "input {} has dtype {}, expected {}", i, dtype_name(t),
                      accepts_name(a));
  }
  return Status::ok();
}

Status check_same_dtype(const InferContext& ctx, size_t i, size_t j) {
  if (ctx.input(i).dtype != ctx.input(j).dtype) {
    return node_error(ctx.node, "inputs {} and {} have different dtypes {} and {}", i, j,
                      dtype_name(ctx.input(i).dtype), dtype_name(ctx.input(j).dtype));
  }
  return Status::ok();
}

/// Output i takes input j's shape (or unknown rank) with dtype `t`.
void same_shape(InferContext& ctx, size_t out, size_t in, DType t) {
  const ValueType& v = ctx.input(in);
  if (v.has_shape) {
    ctx.set_output(out, t, v.shape);
  } else {
    ctx.set_output_dtype(out, t);
  }
}

Status unary(InferContext& ctx, Accepts a) {
  TARMAC_RETURN_IF_ERROR(need_inputs(ctx, 1));
  TARMAC_RETURN_IF_ERROR(check_dtype(ctx, 0, a));
  same_shape(ctx, 0, 0, ctx.input(0).dtype);
  return Status::ok();
}

/// Numpy broadcast of the given inputs into output 0 of dtype `t`.
Status broadcast_output(InferContext& ctx, const std::vector<size_t>& ins, DType t) {
  std::vector<const ValueType*> types;
  for (size_t i : ins) {
    if (!ctx.input(i).has_shape) {
      ctx.set_output_dtype(0, t);
      return Status::ok();
    }
    types.push_back(&ctx.input(i));
  }
  TARMAC_ASSIGN_OR_RETURN(Shape s, broadcast_shapes(ctx.node, types));
  ctx.set_output(0, t, std::move(s));
  return Status::ok();
}

/// Opset < 7 binary ops: B is broadcast onto A (attribute broadcast=1, aligned at axis) and the
/// output has A's shape.
Status legacy_broadcast_output(InferContext& ctx, DType t) {
  const ValueType& a = ctx.input(0);
  const ValueType& b = ctx.input(1);
  if (a.has_shape && b.has_shape) {
    const Node& n = ctx.node;
    if (n.attr_int("broadcast", 0) == 0) {
      bool differ = a.rank() != b.rank();
      for (size_t k = 0; !differ && k < a.shape.size(); ++k)
        if (a.shape[k].is_static() && b.shape[k].is_static() &&
            a.shape[k].value != b.shape[k].value)
          differ = true;
      if (differ) {
        return node_error(n,
                          "inputs have shapes {} and {}, which differ, and attribute broadcast "
                          "is 0",
                          shape_to_string(a.shape), shape_to_string(b.shape));
      }
    } else {
      const bool scalar_b = shape_is_static(b.shape) && num_elements(static_dims(b.shape)) == 1;
      if (b.rank() > a.rank()) {
        return node_error(n, "input B of shape {} has more dims than input A of shape {}",
                          shape_to_string(b.shape), shape_to_string(a.shape));
      }
      int64_t axis = n.has_attr("axis") ? n.attr_int("axis", 0) : a.rank() - b.rank();
      if (axis < 0) axis += a.rank();
      if (!scalar_b && (axis < 0 || axis + b.rank() > a.rank())) {
        return node_error(n, "axis {} does not fit B of shape {} into A of shape {}",
                          n.attr_int("axis", 0), shape_to_string(b.shape),
                          shape_to_string(a.shape));
      }
      for (int64_t i = 0; !scalar_b && i < b.rank(); ++i) {
        const Dim& db = b.shape[static_cast<size_t>(i)];
        const Dim& da = a.shape[static_cast<size_t>(axis + i)];
        if (db.is_static() && da.is_static() && db.value != 1 && db.value != da.value) {
          return node_error(n, "input B of shape {} does not match A of shape {} at axis {}",
                            shape_to_string(b.shape), shape_to_string(a.shape), axis);
        }
      }
    }
  }
  same_shape(ctx, 0, 0, t);
  return Status::ok();
}

/// Two same-dtype inputs accepted by `a`, numpy (or legacy) broadcast, output dtype `out`
/// (kUndefined: the inputs' dtype).
Status binary(InferContext& ctx, Accepts a, bool legacy_rule, DType out = DType::kUndefined) {
  TARMAC_RETURN_IF_ERROR(need_inputs(ctx, 2));
  TARMAC_RETURN_IF_ERROR(check_same_dtype(ctx, 0, 1));
  TARMAC_RETURN_IF_ERROR(check_dtype(ctx, 0, a));
  const DType t = out == DType::kUndefined ? ctx.input(0).dtype : out;
  if (legacy_rule && ctx.opset < 7) return legacy_broadcast_output(ctx, t);
  return broadcast_output(ctx, {0, 1}, t);
}

Status variadic(InferContext& ctx, Accepts a) {
  if (ctx.num_inputs() == 0) return node_error(ctx.node, "expects at least 1 input");
  std::vector<size_t> ins;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return node_error(ctx.node, "input {} is missing", i);
    TARMAC_RETURN_IF_ERROR(check_same_dtype(ctx, 0, i));
    ins.push_back(i);
  }
  TARMAC_RETURN_IF_ERROR(check_dtype(ctx, 0, a));
  return broadcast_output(ctx, ins, ctx.input(0).dtype);
}

/// ONNX TensorProto type names, for 'to' given as a string (opset < 6) and for error messages.
const std::map<std::string, int32_t>& onnx_type_numbers() {
  static const auto* m = new std::map<std::string, int32_t>{
      {"FLOAT", 1},         {"UINT8", 2},           {"INT8", 3},        {"UINT16", 4},
      {"INT16", 5},         {"INT32", 6},           {"INT64", 7},       {"STRING", 8},
      {"BOOL", 9},          {"FLOAT16", 10},        {"DOUBLE", 11},     {"UINT32", 12},
      {"UINT64", 13},       {"COMPLEX64", 14},      {"COMPLEX128", 15}, {"BFLOAT16", 16},
      {"FLOAT8E4M3FN", 17}, {"FLOAT8E4M3FNUZ", 18}, {"FLOAT8E5M2", 19}, {"FLOAT8E5M2FNUZ", 20},
      {"UINT4", 21},        {"INT4", 22},           {"FLOAT4E2M1", 23}};
  return *m;
}

std::string onnx_type_name(int64_t number) {
  for (const auto& [name, n] : onnx_type_numbers())
    if (n == number) return name;
  return "type " + std::to_string(number);
}

}  // namespace

StatusOr<DType> cast_target_dtype(const Node& node) {
  auto it = node.attrs.find("to");
  if (it == node.attrs.end()) return node_error(node, "attribute 'to' is missing");
  int64_t number = 0;
  if (it->second.kind == Attribute::Kind::kString) {
    auto n = onnx_type_numbers().find(it->second.s);
    if (n == onnx_type_numbers().end())
      return node_error(node, "attribute to='{}' is not an ONNX type name", it->second.s);
    number = n->second;
  } else {
    number = it->second.i;
  }
  const DType t =
      number > 0 && number < 64 ? dtype_from_onnx(static_cast<int32_t>(number)) : DType::kUndefined;
  if (t == DType::kUndefined) {
    return unsupported("{}: casting to {} is not supported", node.describe(),
                       onnx_type_name(number));
  }
  return t;
}

Status infer_Abs(InferContext& ctx) { return unary(ctx, Accepts::kNumeric); }
Status infer_Ceil(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_Cos(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_Elu(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_Erf(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_Exp(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_Floor(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_HardSigmoid(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_HardSwish(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_LeakyRelu(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_Log(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_Neg(InferContext& ctx) { return unary(ctx, Accepts::kSignedNumeric); }
Status infer_Not(InferContext& ctx) { return unary(ctx, Accepts::kBool); }
Status infer_Reciprocal(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_Relu(InferContext& ctx) { return unary(ctx, Accepts::kSignedNumeric); }
Status infer_Round(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_Selu(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_Sigmoid(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_Sign(InferContext& ctx) { return unary(ctx, Accepts::kNumeric); }
Status infer_Sin(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_Softplus(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_Sqrt(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_Tanh(InferContext& ctx) { return unary(ctx, Accepts::kFloat); }
Status infer_Identity(InferContext& ctx) { return unary(ctx, Accepts::kAny); }

Status infer_Gelu(InferContext& ctx) {
  const std::string approximate = ctx.node.attr_string("approximate", "none");
  if (approximate != "none" && approximate != "tanh") {
    return node_error(ctx.node, "attribute approximate is '{}', expected 'none' or 'tanh'",
                      approximate);
  }
  return unary(ctx, Accepts::kFloat);
}

Status infer_Add(InferContext& ctx) { return binary(ctx, Accepts::kNumeric, true); }
Status infer_Sub(InferContext& ctx) { return binary(ctx, Accepts::kNumeric, true); }
Status infer_Mul(InferContext& ctx) { return binary(ctx, Accepts::kNumeric, true); }
Status infer_Div(InferContext& ctx) { return binary(ctx, Accepts::kNumeric, true); }

Status infer_Mod(InferContext& ctx) {
  const int64_t fmod = ctx.node.attr_int("fmod", 0);
  if (fmod != 0 && fmod != 1)
    return node_error(ctx.node, "attribute fmod is {}, expected 0 or 1", fmod);
  return binary(ctx, Accepts::kNumeric, false);
}

Status infer_Equal(InferContext& ctx) { return binary(ctx, Accepts::kAny, true, DType::kBool); }
Status infer_Greater(InferContext& ctx) {
  return binary(ctx, Accepts::kNumeric, true, DType::kBool);
}
Status infer_Less(InferContext& ctx) { return binary(ctx, Accepts::kNumeric, true, DType::kBool); }
Status infer_GreaterOrEqual(InferContext& ctx) {
  return binary(ctx, Accepts::kNumeric, false, DType::kBool);
}
Status infer_LessOrEqual(InferContext& ctx) {
  return binary(ctx, Accepts::kNumeric, false, DType::kBool);
}
Status infer_And(InferContext& ctx) { return binary(ctx, Accepts::kBool, true); }
Status infer_Or(InferContext& ctx) { return binary(ctx, Accepts::kBool, true); }
Status infer_Xor(InferContext& ctx) { return binary(ctx, Accepts::kBool, true); }

Status infer_Pow(InferContext& ctx) {
  // From opset 12 the exponent may have its own numeric type; the output follows the base.
  TARMAC_RETURN_IF_ERROR(need_inputs(ctx, 2));
  TARMAC_RETURN_IF_ERROR(check_dtype(ctx, 0, Accepts::kNumeric));
  TARMAC_RETURN_IF_ERROR(check_dtype(ctx, 1, Accepts::kNumeric));
  if (ctx.opset < 7) return legacy_broadcast_output(ctx, ctx.input(0).dtype);
  return broadcast_output(ctx, {0, 1}, ctx.input(0).dtype);
}

Status infer_PRelu(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(need_inputs(ctx, 2));
  TARMAC_RETURN_IF_ERROR(check_same_dtype(ctx, 0, 1));
  TARMAC_RETURN_IF_ERROR(check_dtype(ctx, 0, Accepts::kNumeric));
  const ValueType& x = ctx.input(0);
  const ValueType& s = ctx.input(1);
  // Slope broadcasts to X one way only. Before opset 7 a 1-D slope may be per channel.
  const bool channel_slope = ctx.opset < 7 && s.has_shape && s.rank() == 1;
  if (x.has_shape && s.has_shape && !channel_slope) {
    if (s.rank() > x.rank()) {
      return node_error(ctx.node, "slope of shape {} does not broadcast to X of shape {}",
                        shape_to_string(s.shape), shape_to_string(x.shape));
    }
    for (int k = 0; k < s.rank(); ++k) {
      const Dim& ds = s.shape[static_cast<size_t>(k)];
      const Dim& dx = x.shape[static_cast<size_t>(x.rank() - s.rank() + k)];
      if (ds.is_static() && ds.value != 1 && dx.is_static() && ds.value != dx.value) {
        return node_error(ctx.node, "slope of shape {} does not broadcast to X of shape {}",
                          shape_to_string(s.shape), shape_to_string(x.shape));
      }
    }
  }
  same_shape(ctx, 0, 0, x.dtype);
  return Status::ok();
}

Status infer_Sum(InferContext& ctx) { return variadic(ctx, Accepts::kNumeric); }
Status infer_Mean(InferContext& ctx) { return variadic(ctx, Accepts::kFloat); }
Status infer_Max(InferContext& ctx) { return variadic(ctx, Accepts::kNumeric); }
Status infer_Min(InferContext& ctx) { return variadic(ctx, Accepts::kNumeric); }

Status infer_Cast(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(need_inputs(ctx, 1));
  TARMAC_ASSIGN_OR_RETURN(DType to, cast_target_dtype(ctx.node));
  same_shape(ctx, 0, 0, to);
  return Status::ok();
}

Status infer_CastLike(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(need_inputs(ctx, 2));
  same_shape(ctx, 0, 0, ctx.input(1).dtype);
  return Status::ok();
}

Status infer_Clip(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(need_inputs(ctx, 1));
  TARMAC_RETURN_IF_ERROR(check_dtype(ctx, 0, ctx.opset < 11 ? Accepts::kFloat : Accepts::kNumeric));
  for (size_t i = 1; i < 3 && ctx.opset >= 11; ++i) {
    if (!ctx.has_input(i)) continue;
    TARMAC_RETURN_IF_ERROR(check_same_dtype(ctx, 0, i));
    const ValueType& b = ctx.input(i);
    if (b.has_shape && shape_is_static(b.shape) && num_elements(static_dims(b.shape)) != 1) {
      return node_error(ctx.node, "{} must be a scalar, got shape {}", i == 1 ? "min" : "max",
                        shape_to_string(b.shape));
    }
  }
  same_shape(ctx, 0, 0, ctx.input(0).dtype);
  return Status::ok();
}

Status infer_Dropout(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(need_inputs(ctx, 1));
  if (ctx.opset >= 12 && ctx.has_input(2)) {
    if (ctx.input(2).dtype != DType::kBool)
      return node_error(ctx.node, "training_mode has dtype {}, expected bool",
                        dtype_name(ctx.input(2).dtype));
    const Tensor* tm = ctx.value(2);
    const Tensor* ratio = ctx.value(1);
    // Training with ratio 0 is an identity; a ratio known only at run time is checked there.
    const bool nonzero_ratio =
        !ctx.has_input(1) || (ratio && (ratio->numel() != 1 || ratio->as_double(0) != 0.0));
    if (tm && tm->numel() == 1 && tm->data<bool>()[0] && nonzero_ratio)
      return node_error(ctx.node, "training mode is not supported (except with ratio 0)");
  }
  const DType t = ctx.input(0).dtype;
  same_shape(ctx, 0, 0, t);
  if (ctx.outputs.size() > 1) same_shape(ctx, 1, 0, ctx.opset >= 10 ? DType::kBool : t);
  return Status::ok();
}

Status infer_Where(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(need_inputs(ctx, 3));
  TARMAC_RETURN_IF_ERROR(check_dtype(ctx, 0, Accepts::kBool));
  TARMAC_RETURN_IF_ERROR(check_same_dtype(ctx, 1, 2));
  return broadcast_output(ctx, {0, 1, 2}, ctx.input(1).dtype);
}

}  // namespace tarmac

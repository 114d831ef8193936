// Shape and type inference for GridSample, NonMaxSuppression, QuantizeLinear and
// DequantizeLinear (Resize and Upsample live in vision_resize.cc). Checks fire only when the
// dims involved are known; the CPU kernels repeat them on concrete values.
#include <string>

#include "ir/op_registry.h"

namespace tarmac {
namespace {

Status check_static_eq(const Node& n, const Dim& a, const Dim& b, const char* what) {
  if (a.is_static() && b.is_static() && a.value != b.value)
    return node_error(n, "{}: {} vs {}", what, a.value, b.value);
  return Status::ok();
}

}  // namespace

Status infer_GridSample(InferContext& ctx) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return node_error(n, "needs inputs X and grid");
  const ValueType& x = ctx.input(0);
  const ValueType& grid = ctx.input(1);
  if (grid.dtype != DType::kUndefined && !is_floating(grid.dtype))
    return node_error(n, "grid must be a float tensor, got {}", dtype_name(grid.dtype));
  if (x.dtype == DType::kBool) return node_error(n, "X dtype bool is not supported");
  const bool v20 = ctx.opset >= 20;
  const std::string mode = n.attr_string("mode", v20 ? "linear" : "bilinear");
  const bool mode_ok = mode == "nearest" || (v20 ? (mode == "linear" || mode == "cubic")
                                                 : (mode == "bilinear" || mode == "bicubic"));
  if (!mode_ok) return node_error(n, "mode '{}' is not valid in opset {}", mode, ctx.opset);
  const std::string pad = n.attr_string("padding_mode", "zeros");
  if (pad != "zeros" && pad != "border" && pad != "reflection")
    return node_error(n, "padding_mode '{}' is not one of zeros, border, reflection", pad);

  int64_t rank = -1;  // of X
  if (x.has_shape) rank = x.rank();
  if (grid.has_shape) {
    if (grid.rank() < 3) return node_error(n, "grid has {} dims, expected at least 3", grid.rank());
    if (rank >= 0 && grid.rank() != rank)
      return node_error(n, "grid has {} dims, expected {}", grid.rank(), rank);
    rank = grid.rank();
  }
  if (rank >= 0 && !v20 && rank != 4)
    return node_error(n, "X has {} dims, expected 4 before opset 20", rank);
  if (rank >= 0 && rank < 3) return node_error(n, "X has {} dims, expected at least 3", rank);
  if (rank < 0) {
    ctx.set_output_dtype(0, x.dtype);
    return Status::ok();
  }
  Shape out(static_cast<size_t>(rank));
  if (x.has_shape) {
    out[0] = x.shape[0];
    out[1] = x.shape[1];
  }
  if (grid.has_shape) {
    if (x.has_shape)
      TARMAC_RETURN_IF_ERROR(check_static_eq(n, x.shape[0], grid.shape[0], "batch of X and grid"));
    TARMAC_RETURN_IF_ERROR(
        check_static_eq(n, grid.shape.back(), Dim(rank - 2), "grid last dim and spatial rank"));
    if (!out[0].is_static() && grid.shape[0].is_static()) out[0] = grid.shape[0];
    for (int64_t i = 2; i < rank; ++i)
      out[static_cast<size_t>(i)] = grid.shape[static_cast<size_t>(i - 1)];
  }
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

Status infer_NonMaxSuppression(InferContext& ctx) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return node_error(n, "needs boxes and scores");
  const ValueType& boxes = ctx.input(0);
  const ValueType& scores = ctx.input(1);
  if (boxes.has_shape) {
    if (boxes.rank() != 3) return node_error(n, "boxes has {} dims, expected 3", boxes.rank());
    TARMAC_RETURN_IF_ERROR(check_static_eq(n, boxes.shape[2], Dim(4), "boxes last dim"));
  }
  if (scores.has_shape && scores.rank() != 3)
    return node_error(n, "scores has {} dims, expected 3", scores.rank());
  if (boxes.has_shape && scores.has_shape) {
    TARMAC_RETURN_IF_ERROR(check_static_eq(n, boxes.shape[0], scores.shape[0], "batch"));
    TARMAC_RETURN_IF_ERROR(check_static_eq(n, boxes.shape[1], scores.shape[2], "box count"));
  }
  const int64_t center = n.attr_int("center_point_box", 0);
  if (center != 0 && center != 1)
    return node_error(n, "center_point_box is {}, expected 0 or 1", center);
  ctx.set_output(0, DType::kInt64, {ctx.new_dim("nms_selected"), Dim(3)});
  return Status::ok();
}

Status infer_QuantizeLinear(InferContext& ctx) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return node_error(n, "needs inputs x and y_scale");
  const ValueType& x = ctx.input(0);
  if (x.dtype != DType::kUndefined && !is_floating(x.dtype) && x.dtype != DType::kInt32)
    return node_error(n, "x dtype {} is not supported (float or int32)", dtype_name(x.dtype));
  if (ctx.opset >= 21 && n.attr_int("block_size", 0) < 0)
    return node_error(n, "block_size is {}, expected >= 0", n.attr_int("block_size", 0));
  DType out = DType::kUint8;
  const int64_t code = ctx.opset >= 21 ? n.attr_int("output_dtype", 0) : 0;
  if (code != 0) {
    out = dtype_from_onnx(static_cast<int32_t>(code));
    if (out != DType::kUint8 && out != DType::kInt8) {
      return unsupported(
          "{}: output_dtype {} (ONNX type {}) is not supported; tarmac quantizes "
          "to uint8 or int8",
          n.describe(), dtype_name(out), code);
    }
  }
  if (ctx.has_input(2)) {
    const DType zt = ctx.input(2).dtype;
    if (code != 0 && zt != out) {
      return node_error(n, "output_dtype {} differs from the zero point dtype {}", dtype_name(out),
                        dtype_name(zt));
    }
    out = zt;
  }
  if (out != DType::kUint8 && out != DType::kInt8)
    return node_error(n, "zero point dtype {} is not supported (uint8 or int8)", dtype_name(out));
  if (x.has_shape) {
    ctx.set_output(0, out, x.shape);
  } else {
    ctx.set_output_dtype(0, out);
  }
  return Status::ok();
}

Status infer_DequantizeLinear(InferContext& ctx) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return node_error(n, "needs inputs x and x_scale");
  const ValueType& x = ctx.input(0);
  const DType xt = x.dtype;
  if (xt != DType::kUndefined && xt != DType::kUint8 && xt != DType::kInt8 && xt != DType::kInt32)
    return node_error(n, "x dtype {} is not supported (uint8, int8 or int32)", dtype_name(xt));
  if (ctx.has_input(2) && ctx.input(2).dtype != xt) {
    return node_error(n, "zero point dtype {} differs from x dtype {}",
                      dtype_name(ctx.input(2).dtype), dtype_name(xt));
  }
  const DType st = ctx.input(1).dtype;
  if (st != DType::kUndefined && !is_floating(st))
    return node_error(n, "x_scale must be a float tensor, got {}", dtype_name(st));
  const DType out = ctx.opset >= 19 ? st : DType::kFloat32;
  if (x.has_shape) {
    ctx.set_output(0, out, x.shape);
  } else {
    ctx.set_output_dtype(0, out);
  }
  return Status::ok();
}

}  // namespace tarmac

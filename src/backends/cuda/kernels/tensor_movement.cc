// CUDA kernels of the tensor ops that move data: Transpose, Slice, Expand, Tile, DepthToSpace,
// SpaceToDepth (strided-copy plans), Concat, Split (pitched row copies) and Pad. Arguments
// are resolved at build time with the CPU reference's readers (tensor_util.h); ops whose
// arguments are computed at run time (Slice starts, Pad pads) are refused.
#include <cstring>

#include "backends/cuda/kernels/tensor_common.h"
#include "backends/cuda/kernels/tensor_copy.cuh"

namespace tarmac::cuda {

namespace {

using KernelPtr = StatusOr<std::unique_ptr<DeviceKernel>>;

/// Product of dims[b, e).
int64_t span(const Dims& d, size_t b, size_t e) {
  int64_t p = 1;
  for (size_t k = b; k < e; ++k) p *= d[k];
  return p;
}

/// The plan as a kernel, after checking the view's size against the inferred output (the view
/// may have more dims than the output, as DepthToSpace's does).
KernelPtr strided_kernel(const KernelArgs& a, const Dims& dims, const Dims& strides,
                         int64_t offset = 0) {
  TARMAC_RETURN_IF_ERROR(check_elem(a.node, a.in(0).dtype));
  if (num_elements(dims) != num_elements(dims_of(a.out(0)))) {
    return internal_error("{}: computed output {} but inference gave {}", a.node.describe(),
                          dims_to_string(dims), dims_to_string(dims_of(a.out(0))));
  }
  TARMAC_ASSIGN_OR_RETURN(
      StridedCopy plan, plan_strided_copy(a.node, elem_size(a.in(0).dtype), dims, strides, offset));
  return std::unique_ptr<DeviceKernel>(std::make_unique<StridedCopyKernel>(plan));
}

KernelPtr make_transpose(const KernelArgs& a) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::require_inputs(a, 1));
  const Dims x = dims_of(a.in(0));  // [d_0 .. d_{r-1}]
  TARMAC_ASSIGN_OR_RETURN(auto perm,
                          tensor_ops::transpose_perm(a.node, static_cast<int64_t>(x.size())));
  const Dims in_strides = row_major_strides(x);
  Dims out_dims, strides;  // out: [d_perm[0] .. d_perm[r-1]]
  for (int64_t p : perm) {
    out_dims.push_back(x[static_cast<size_t>(p)]);
    strides.push_back(in_strides[static_cast<size_t>(p)]);
  }
  return strided_kernel(a, out_dims, strides);
}

KernelPtr make_slice(const KernelArgs& a) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::require_inputs(a, 1));
  const Dims x = dims_of(a.in(0));
  TARMAC_ASSIGN_OR_RETURN(tensor_ops::SliceArgs s,
                          tensor_ops::slice_args(a, static_cast<int64_t>(x.size())));
  if (!s.known) {
    return unsupported("{}: starts, ends, axes and steps must be constants", a.node.describe());
  }
  const Dims in_strides = row_major_strides(x);
  Dims out_dims = x, strides = in_strides;
  int64_t offset = 0;
  for (size_t i = 0; i < s.axes.size(); ++i) {
    const auto k = static_cast<size_t>(s.axes[i]);
    int64_t first = 0, count = 0;
    tensor_ops::clamp_slice(x[k], s.starts[i], s.ends[i], s.steps[i], &first, &count);
    out_dims[k] = count;
    offset += first * in_strides[k];
    // A single element needs no stride, and steps beyond the dim would overflow the product.
    strides[k] = count > 1 ? in_strides[k] * s.steps[i] : 0;
  }
  if (num_elements(out_dims) == 0) offset = 0;
  return strided_kernel(a, out_dims, strides, offset);
}

KernelPtr make_expand(const KernelArgs& a) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::require_inputs(a, 2));
  const Dims x = dims_of(a.in(0)), out = dims_of(a.out(0));
  if (out.size() < x.size()) {
    return node_error(a.node, "output {} has a lower rank than input {}", dims_to_string(out),
                      dims_to_string(x));
  }
  const Dims in_strides = row_major_strides(x);
  const size_t lead = out.size() - x.size();
  Dims strides(out.size(), 0);  // 0 on broadcast dims
  for (size_t k = 0; k < x.size(); ++k) strides[lead + k] = x[k] == 1 ? 0 : in_strides[k];
  return strided_kernel(a, out, strides);
}

KernelPtr make_tile(const KernelArgs& a) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::require_inputs(a, a.opset < 6 ? 3 : 2));
  const Dims x = dims_of(a.in(0)), out = dims_of(a.out(0));
  if (out.size() != x.size()) {
    return node_error(a.node, "output {} and input {} differ in rank", dims_to_string(out),
                      dims_to_string(x));
  }
  // Output axis k of size reps * x_k viewed as [reps, x_k] with strides [0, stride_k]: the
  // repeats follow from the static output, whether or not the repeats input is a constant.
  const Dims in_strides = row_major_strides(x);
  Dims dims, strides;
  for (size_t k = 0; k < x.size(); ++k) {
    if (x[k] == 0 || out[k] == 0) return strided_kernel(a, out, Dims(out.size(), 0));
    if (out[k] % x[k] != 0) {
      return node_error(a.node, "output {} is not a tiling of input {}", dims_to_string(out),
                        dims_to_string(x));
    }
    dims.insert(dims.end(), {out[k] / x[k], x[k]});
    strides.insert(strides.end(), {0, in_strides[k]});
  }
  TARMAC_RETURN_IF_ERROR(check_elem(a.node, a.in(0).dtype));
  TARMAC_ASSIGN_OR_RETURN(StridedCopy plan,
                          plan_strided_copy(a.node, elem_size(a.in(0).dtype), dims, strides));
  return std::unique_ptr<DeviceKernel>(std::make_unique<StridedCopyKernel>(plan));
}

KernelPtr make_depth_to_space(const KernelArgs& a) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::require_inputs(a, 1));
  bool crd = false;
  TARMAC_ASSIGN_OR_RETURN(int64_t b, tensor_ops::block_size(a.node, a.opset, &crd));
  const Dims x = dims_of(a.in(0));  // [N, C, H, W]
  if (x.size() != 4) return node_error(a.node, "input has rank {}, expected 4", x.size());
  const int64_t N = x[0], C = x[1], H = x[2], W = x[3];
  if (C % (b * b) != 0) {
    return node_error(a.node, "channels {} are not divisible by blocksize^2 = {}", C, b * b);
  }
  const int64_t c = C / (b * b), hw = H * W;
  // Output [N, c, H*b, W*b] viewed as [N, c, H, b(row), W, b(col)]; the channel it reads is
  // (row * b + col) * c + ch for DCR and ch * b * b + row * b + col for CRD.
  const Dims dims{N, c, H, b, W, b};
  const Dims strides =
      crd ? Dims{C * hw, b * b * hw, W, b * hw, 1, hw} : Dims{C * hw, hw, W, b * c * hw, 1, c * hw};
  return strided_kernel(a, dims, strides);
}

KernelPtr make_space_to_depth(const KernelArgs& a) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::require_inputs(a, 1));
  TARMAC_ASSIGN_OR_RETURN(int64_t b, tensor_ops::block_size(a.node, a.opset, nullptr));
  const Dims x = dims_of(a.in(0));  // [N, C, H, W]
  if (x.size() != 4) return node_error(a.node, "input has rank {}, expected 4", x.size());
  const int64_t N = x[0], C = x[1], H = x[2], W = x[3];
  if (H % b != 0 || W % b != 0) {
    return node_error(a.node, "spatial size {}x{} is not divisible by blocksize {}", H, W, b);
  }
  // Output [N, C*b*b, H/b, W/b] viewed as [N, b(row), b(col), C, H/b, W/b], reading input
  // (ch, h*b+row, w*b+col).
  const Dims dims{N, b, b, C, H / b, W / b};
  const Dims strides{C * H * W, W, 1, H * W, b * W, b};
  return strided_kernel(a, dims, strides);
}

// ---- Concat, Split ----

/// Concat: input i [outer, a_i, inner] lands at bytes [offset_i, offset_i + chunk_i) of each
/// output row [outer, sum a_i, inner].
class ConcatKernel final : public DeviceKernel {
 public:
  ConcatKernel(int64_t outer, int64_t out_row, std::vector<int64_t> chunk,
               std::vector<int64_t> offset)
      : outer_(outer), out_row_(out_row), chunk_(std::move(chunk)), offset_(std::move(offset)) {}
  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    auto* dst = static_cast<uint8_t*>(outputs[0].data);
    for (size_t i = 0; i < chunk_.size(); ++i) {
      if (chunk_[i] == 0) continue;
      TARMAC_CUDA_CHECK(launch_copy_rows(inputs[i].data, chunk_[i], dst + offset_[i], out_row_,
                                         chunk_[i], outer_, stream_of(ctx)));
    }
    return Status::ok();
  }

 private:
  int64_t outer_, out_row_;              // rows, output row bytes
  std::vector<int64_t> chunk_, offset_;  // per input: row bytes, byte offset in the output row
};

KernelPtr make_concat(const KernelArgs& a) {
  const size_t count = a.node.inputs.size();
  if (count == 0) return node_error(a.node, "needs at least one input");
  TARMAC_RETURN_IF_ERROR(tensor_ops::require_inputs(a, count));
  TARMAC_RETURN_IF_ERROR(check_elem(a.node, a.in(0).dtype));
  const Dims out = dims_of(a.out(0));
  TARMAC_ASSIGN_OR_RETURN(
      int64_t axis, tensor_ops::concat_axis(a.node, a.opset, static_cast<int64_t>(out.size())));
  const auto ax = static_cast<size_t>(axis);
  const int64_t es = elem_size(a.in(0).dtype);
  const int64_t inner = span(out, ax + 1, out.size()) * es;
  std::vector<int64_t> chunk(count), offset(count);
  int64_t at = 0;
  for (size_t i = 0; i < count; ++i) {
    const Dims d = dims_of(a.in(i));
    if (d.size() != out.size() || a.in(i).dtype != a.in(0).dtype) {
      return node_error(a.node, "input {} {} {} does not concatenate into {} {}", i,
                        dtype_name(a.in(i).dtype), dims_to_string(d), dtype_name(a.out(0).dtype),
                        dims_to_string(out));
    }
    chunk[i] = d[ax] * inner;
    offset[i] = at;
    at += chunk[i];
  }
  if (at != out[ax] * inner) {
    return internal_error("{}: inputs fill {} bytes of an output row of {}", a.node.describe(), at,
                          out[ax] * inner);
  }
  return std::unique_ptr<DeviceKernel>(
      std::make_unique<ConcatKernel>(span(out, 0, ax), at, std::move(chunk), std::move(offset)));
}

/// Split: output i [outer, s_i, inner] is bytes [offset_i, offset_i + chunk_i) of each input
/// row [outer, sum s_i, inner].
class SplitKernel final : public DeviceKernel {
 public:
  SplitKernel(int64_t outer, int64_t in_row, std::vector<int64_t> chunk,
              std::vector<int64_t> offset)
      : outer_(outer), in_row_(in_row), chunk_(std::move(chunk)), offset_(std::move(offset)) {}
  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    const auto* src = static_cast<const uint8_t*>(inputs[0].data);
    for (size_t i = 0; i < chunk_.size() && i < outputs.size(); ++i) {
      if (chunk_[i] == 0 || !outputs[i].data) continue;  // empty or not requested
      TARMAC_CUDA_CHECK(launch_copy_rows(src + offset_[i], in_row_, outputs[i].data, chunk_[i],
                                         chunk_[i], outer_, stream_of(ctx)));
    }
    return Status::ok();
  }

 private:
  int64_t outer_, in_row_;               // rows, input row bytes
  std::vector<int64_t> chunk_, offset_;  // per output: row bytes, byte offset in the input row
};

KernelPtr make_split(const KernelArgs& a) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::require_inputs(a, 1));
  TARMAC_RETURN_IF_ERROR(check_elem(a.node, a.in(0).dtype));
  const Dims x = dims_of(a.in(0));
  if (x.empty()) return node_error(a.node, "cannot split a scalar");
  TARMAC_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(a.node, a.node.attr_int("axis", 0),
                                                       static_cast<int64_t>(x.size())));
  const auto ax = static_cast<size_t>(axis);
  TARMAC_ASSIGN_OR_RETURN(tensor_ops::IntsArg split, tensor_ops::split_arg(a));
  if (split.state == tensor_ops::IntsArg::State::kUnknown) {
    return unsupported("{}: the split sizes must be a constant", a.node.describe());
  }
  TARMAC_ASSIGN_OR_RETURN(
      std::vector<int64_t> sizes,
      tensor_ops::split_sizes(a.node, a.opset, split, x[ax], a.node.outputs.size()));
  const int64_t inner = span(x, ax + 1, x.size()) * elem_size(a.in(0).dtype);
  std::vector<int64_t> chunk(sizes.size()), offset(sizes.size());
  int64_t at = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    chunk[i] = sizes[i] * inner;
    offset[i] = at;
    at += chunk[i];
    if (a.node.outputs[i] && dims_of(a.out(i))[ax] != sizes[i]) {
      return internal_error("{}: output {} has {} on the split axis, expected {}",
                            a.node.describe(), i, dims_of(a.out(i))[ax], sizes[i]);
    }
  }
  return std::unique_ptr<DeviceKernel>(std::make_unique<SplitKernel>(
      span(x, 0, ax), x[ax] * inner, std::move(chunk), std::move(offset)));
}

// ---- Pad ----

class PadKernel final : public DeviceKernel {
 public:
  PadKernel(int elem, Shape8 in_dims, Shape8 out_dims, Shape8 begin, PadKind mode,
            uint64_t fill_bits, bool fill_from_input, bool wide_index)
      : elem_(elem),
        in_dims_(in_dims),
        out_dims_(out_dims),
        begin_(begin),
        mode_(mode),
        fill_bits_(fill_bits),
        fill_from_input_(fill_from_input),
        wide_index_(wide_index) {}
  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    // inputs: data [in_dims], pads, constant_value [] (optional), axes   outputs[0]: [out_dims]
    const void* fill = fill_from_input_ ? inputs[2].data : nullptr;
    TARMAC_CUDA_CHECK(launch_pad(inputs[0].data, outputs[0].data, elem_, in_dims_, out_dims_,
                                 begin_, mode_, fill_bits_, fill, outputs[0].numel(), wide_index_,
                                 stream_of(ctx)));
    return Status::ok();
  }

 private:
  int elem_;
  Shape8 in_dims_, out_dims_, begin_;
  PadKind mode_;
  uint64_t fill_bits_;    // the fill value's bytes, when not read from input 2
  bool fill_from_input_;  // constant_value is a one-element input, read on the device
  bool wide_index_;
};

KernelPtr make_pad(const KernelArgs& a) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::require_inputs(a, 1));
  const Node& n = a.node;
  const DType dt = a.in(0).dtype;
  TARMAC_RETURN_IF_ERROR(check_elem(n, dt));
  TARMAC_ASSIGN_OR_RETURN(tensor_ops::PadMode mode, tensor_ops::pad_mode(n, a.opset));
  const Dims in = dims_of(a.in(0));
  const auto rank = static_cast<int64_t>(in.size());
  TARMAC_ASSIGN_OR_RETURN(tensor_ops::IntsArg pads, tensor_ops::pad_amounts(a, rank));
  if (!pads.known()) return unsupported("{}: pads and axes must be constants", n.describe());
  // The fill value, as the CPU reference's pad_value reads it.
  uint64_t bits = 0;
  bool from_input = false;
  if (a.opset < 11) {
    const Tensor v = Tensor::scalar<float>(n.attr_float("value", 0.0f)).cast(dt);
    std::memcpy(&bits, v.raw(), v.nbytes());
  } else if (a.has_input(2)) {
    if (a.in(2).dtype != dt) {
      return node_error(n, "constant_value is {} but data is {}", dtype_name(a.in(2).dtype),
                        dtype_name(dt));
    }
    const int64_t values = num_elements(dims_of(a.in(2)));
    if (values > 1) {
      return node_error(n, "constant_value must be a scalar, got shape {}",
                        dims_to_string(dims_of(a.in(2))));
    }
    from_input = values == 1;  // an empty constant_value means 0
  }
  Dims out(in.size()), begin(in.size());
  for (size_t k = 0; k < in.size(); ++k) {
    begin[k] = pads.values[k];
    const int64_t end = pads.values[k + static_cast<size_t>(rank)];
    TARMAC_ASSIGN_OR_RETURN(int64_t grown, tensor_ops::checked_add(n, begin[k], end));
    TARMAC_ASSIGN_OR_RETURN(out[k], tensor_ops::checked_add(n, in[k], grown));
    if (out[k] < 0) {
      return node_error(n, "pads {} remove more than dimension {} of size {}",
                        fmt::join(pads.values, ","), k, in[k]);
    }
    if (in[k] == 0 && out[k] > 0 && mode != tensor_ops::PadMode::kConstant) {
      return node_error(n, "cannot pad the empty dimension {} in mode {}", k,
                        n.attr_string("mode", "constant"));
    }
  }
  if (out != dims_of(a.out(0))) {
    return internal_error("{}: computed output {} but inference gave {}", n.describe(),
                          dims_to_string(out), dims_to_string(dims_of(a.out(0))));
  }
  TARMAC_ASSIGN_OR_RETURN(Shape8 in8, shape8(n, in, "input"));
  TARMAC_ASSIGN_OR_RETURN(Shape8 out8, shape8(n, out, "output"));
  TARMAC_ASSIGN_OR_RETURN(Shape8 begin8, shape8(n, begin, "pads"));
  static_assert(
      static_cast<int>(PadKind::kWrap) == static_cast<int>(tensor_ops::PadMode::kWrap) &&
          static_cast<int>(PadKind::kEdge) == static_cast<int>(tensor_ops::PadMode::kEdge) &&
          static_cast<int>(PadKind::kReflect) == static_cast<int>(tensor_ops::PadMode::kReflect),
      "PadKind numbers the modes as tensor_ops::PadMode");
  return std::unique_ptr<DeviceKernel>(std::make_unique<PadKernel>(
      elem_size(dt), in8, out8, begin8, static_cast<PadKind>(mode), bits, from_input,
      needs_wide_index(num_elements(out), num_elements(in))));
}

}  // namespace

void register_tensor_movement_kernels(KernelRegistry& r) {
  r.add("Transpose", &make_transpose);
  r.add("Slice", &make_slice);
  r.add("Expand", &make_expand);
  r.add("Tile", &make_tile);
  r.add("DepthToSpace", &make_depth_to_space);
  r.add("SpaceToDepth", &make_space_to_depth);
  r.add("Concat", &make_concat);
  r.add("Split", &make_split);
  r.add("Pad", &make_pad);
}

}  // namespace tarmac::cuda

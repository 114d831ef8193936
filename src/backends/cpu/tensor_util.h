// Helpers of the tensor family, shared by its shape inference (src/ir/infer/tensor*.cc) and its
// CPU kernels (src/backends/cpu/tensor*.cc): reading the integer lists that ops take as an
// attribute in early opsets and as an input later (axes, pads, starts/ends, split), and the
// dense copy routines the data-movement kernels are built on.
//
// Inference and kernels resolve attributes through the same functions so that a model can never
// be inferred with one reading of an attribute and executed with another.
#pragma once

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/kernel.h"
#include "ir/op_registry.h"

namespace tarmac::tensor_ops {

// ---- small shared checks ----

/// Fails naming the first of inputs [0, n) that is absent.
template <typename Ctx>
Status require_inputs(const Ctx& c, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!c.has_input(i)) return node_error(c.node, "input {} is required", i);
  return Status::ok();
}

/// Sets output i to an existing tensor (views and constants that need no allocation).
Status set_output(KernelContext& c, size_t i, Tensor t);

/// `n` fresh symbolic dims.
Shape fresh_dims(InferContext& c, int64_t n, const std::string& hint);

/// Product of shape[b, e): static when all are, the lone symbolic dim when the rest is 1.
Dim dim_product(InferContext& c, const Shape& s, size_t b, size_t e);

/// a * b and a + b for sizes that come from the model, failing instead of overflowing.
StatusOr<int64_t> checked_mul(const Node& n, int64_t a, int64_t b);
StatusOr<int64_t> checked_add(const Node& n, int64_t a, int64_t b);

// ---- reading integer-list arguments ----

/// Contents of input `i` when they are known: always at run time, for constants at inference.
inline const Tensor* known_value(const InferContext& c, size_t i) { return c.value(i); }
inline const Tensor* known_value(const KernelContext& c, size_t i) {
  return c.has_input(i) ? c.inputs[i] : nullptr;
}

/// An integer-list argument: not given, given but not known yet (inference only), or known.
struct IntsArg {
  enum class State { kAbsent, kUnknown, kKnown };
  State state = State::kAbsent;
  std::vector<int64_t> values;
  bool absent() const { return state == State::kAbsent; }
  bool known() const { return state == State::kKnown; }
};

/// Elements of an int32/int64 tensor of rank 0 or 1; `what` names it in errors.
StatusOr<std::vector<int64_t>> int_list(const Node& n, const Tensor& t, const std::string& what);

/// The list argument from attribute `attr` before opset `input_since`, from input `input` after.
template <typename Ctx>
StatusOr<IntsArg> ints_arg(const Ctx& c, int64_t input_since, const std::string& attr,
                           size_t input) {
  IntsArg a;
  if (c.opset < input_since) {
    if (c.node.has_attr(attr)) {
      a.state = IntsArg::State::kKnown;
      a.values = c.node.attr_ints(attr);
    }
    return a;
  }
  if (!c.has_input(input)) return a;
  const Tensor* t = known_value(c, input);
  if (!t) {
    a.state = IntsArg::State::kUnknown;
    return a;
  }
  TARMAC_ASSIGN_OR_RETURN(a.values, int_list(c.node, *t, attr));
  a.state = IntsArg::State::kKnown;
  return a;
}

/// Normalizes axes into [0, rank), rejecting out-of-range and repeated axes.
StatusOr<std::vector<int64_t>> normalize_axes(const Node& n, std::vector<int64_t> axes,
                                              int64_t rank);

// ---- shape-valued arguments ----

/// Dims from a 1-D shape tensor (Expand, ConstantOfShape); all must be >= 0.
StatusOr<Dims> shape_input_dims(const Node& n, const Tensor& t);

/// Flatten's axis in [0, rank]; negative values count from the back (opset 11 made them legal;
/// earlier models never carry them, so accepting them everywhere changes no valid model).
StatusOr<int64_t> flatten_axis(const Node& n, int64_t /*opset*/, int64_t axis, int64_t rank);

/// [start, end) of the dims Shape returns (opset 15 added start/end, clamped to [0, rank]).
std::pair<int64_t, int64_t> shape_slice(const Node& n, int64_t opset, int64_t rank);

/// Output positions that Unsqueeze fills with 1 (axes refer to the output rank).
StatusOr<std::vector<bool>> unsqueeze_mask(const Node& n, const std::vector<int64_t>& axes,
                                           int64_t rank);

/// Tile-6+ repeats: one non-negative count per input dim.
StatusOr<std::vector<int64_t>> tile_repeats(const Node& n, const Tensor& t, int64_t rank);

/// Tile-1 (opsets 1-5): scalar inputs `tiles` and `axis`; returns {tiles, normalized axis}.
StatusOr<std::pair<int64_t, int64_t>> tile_v1_args(const Node& n, const Tensor& tiles,
                                                   const Tensor& axis, int64_t rank);

// ---- Constant, ConstantOfShape ----

/// The tensor a Constant node produces, from whichever value attribute it carries.
StatusOr<Tensor> constant_value(const Node& n);

/// ConstantOfShape's one-element fill value (default float32 0).
StatusOr<Tensor> constant_of_shape_fill(const Node& n);

// ---- axis-like attributes ----

/// Fails unless `t` is int32 or int64 (index tensors).
Status check_index_dtype(const Node& n, DType t, const char* what);

/// Concat's axis: default 1 before opset 4, required after.
StatusOr<int64_t> concat_axis(const Node& n, int64_t opset, int64_t rank);

/// Transpose's permutation (default: reversed dims).
StatusOr<std::vector<int64_t>> transpose_perm(const Node& n, int64_t rank);

/// DepthToSpace/SpaceToDepth block size; `crd` reports DepthToSpace's mode (opset 11+).
StatusOr<int64_t> block_size(const Node& n, int64_t opset, bool* crd);

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

/// ScatterND/ScatterElements reduction: add/mul since opset 16, max/min since 18.
StatusOr<Reduction> scatter_reduction(const Node& n, int64_t opset);

// ---- Slice ----

/// Starts, ends and steps per listed axis (axes normalized), from attributes or inputs.
struct SliceArgs {
  bool known = false;  // false: some input is not a known constant
  std::vector<int64_t> starts, ends, axes, steps;
};

template <typename Ctx>
StatusOr<SliceArgs> slice_args(const Ctx& c, int64_t rank) {
  SliceArgs s;
  const Node& n = c.node;
  if (c.opset < 10) {
    if (!n.has_attr("starts") || !n.has_attr("ends")) {
      return node_error(n, "attributes 'starts' and 'ends' are required");
    }
    s.starts = n.attr_ints("starts");
    s.ends = n.attr_ints("ends");
    s.axes = n.attr_ints("axes");
  } else {
    if (!c.has_input(1) || !c.has_input(2)) {
      return node_error(n, "inputs 'starts' and 'ends' are required");
    }
    const char* names[] = {"starts", "ends", "axes", "steps"};
    std::vector<int64_t>* dst[] = {&s.starts, &s.ends, &s.axes, &s.steps};
    for (size_t i = 0; i < 4; ++i) {
      if (!c.has_input(i + 1)) continue;
      const Tensor* t = known_value(c, i + 1);
      if (!t) return s;
      TARMAC_ASSIGN_OR_RETURN(*dst[i], int_list(n, *t, names[i]));
    }
  }
  const size_t k = s.starts.size();
  if (s.ends.size() != k) {
    return node_error(n, "'starts' has {} values but 'ends' has {}", k, s.ends.size());
  }
  const bool axes_given = c.opset < 10 ? n.has_attr("axes") : c.has_input(3);
  if (!axes_given) {
    if (static_cast<int64_t>(k) > rank) {
      return node_error(n, "{} starts given for a tensor of rank {}", k, rank);
    }
    for (size_t i = 0; i < k; ++i) s.axes.push_back(static_cast<int64_t>(i));
  }
  if (s.axes.size() != k) {
    return node_error(n, "'starts' has {} values but 'axes' has {}", k, s.axes.size());
  }
  if (c.opset >= 10 && c.has_input(4)) {
    if (s.steps.size() != k) {
      return node_error(n, "'starts' has {} values but 'steps' has {}", k, s.steps.size());
    }
    for (int64_t st : s.steps)
      if (st == 0) return node_error(n, "'steps' must not contain 0");
  } else {
    s.steps.assign(k, 1);
  }
  // Opset 1 allowed only non-negative axes; accepting negative ones here is harmless.
  TARMAC_ASSIGN_OR_RETURN(s.axes, normalize_axes(n, std::move(s.axes), rank));
  s.known = true;
  return s;
}

/// The first index and element count of slicing a dimension of size `dim`, clamped as the spec
/// requires (starts/ends may be anything from INT64_MIN to INT64_MAX).
void clamp_slice(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t* first,
                 int64_t* count);

// ---- Pad ----

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

/// The mode attribute; 'wrap' exists from opset 19.
StatusOr<PadMode> pad_mode(const Node& n, int64_t opset);

/// Pads for every axis as [begin_0..begin_{r-1}, end_0..end_{r-1}]; unknown when the pads or
/// axes input is not a known constant.
template <typename Ctx>
StatusOr<IntsArg> pad_amounts(const Ctx& c, int64_t rank) {
  const Node& n = c.node;
  IntsArg raw;
  if (c.opset < 11) {
    const char* attr = c.opset < 2 ? "paddings" : "pads";
    if (!n.has_attr(attr)) return node_error(n, "attribute '{}' is required", attr);
    raw.state = IntsArg::State::kKnown;
    raw.values = n.attr_ints(attr);
  } else {
    if (!c.has_input(1)) return node_error(n, "input 'pads' is required");
    TARMAC_ASSIGN_OR_RETURN(raw, ints_arg(c, 11, "pads", 1));
  }
  IntsArg axes;
  if (c.opset >= 18) {
    TARMAC_ASSIGN_OR_RETURN(axes, ints_arg(c, 18, "axes", 3));
  }
  if (!raw.known() || axes.state == IntsArg::State::kUnknown) {
    raw.state = IntsArg::State::kUnknown;
    raw.values.clear();
    return raw;
  }
  std::vector<int64_t> ax;
  if (axes.known()) {
    TARMAC_ASSIGN_OR_RETURN(ax, normalize_axes(n, axes.values, rank));
  } else {
    for (int64_t i = 0; i < rank; ++i) ax.push_back(i);
  }
  if (raw.values.size() != 2 * ax.size()) {
    return node_error(n, "'pads' has {} values, expected {} (2 per padded axis of rank {})",
                      raw.values.size(), 2 * ax.size(), rank);
  }
  // No tensor has 2^48 elements on an axis; the bound keeps index arithmetic from overflowing.
  constexpr int64_t kMaxPad = int64_t{1} << 48;
  for (int64_t v : raw.values) {
    if (v > kMaxPad || v < -kMaxPad) return node_error(n, "pad value {} is out of range", v);
  }
  IntsArg out;
  out.state = IntsArg::State::kKnown;
  out.values.assign(static_cast<size_t>(2 * rank), 0);
  for (size_t i = 0; i < ax.size(); ++i) {
    out.values[static_cast<size_t>(ax[i])] = raw.values[i];
    out.values[static_cast<size_t>(ax[i] + rank)] = raw.values[i + ax.size()];
  }
  return out;
}

// ---- Split ----

/// The explicit split sizes: attribute 'split' (opsets 2-12; opset 1 also took an input) or
/// input 1 (opset 13+).
template <typename Ctx>
StatusOr<IntsArg> split_arg(const Ctx& c) {
  if (c.opset < 2 && c.has_input(1)) return ints_arg(c, 1, "split", 1);
  return ints_arg(c, 13, "split", 1);
}

/// Output sizes along the split axis for a dimension of size `dim` and `outputs` outputs.
StatusOr<std::vector<int64_t>> split_sizes(const Node& n, int64_t opset, const IntsArg& split,
                                           int64_t dim, size_t outputs);

// ---- Reshape ----

/// The output dims of Reshape for concrete input dims.
StatusOr<Dims> reshape_dims(const Node& n, const Dims& in, const std::vector<int64_t>& shape,
                            bool allowzero);

// ---- Range ----

/// max(ceil((limit - start) / delta), 0) for the element type of the inputs.
StatusOr<int64_t> range_count(const Node& n, const Tensor& start, const Tensor& limit,
                              const Tensor& delta);

// ---- dense copies (src/backends/cpu/tensor_copy.cc) ----

/// Copies the view `src` (dims `dims`, strides in elements, possibly 0 or negative) into the
/// dense row-major `dst`. `elem` is the element size in bytes.
void copy_strided(const void* src, void* dst, size_t elem, const Dims& dims, const Dims& strides);

/// Copies `n` elements of `elem` bytes, in parallel when large.
void parallel_copy(const void* src, void* dst, size_t elem, int64_t n);

}  // namespace tarmac::tensor_ops

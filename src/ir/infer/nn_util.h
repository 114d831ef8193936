// Geometry and equation parsing shared by the nn inference functions and the nn kernels, so
// that inferred shapes and computed shapes cannot drift apart.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace tarmac::nn {

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

/// Sliding-window attributes of Conv, ConvTranspose and the pooling ops, one entry per
/// spatial axis (pads: all begins, then all ends).
struct WindowAttrs {
  AutoPad auto_pad = AutoPad::kNotSet;
  Dims kernel, strides, dilations, pads;
  bool ceil_mode = false;
  bool pads_given = false;
  // ConvTranspose only.
  Dims output_padding;
  Dims output_shape;  // spatial part; empty when not given
};

/// Which attributes exist in the op version being read; absent ones take their defaults.
struct WindowOptions {
  bool dilations = true;
  bool ceil_mode = false;
  bool transpose = false;  // ConvTranspose: output_padding, output_shape
};

/// Reads and validates the window attributes for `kernel.size()` spatial axes.
StatusOr<WindowAttrs> read_window_attrs(const Node& n, Dims kernel, WindowOptions opt);

/// Output extent of one spatial axis of a Conv or pooling window; fills the begin/end padding
/// actually applied (auto_pad resolved).
StatusOr<int64_t> window_output_size(const Node& n, const WindowAttrs& a, size_t axis, int64_t in,
                                     int64_t* pad_begin, int64_t* pad_end);

/// Output extent of one spatial axis of ConvTranspose; fills the padding applied (may leave
/// output positions that no input reaches, which then hold only the bias).
StatusOr<int64_t> conv_transpose_output_size(const Node& n, const WindowAttrs& a, size_t axis,
                                             int64_t in, int64_t* pad_begin, int64_t* pad_end);

/// A parsed Einsum equation with ellipses expanded into labels. Labels are small integers;
/// those of the ellipsis come first (0 .. num_ellipsis_dims-1, right-aligned across inputs).
struct EinsumSpec {
  std::vector<std::vector<int>> inputs;  // label of each dim of each input
  std::vector<int> output;               // label of each output dim
  int num_labels = 0;
};

/// Parses `equation` for inputs of the given ranks. Fails on malformed equations and on
/// ranks that do not match the subscripts.
StatusOr<EinsumSpec> parse_einsum(const Node& n, const std::string& equation,
                                  const std::vector<int64_t>& ranks);

/// Size of every label from the inputs' dims (size-1 dims broadcast); fails on mismatches.
/// Unknown dims are given as -1 and yield -1 unless another input fixes the label.
StatusOr<std::vector<int64_t>> einsum_label_sizes(const Node& n, const EinsumSpec& spec,
                                                  const std::vector<Dims>& dims);

}  // namespace tarmac::nn

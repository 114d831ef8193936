// Layout assignment: runs 2-D convolutions channels-last (NHWC), where half-precision tensor
// cores want them, and keeps everything else in the model's NCHW layout. Each converted Conv /
// ConvTranspose becomes an internal node with `layout` = "NHWC" and a permuted weight
// (ir/fused_ops.h); reformat layers (internal Transposes) are inserted at its input and
// output, then the NHWC->NCHW reformats are moved down through layout-agnostic layers
// (activations, Casts, elementwise ops on equally reformatted or constant operands, Concat on
// channels) until they meet an NCHW->NHWC reformat and both vanish. What is left are the
// reformats between NCHW and NHWC regions, which show up as layers.
//   LayoutOptions o;  // kAuto: NHWC for half-precision (and, see allow_tf32, TF32) convolutions
//   TARMAC_RETURN_IF_ERROR(assign_layouts(model, o));
#pragma once

#include <functional>
#include <string>

#include "core/status.h"
#include "ir/graph.h"

namespace tarmac {

enum class LayoutMode {
  // NHWC for convolutions computing in float16 / bfloat16, and for float32 ones running TF32
  // when the graph has no grouped float32 convolution; NCHW otherwise
  kAuto,
  kNchw,  // the model's layout everywhere
  kNhwc,  // NHWC for every eligible float convolution
};

/// "auto", "nchw", "nhwc" -> mode; error names the bad value.
StatusOr<LayoutMode> parse_layout_mode(const std::string& s);

struct LayoutOptions {
  LayoutMode mode = LayoutMode::kAuto;
  /// Float32 convolutions run with TF32 tensor cores (KernelConfig::allow_tf32). Measured on an
  /// H200 (bench/RESULTS.md): channels-last TF32 makes dense convolutions 1.6-1.9x faster
  /// (ResNet-50, PointPillars at batch 8) but depthwise ones slower (YOLOX-nano 1.48 -> 2.25
  /// ms), and mixing layouts would put reformats around every depthwise layer.
  bool allow_tf32 = false;
  /// One line per converted convolution and per reformat left in the graph; null = quiet.
  std::function<void(const std::string&)> log;
};

struct LayoutReport {
  int nhwc_convolutions = 0;  // Conv / ConvTranspose layers now channels-last
  int reformats = 0;          // reformat layers left in the graph
};

/// Rewrites the (inferred, sorted) graph in place and re-verifies it. Eligible convolutions:
/// 2-D, static shapes, constant weights, float32 / float16 / bfloat16, symmetric pads (Conv)
/// or a ConvTranspose output cuDNN's geometry gives directly (no output_padding crop).
Status assign_layouts(Model& model, const LayoutOptions& options, LayoutReport* report = nullptr);

}  // namespace tarmac

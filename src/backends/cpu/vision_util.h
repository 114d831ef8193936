// Private helpers of the vision CPU kernels (Resize/Upsample planning, small input readers).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backends/cpu/kernel.h"

namespace tarmac::vision {

enum class ResizeMode { kNearest, kLinear, kCubic };
enum class CoordMode {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNn,
  kTfCropAndResize,
};
/// kLegacy is the rounding of Resize-10 and Upsample, which had no nearest_mode attribute:
/// truncate when upsampling, round up when downsampling (what onnxruntime keeps for them).
enum class NearestMode { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kLegacy };

/// What Resize and Upsample compute once attributes and the roi/scales/sizes inputs are read.
/// Per-axis vectors have one entry per axis of X; axes that are not resized get scale 1.
struct ResizeSpec {
  ResizeMode mode = ResizeMode::kNearest;
  CoordMode coord = CoordMode::kAsymmetric;
  NearestMode nearest = NearestMode::kLegacy;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  double extrapolation = 0;
  Dims out_dims;
  std::vector<double> scales;
  /// scale * input length: the output length before flooring. The reference implementation
  /// uses it (not the integer length) in align_corners, tf_crop_and_resize and
  /// half_pixel_symmetric, and the ONNX test data follows it.
  std::vector<double> extents;
  std::vector<double> roi_start, roi_end;
};

StatusOr<ResizeSpec> resize_spec(const KernelContext& ctx);
StatusOr<ResizeSpec> upsample_spec(const KernelContext& ctx);
/// Allocates output 0 and fills it from input 0 following `spec`.
Status run_resize(KernelContext& ctx, const ResizeSpec& spec);

}  // namespace tarmac::vision

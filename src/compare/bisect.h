// `tarmac compare --bisect-precision`: a small set of layers to keep in float32 so that a
// float16 / bfloat16 engine's outputs meet the tolerance on every sample.
#pragma once

#include <string>
#include <vector>

#include "compare/compare.h"

namespace tarmac::compare {

struct BisectResult {
  bool found = false;
  std::vector<std::string> keep;  // ONNX node names, in layer order
  int builds = 0;                 // engines built and checked
};

/// Tries keep sets by rebuilding `engine` from `model` (TargetOptions::keep_fp32) and comparing
/// its outputs on `samples` with `reference` (one NamedTensors per sample).
StatusOr<BisectResult> bisect_precision(const Model& model, const TargetOptions& engine,
                                        const std::vector<NamedTensors>& samples,
                                        const std::vector<NamedTensors>& reference,
                                        const CheckOptions& check, const LineSink& out);

/// "a:fp32,b:fp32" for `tarmac exec --layerPrecisions`.
std::string layer_precisions_arg(const std::vector<std::string>& keep);

}  // namespace tarmac::compare

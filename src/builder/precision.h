// Precision assignment: runs a float32 graph in float16 or bfloat16. Every float32 value a
// converted node reads or writes becomes half; nodes kept in float32 (by name, or because
// their op has no half form) get Casts at the boundary; graph inputs and outputs keep their
// float32 interface through Casts, so the model's signature does not change.
//   PrecisionOptions p; p.dtype = DType::kFloat16; p.keep_fp32 = {"head.conv"};
//   TARMAC_RETURN_IF_ERROR(assign_precision(model, p));
#pragma once

#include <set>
#include <string>

#include "core/status.h"
#include "ir/graph.h"

namespace tarmac {

struct PrecisionOptions {
  /// kFloat16 or kBFloat16; or kFloat64 for a reference run (`tarmac compare`), where every
  /// float32 tensor widens except the few whose type ONNX fixes (Q/DQ, NonMaxSuppression) and
  /// the graph outputs stay float64, unrounded.
  DType dtype = DType::kFloat16;
  /// Layer names that stay float32 — `--layerPrecisions=name:fp32`. A fused layer
  /// ("conv1 + relu1") stays float32 when its full name or any of its ONNX node names is listed.
  std::set<std::string> keep_fp32;
};

/// Rewrites the (inferred, sorted) graph in place and re-verifies it. Ops whose ONNX type
/// constraints exclude half types or whose parameters must stay float32 (Q/DQ scales,
/// NonMaxSuppression, Range, Resize scales/roi) keep float32.
Status assign_precision(Model& model, const PrecisionOptions& options);

/// Whether `layer` (a node name, fused names joined by " + ") is one `keep_fp32` names.
bool layer_listed(const std::set<std::string>& keep_fp32, const std::string& layer);

}  // namespace tarmac

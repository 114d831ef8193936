// Per-layer comparison (`tarmac compare --mark-all`): every tensor a layer of the engine under
// test writes is copied out through debug taps and compared with the reference tensor of the
// ONNX node it maps to; the engine itself is checked to be unchanged by the taps.
#pragma once

#include <vector>

#include "compare/compare.h"

namespace tarmac::compare {

/// `onnx` is the model as imported (it names the ONNX node of each tensor). Returns whether
/// every compared tensor passed and the engine was unchanged.
StatusOr<bool> compare_layers(Target& engine, Target& reference, const Model& onnx,
                              const std::vector<NamedTensors>& samples, const CheckOptions& check,
                              const LineSink& out);

/// Where an engine tensor lives in the reference: the tensor's name; for a half-precision copy
/// ("x_float16", "x_bfloat16") the tensor it copies; for a channels-last copy ("x_nhwc",
/// rank 4) the NCHW tensor it permutes. Empty when the tensor has no counterpart (casts of
/// graph inputs, tensors of the build's own).
struct TensorOrigin {
  std::string reference_value;
  bool nhwc = false;
};
TensorOrigin tensor_origin(const std::string& value, const Dims& dims,
                           const std::function<bool(const std::string&)>& in_reference);

/// [N, H, W, C] -> [N, C, H, W], as float64.
Tensor nhwc_to_nchw(const Tensor& t);

}  // namespace tarmac::compare

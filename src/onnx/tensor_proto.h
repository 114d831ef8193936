// TensorProto <-> Tensor conversion (inline fields, raw_data and external data).
#pragma once

#include <string>

#include "core/status.h"
#include "core/tensor.h"
#include "onnx/onnx.pb.h"

namespace tarmac {

/// Converts a TensorProto. `base_dir` resolves external data; empty forbids it.
StatusOr<Tensor> tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir);

/// Resolves an external-data location against the model folder, refusing absolute paths and
/// paths that leave the folder (also through symbolic links).
StatusOr<std::string> resolve_external_path(const std::string& base_dir,
                                            const std::string& location);

/// "FLOAT", "INT64", ... for a TensorProto.DataType number; any int32 is accepted (the field
/// is a plain int32 in onnx.proto, so malformed files carry arbitrary values).
std::string onnx_type_name(int32_t onnx_type);

}  // namespace tarmac

// ONNX exporter: IR Model -> ModelProto (protobuf), the inverse of the importer.
//   TARMAC_ASSIGN_OR_RETURN(std::string bytes, export_onnx_bytes(model));
//   ExportOptions o;
//   o.external_data_file = "model.onnx.data";
//   TARMAC_RETURN_IF_ERROR(export_onnx_file(model, "out/model.onnx", o));
#pragma once

#include <cstddef>
#include <string>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "onnx/onnx.pb.h"

namespace tarmac {

struct ExportOptions {
  /// When non-empty, initializers of at least `external_threshold_bytes` bytes are written to
  /// this file (a bare file name, placed beside the output .onnx) and referenced through ONNX
  /// external-data fields (location, offset, length). Offsets are aligned to
  /// kExternalDataAlignment bytes. Constant 'value' attributes always stay inline.
  std::string external_data_file;
  size_t external_threshold_bytes = 1024;
};

/// Offset alignment of tensors in an external data file (lets readers map them page-aligned).
inline constexpr size_t kExternalDataAlignment = 4096;

/// Serializes the model with every tensor inline. Fails with a Status naming the node when a
/// node is not in the standard ONNX domain ("" or "ai.onnx") — internal fused nodes (domain
/// "tarmac") cannot be exported — or carries an attribute kind that cannot be written
/// (subgraphs, unknown kinds); also when the model would exceed protobuf's 2 GiB limit.
StatusOr<std::string> export_onnx_bytes(const Model& model);

/// Writes the model to `path` atomically (temp file in the same folder, fsync, rename). The
/// external data file, when requested, is written the same way beside it, before the model.
Status export_onnx_file(const Model& model, const std::string& path,
                        const ExportOptions& options = {});

/// Tensor -> TensorProto with name, dims, data_type and little-endian raw_data (bool as one
/// byte per element, float16/bfloat16 as their 2-byte patterns). The tensor must be defined.
onnx::TensorProto tensor_to_proto(const Tensor& tensor, const std::string& name);

}  // namespace tarmac

// ONNX importer: ModelProto (protobuf) -> IR Model, with inline and external weights.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace tarmac {

/// A node the importer could not accept, with the reason in words.
struct UnsupportedNode {
  std::string name;
  std::string op_type;
  std::string domain;
  int64_t opset = 0;
  std::string reason;
};

struct ImportOptions {
  /// Keep going past unsupported nodes, collecting them (for `tarmac inspect`); the model
  /// is then not runnable.
  bool collect_unsupported = false;
  /// Largest model file accepted (protobuf's own limit is 2 GiB).
  size_t max_file_bytes = (size_t{2} << 30) - 1;
};

struct ImportResult {
  Model model;
  std::vector<UnsupportedNode> unsupported;
};

/// Loads an .onnx file; external data files are resolved relative to its folder and may not
/// leave it.
StatusOr<ImportResult> import_onnx_file(const std::string& path, const ImportOptions& options = {});
/// Parses an in-memory model; `base_dir` resolves external data ("" forbids external data).
StatusOr<ImportResult> import_onnx_bytes(const std::string& bytes, const std::string& base_dir,
                                         const ImportOptions& options = {});
/// Reads a serialized TensorProto file (the ONNX test-data format).
StatusOr<Tensor> load_tensor_proto_file(const std::string& path);
/// Same, plus the tensor's name field.
StatusOr<std::pair<std::string, Tensor>> load_named_tensor_proto_file(const std::string& path);

}  // namespace tarmac

// Network: an ONNX model parsed and checked, the input of the builder.
//   auto net = tarmac::Network::parse_onnx_file("resnet50.onnx");
//   if (!net.is_ok()) { /* net.status().message() names the node and the reason */ }
//   for (const auto& in : net->inputs()) std::printf("%s\n", in.name.c_str());
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tarmac/dtype.h"
#include "tarmac/status.h"

namespace tarmac {

using Dims = std::vector<int64_t>;

/// A graph input or output: its name, element type and shape, -1 for a dynamic dimension.
struct TensorInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  Dims shape;
};

class Network {
 public:
  /// Reads, imports and verifies an ONNX file (external weights resolved beside it).
  static StatusOr<Network> parse_onnx_file(const std::string& path);
  /// The same from bytes; `base_dir` resolves external weights ("" allows none).
  static StatusOr<Network> parse_onnx_bytes(const std::string& bytes, const std::string& base_dir);

  const std::vector<TensorInfo>& inputs() const;
  const std::vector<TensorInfo>& outputs() const;
  /// The source file's bytes (what a plan stores and hashes).
  const std::string& onnx_bytes() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  Network() = default;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace tarmac

// What a tarmac::Network holds (include/tarmac/network.h), for the builder and engine code.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "tarmac/network.h"

namespace tarmac {

struct Network::Impl {
  Model model;       // as imported, before any pass
  std::string onnx;  // the model's bytes with every weight inline
  std::vector<TensorInfo> inputs, outputs;
};

/// Input/output descriptions of an imported model (-1 for dynamic dims).
std::vector<TensorInfo> describe_values(const std::vector<Value*>& values);

}  // namespace tarmac

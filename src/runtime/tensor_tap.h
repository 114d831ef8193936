// TensorTap: a callback that sees each tensor a run computes, right after the layer that wrote
// it, for per-layer comparison (`tarmac compare --mark-all`).
//   Status s = executor->run(inputs, &outs, [&](const Node& n, const Value& v, const Tensor& t) {
//     seen[v.name] = t;
//   });
#pragma once

#include <functional>

#include "core/tensor.h"
#include "ir/graph.h"

namespace tarmac {

/// `node` is the runtime layer (fused layers carry their ONNX node names joined by " + "),
/// `value` the tensor it wrote, `t` its contents on the host. Taps only read.
using TensorTap = std::function<void(const Node& node, const Value& value, const Tensor& t)>;

}  // namespace tarmac

// The CUDA backend: device kernels for the ops in its registry (no host fallback here; the
// runtime decides, on request, to run unsupported nodes on the CPU).
#pragma once

#include <memory>

#include "backends/backend.h"

namespace tarmac {

std::unique_ptr<Backend> make_cuda_backend();

}  // namespace tarmac

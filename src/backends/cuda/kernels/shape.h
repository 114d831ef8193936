// Host/device shape descriptors passed to kernels by value (rank <= 8).
#pragma once

#include <cstdint>
#include <vector>

namespace tarmac::cuda {

inline constexpr int kMaxRank = 8;

/// Dims or strides of one tensor, by value so kernels receive them as arguments.
struct Shape8 {
  int32_t rank = 0;
  int64_t d[kMaxRank] = {};
};

/// The dims as a Shape8; false when rank > kMaxRank.
inline bool to_shape8(const std::vector<int64_t>& dims, Shape8* out) {
  if (dims.size() > static_cast<size_t>(kMaxRank)) return false;
  out->rank = static_cast<int32_t>(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) out->d[i] = dims[i];
  return true;
}

/// Row-major strides of `in` right-aligned against `out` (numpy broadcasting), 0 on broadcast
/// axes; the result has out's rank. The caller checks that `in` broadcasts to `out`.
inline Shape8 broadcast_strides(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  Shape8 s;
  s.rank = static_cast<int32_t>(out.size());
  int64_t stride = 1;
  for (int k = static_cast<int>(out.size()) - 1, j = static_cast<int>(in.size()) - 1; k >= 0;
       --k, --j) {
    if (j >= 0 && in[static_cast<size_t>(j)] != 1) {
      s.d[k] = stride;
      stride *= in[static_cast<size_t>(j)];
    } else {
      s.d[k] = 0;
      if (j >= 0) stride *= 1;
    }
  }
  return s;
}

}  // namespace tarmac::cuda

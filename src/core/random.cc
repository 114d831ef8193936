#include "core/random.h"

#include <random>

namespace tarmac {

Tensor random_tensor(DType dtype, const Dims& dims, uint64_t seed) {
  Tensor t = Tensor::zeros(dtype, dims);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> real(-1.0, 1.0);
  std::uniform_int_distribution<int> small(0, 7);
  const int64_t n = t.numel();
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<T, bool>) {
        p[i] = (small(rng) & 1) != 0;
      } else if constexpr (std::is_integral_v<T>) {
        p[i] = static_cast<T>(small(rng));
      } else {
        p[i] = store<T>(static_cast<compute_t<T>>(real(rng)));
      }
    }
  });
  return t;
}

}  // namespace tarmac

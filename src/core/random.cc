#include "core/random.h"

#include <cmath>
#include <limits>
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

Tensor random_tensor(DType dtype, const Dims& dims, uint64_t seed, double lo, double hi) {
  Tensor t = Tensor::zeros(dtype, dims);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> real(lo, hi);
  const int64_t n = t.numel();
  dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    if constexpr (std::is_same_v<T, bool>) {
      std::uniform_int_distribution<int> coin(0, 1);
      for (int64_t i = 0; i < n; ++i) p[i] = coin(rng) != 0;
    } else if constexpr (std::is_integral_v<T>) {
      const double tmin = std::max(static_cast<double>(std::numeric_limits<T>::lowest()), -0x1p62);
      // Bounded below 2^62 so that the int64 conversion below is exact and in range.
      const double tmax = std::min(static_cast<double>(std::numeric_limits<T>::max()), 0x1p62);
      double a = std::ceil(std::max(lo, tmin)), b = std::floor(std::min(hi, tmax));
      if (!(a <= b)) a = b = 0;
      std::uniform_int_distribution<int64_t> ints(static_cast<int64_t>(a), static_cast<int64_t>(b));
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(ints(rng));
    } else {
      for (int64_t i = 0; i < n; ++i) p[i] = store<T>(static_cast<compute_t<T>>(real(rng)));
    }
  });
  return t;
}

}  // namespace tarmac

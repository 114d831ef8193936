// Multi-threading for CPU kernels (OpenMP underneath; serial when built without it).
#pragma once

#include <cstdint>

namespace tarmac {

/// Threads the CPU backend uses; defaults to the machine's cores.
int num_threads();
void set_num_threads(int n);

/// Runs fn(begin, end) over [0, n) split into contiguous chunks across threads. Chunks hold
/// at least `grain` items so tiny loops stay serial. fn must be safe to call concurrently.
template <typename F>
void parallel_for(int64_t n, int64_t grain, F&& fn) {
  if (n <= 0) return;
  const int threads = num_threads();
  int64_t chunks = grain > 0 ? n / grain : n;
  if (chunks > threads) chunks = threads;
  if (chunks <= 1) {
    fn(int64_t{0}, n);
    return;
  }
#pragma omp parallel for num_threads(static_cast <int>(chunks)) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = n * c / chunks;
    const int64_t e = n * (c + 1) / chunks;
    fn(b, e);
  }
}

}  // namespace tarmac

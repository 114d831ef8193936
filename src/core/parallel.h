// Multi-threading for CPU kernels (OpenMP underneath; serial when built without it).
#pragma once

#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

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
#ifdef _OPENMP
  if (chunks <= 1 || omp_in_parallel()) {
    fn(int64_t{0}, n);
    return;
  }
  // Every region asks for the same team size: GNU OpenMP rebuilds its team (hundreds of
  // microseconds) whenever consecutive regions ask for different sizes.
#pragma omp parallel num_threads(threads)
  {
    const int64_t team = omp_get_num_threads();
    for (int64_t c = omp_get_thread_num(); c < chunks; c += team) {
      fn(n * c / chunks, n * (c + 1) / chunks);
    }
  }
#else
  fn(int64_t{0}, n);
#endif
}

}  // namespace tarmac

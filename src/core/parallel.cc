#include "core/parallel.h"

#include <thread>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace tarmac {

namespace {
int g_threads = 0;
}

int num_threads() {
  if (g_threads <= 0) {
    unsigned hc = std::thread::hardware_concurrency();
    g_threads = hc ? static_cast<int>(hc) : 1;
  }
  return g_threads;
}

void set_num_threads(int n) {
  g_threads = n > 0 ? n : 0;
#ifdef _OPENMP
  omp_set_num_threads(num_threads());
#endif
}

}  // namespace tarmac

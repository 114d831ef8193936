// ArgMax/ArgMin on the generic reduction kernels: the accumulator is (value, index), so the
// split and tree combines reproduce the CPU's sequential scan exactly: the first (or, with
// select_last_index, the last) index of the extreme value, NaN counting as the extreme for
// both ArgMax and ArgMin as numpy's argmax/argmin do.
#include <cstdint>
#include <type_traits>

#include "backends/cuda/kernels/reduce_engine.cuh"

namespace tarmac::cuda {
namespace reduce_detail {
namespace {

template <typename T>
using arg_value_t = std::conditional_t<std::is_same_v<T, double>, double,
                                       std::conditional_t<kIsFloat<T>, float, int64_t>>;

template <typename T>
struct ArgAcc {
  arg_value_t<T> v;
  int64_t idx;  // -1: nothing seen yet
};

template <typename T, bool kMax, bool kLast>
struct ArgOp {
  using Acc = ArgAcc<T>;
  using Out = int64_t;
  using V = arg_value_t<T>;
  __device__ static Acc identity() { return Acc{V{0}, -1}; }
  __device__ static Acc make(const T* x, int64_t off, int64_t r) {
    return Acc{static_cast<V>(load_at(x, off)), r};
  }
  __device__ static Acc combine(Acc a, Acc b) {
    if (a.idx < 0) return b;
    if (b.idx < 0) return a;
    // b beats a when it ranks strictly further; equal values (and NaN vs NaN) tie.
    const bool b_wins = kMax ? ranks_below(a.v, b.v) : ranks_below_nan_low(b.v, a.v);
    const bool a_wins = kMax ? ranks_below(b.v, a.v) : ranks_below_nan_low(a.v, b.v);
    if (b_wins) return b;
    if (a_wins) return a;
    return (kLast ? b.idx > a.idx : b.idx < a.idx) ? b : a;
  }
  __device__ static Out finish(Acc a, int64_t /*count*/) { return a.idx; }
};

template <typename T>
constexpr bool kArgSupported = !std::is_same_v<T, bool>;

}  // namespace

size_t arg_workspace_bytes(DType dtype, const ReducePlan& p) {
  if (p.splits <= 1) return 0;
  size_t acc_bytes = 16;
  dispatch_type(dtype, [&](auto tag) { acc_bytes = sizeof(ArgAcc<decltype(tag)>); });
  return static_cast<size_t>(p.g.rows * p.g.inner * p.splits) * acc_bytes;
}

cudaError_t launch_arg_reduce(ReduceKind kind, DType dtype, const ReducePlan& p, const void* x,
                              void* y, void* workspace, cudaStream_t stream) {
  cudaError_t err = cudaErrorInvalidValue;
  const bool is_max = kind == ReduceKind::kArgMax;
  dispatch_type(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kArgSupported<T>) {
      if (is_max) {
        err = p.select_last ? run_reduce<ArgOp<T, true, true>, T>(p, x, y, workspace, stream)
                            : run_reduce<ArgOp<T, true, false>, T>(p, x, y, workspace, stream);
      } else {
        err = p.select_last ? run_reduce<ArgOp<T, false, true>, T>(p, x, y, workspace, stream)
                            : run_reduce<ArgOp<T, false, false>, T>(p, x, y, workspace, stream);
      }
    }
  });
  return err;
}

}  // namespace reduce_detail
}  // namespace tarmac::cuda

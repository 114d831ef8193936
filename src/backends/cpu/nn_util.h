// Private helpers for the nn CPU kernels: the Eigen GEMM entry point, compute-dtype handling
// and the geometry shared by Conv and ConvTranspose.
#pragma once

#include <cstdint>
#include <type_traits>

#include "backends/cpu/kernel.h"
#include "ir/infer/nn_util.h"

namespace tarmac::nn {

/// c[m, n] = alpha * op(a) * op(b) (+ c when `accumulate`), all row-major with row strides
/// lda/ldb/ldc; op(a) is [m, k] (a stored [k, m] when trans_a), op(b) is [k, n]. Runs on the
/// calling thread. Instantiated for float, double, uint8/32/64 (integer products use unsigned
/// types so that overflow wraps like the other runtimes).
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, bool accumulate);

/// gemm() split over the threads as a grid of blocks of c (one serial GEMM per block); small
/// products stay on the calling thread. Same instantiations.
template <typename T>
void gemm_parallel(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                   int64_t lda, const T* b, int64_t ldb, T* c, int64_t ldc, bool accumulate);

/// gemm_parallel() on contiguous operands.
template <typename T>
void gemm_parallel(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                   const T* b, T* c, bool accumulate) {
  gemm_parallel<T>(trans_a, trans_b, m, n, k, alpha, a, trans_a ? m : k, b, trans_b ? k : n, c, n,
                   accumulate);
}

/// The unsigned type integer products are computed in.
template <typename T, bool = std::is_integral_v<T>>
struct GemmType {
  using type = T;
};
template <typename T>
struct GemmType<T, true> {
  using type = std::make_unsigned_t<T>;
};
template <typename T>
using gemm_t = typename GemmType<T>::type;

inline bool is_half(DType t) { return t == DType::kFloat16 || t == DType::kBFloat16; }

/// `t` itself, or a float32 copy held in `keep` when `t` is float16/bfloat16.
inline const Tensor* compute_input(const Tensor* t, Tensor* keep) {
  if (t == nullptr || !is_half(t->dtype())) return t;
  *keep = t->cast(DType::kFloat32);
  return keep;
}

/// The dtype a kernel computes in for storage dtype `t`.
inline DType compute_dtype(DType t) { return is_half(t) ? DType::kFloat32 : t; }

/// Casts output i back to `storage` after a float32 computation.
inline void store_output(KernelContext& ctx, size_t i, DType storage) {
  if (is_half(storage) && ctx.outputs[i].dtype() != storage)
    ctx.outputs[i] = ctx.outputs[i].cast(storage);
}

/// Uninitialised scratch memory owned by the calling thread and reused by the next call
/// (kernels run again and again with the same shapes; fresh buffers would page-fault on every
/// run). Valid until the calling thread asks again; refused when above the host limit.
StatusOr<void*> thread_scratch(const Node& n, size_t bytes);

template <typename T>
StatusOr<T*> thread_scratch(const Node& n, int64_t count) {
  if (count < 0) return internal_error("{}: negative scratch size", n.describe());
  TARMAC_ASSIGN_OR_RETURN(void* p, thread_scratch(n, static_cast<size_t>(count) * sizeof(T)));
  return static_cast<T*>(p);
}

/// Concrete geometry of one Conv or ConvTranspose call. Spatial vectors have one entry per
/// spatial axis; for ConvTranspose `in`/`out` are still the node's input/output extents.
struct ConvGeometry {
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  Dims in, out, kernel, strides, dilations, pad_begin;
  int64_t in_size = 1, out_size = 1, kernel_size = 1;  // products of the spatial extents
};

/// Validates X [N, C, ...], W and the optional bias B against each other and the attributes.
StatusOr<ConvGeometry> conv_geometry(const KernelContext& ctx, bool transpose);

/// 2-D Conv with one input channel per group (depthwise, any channel multiplier), computed
/// directly. Instantiated for float and double.
template <typename T>
void depthwise_conv2d(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y);

}  // namespace tarmac::nn

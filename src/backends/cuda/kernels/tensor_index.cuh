// Launchers of the indexing kernels of the tensor family: Gather, GatherElements, GatherND,
// ScatterElements and ScatterND. Indices are int32 or int64 run-time data (`index_is_64`);
// negative ones count from the back. A device kernel cannot fail, so an index outside
// [-n, n) — an error on the CPU reference — reads zeros (gathers) or is skipped (scatters).
// Each launcher returns the launch status (cudaGetLastError).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/shape.h"
#include "core/dtype.h"

namespace tarmac::cuda {

/// Gather along one axis, the data viewed as [outer, axis_len, inner] bytes:
///   out[o, j, :] = data[o, indices[j], :]   out: [outer, count, inner_bytes]
cudaError_t launch_gather(const void* data, const void* indices, bool index_is_64, void* out,
                          int64_t outer, int64_t axis_len, int64_t count, int64_t inner_bytes,
                          cudaStream_t stream);

/// GatherElements: out has the indices' dims [dims] (rank <= 8, `elem` 1/2/4/8 bytes);
///   out[i] = data[sum_k (k == axis ? indices[i] : i_k) * data_strides.d[k]]
/// `axis_len` is data's size on `axis`.
cudaError_t launch_gather_elements(const void* data, const void* indices, bool index_is_64,
                                   void* out, int elem, const Shape8& dims,
                                   const Shape8& data_strides, int axis, int64_t axis_len,
                                   cudaStream_t stream);

/// Where the index tuples of GatherND/ScatterND point: tuple t (k = dims.rank indices) is at
/// element (t / per_batch) * batch_stride + sum_m indices[t, m] * strides.d[m] of the data,
/// index m ranging over [0, dims.d[m]).
struct NdIndexing {
  Shape8 dims, strides;  // the k indexed data dims and their row-major strides (elements)
  int64_t per_batch = 1, batch_stride = 0;
  int64_t tuples = 0;
};

/// GatherND: out[t, :] = data[offset(t) : offset(t) + slice]   out: [tuples, slice] elements
cudaError_t launch_gather_nd(const void* data, const void* indices, bool index_is_64, void* out,
                             int elem, const NdIndexing& nd, int64_t slice, cudaStream_t stream);

/// Scatter reductions, numbered as tensor_ops::Reduction.
enum class ScatterOp : int32_t { kNone = 0, kAdd = 1, kMul = 2, kMax = 3, kMin = 4 };

/// ScatterND on `out` (already holding a copy of data):
///   out[offset(t) : offset(t) + slice] (op)= updates[t, :]   updates: [tuples, slice]
/// With kNone, repeated tuples resolve to the last one, as the CPU reference's serial loop
/// does: `winners` is device scratch of (numel(data) / slice) uint32 (zeroed here); it is
/// unused for the reductions, which apply in an unspecified order.
cudaError_t launch_scatter_nd(void* out, const void* indices, bool index_is_64, const void* updates,
                              DType dtype, const NdIndexing& nd, int64_t slice, ScatterOp op,
                              uint32_t* winners, int64_t slots, cudaStream_t stream);

/// ScatterElements on `out` (already holding a copy of data); updates and indices: [dims];
///   out[sum_k (k == axis ? indices[i] : i_k) * out_strides.d[k]] (op)= updates[i]
/// `winners`: numel(data) uint32 of device scratch for kNone (see launch_scatter_nd).
cudaError_t launch_scatter_elements(void* out, const void* indices, bool index_is_64,
                                    const void* updates, DType dtype, const Shape8& dims,
                                    const Shape8& out_strides, int axis, int64_t axis_len,
                                    ScatterOp op, uint32_t* winners, int64_t slots,
                                    cudaStream_t stream);

}  // namespace tarmac::cuda

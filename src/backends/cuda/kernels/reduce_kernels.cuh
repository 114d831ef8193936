// Launchers of the reduction kernels (ReduceSum/Mean/Max/Min/Prod/L2/SumSquare, ArgMax/ArgMin).
//
// The input is seen as alternating blocks of kept and reduced dimensions (adjacent dims of the
// same kind merged, size-1 dims dropped), as the CPU reference does. Outputs are numbered
// row * inner + i where `row` walks the kept blocks except the innermost one and `inner` is the
// innermost kept block (1 when the innermost block is reduced). Element r of an output's
// reduction sits at kept_offset(row) + red_offset(r) + i.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace tarmac::cuda {

enum class ReduceKind { kSum, kSumSquare, kL2, kMean, kProd, kMax, kMin, kArgMax, kArgMin };

/// At most 8 dims alternate into at most 4 kept and 4 reduced blocks.
inline constexpr int kMaxReduceBlocks = 4;

struct ReduceGeom {
  int64_t rows = 1;   // product of the kept blocks but the innermost
  int64_t inner = 1;  // innermost kept block (1 when the innermost block is reduced)
  int64_t count = 1;  // elements reduced into each output
  int32_t nkept = 0;  // outer kept blocks, outermost first
  int64_t kept_size[kMaxReduceBlocks] = {};
  int64_t kept_stride[kMaxReduceBlocks] = {};
  int32_t nred = 0;  // every reduced block, outermost first
  int64_t red_size[kMaxReduceBlocks] = {};
  int64_t red_stride[kMaxReduceBlocks] = {};
};

/// Launch shape chosen on the host from the geometry.
struct ReducePlan {
  ReduceGeom g;
  int64_t splits = 1;         // the reduction range is cut into this many partial ranges
  int64_t chunk = 1;          // elements per partial range
  bool warp_per_row = false;  // inner == 1 only: one warp (else one block) per output
  int32_t col_x = 32;         // inner > 1: threads along inner; 256 / col_x along the reduction
  bool select_last = false;   // ArgMax/ArgMin select_last_index
};

/// Geometry and launch shape for dims with reduced[k] set on the reduced axes.
ReducePlan make_reduce_plan(const int64_t* dims, const bool* reduced, int rank);

/// Workspace for the partial accumulators of a plan with splits > 1.
size_t reduce_workspace_bytes(ReduceKind kind, DType dtype, const ReducePlan& p);

/// Reduces x into y (ArgMax/ArgMin write int64). An empty reduction (count == 0) fills y with
/// the empty value of the op. Returns the launch error, if any.
cudaError_t launch_reduce(ReduceKind kind, DType dtype, const ReducePlan& p, const void* x, void* y,
                          void* workspace, cudaStream_t stream);

}  // namespace tarmac::cuda

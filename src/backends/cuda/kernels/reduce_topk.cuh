// Launcher of TopK: a bitonic sort of chunks of each row in shared memory. Rows longer than
// one chunk are cut into chunks whose top K candidates (value, index) go to the workspace and
// are sorted again, until one chunk remains; the total order (value, then lower index first)
// makes the result identical to one full sort.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace tarmac::cuda {

/// Elements one block sorts at once (a power of two).
inline constexpr int64_t kTopKChunk = 4096;
/// Largest K for rows longer than one chunk (so each round at least halves the candidates).
inline constexpr int64_t kTopKMaxSplitK = kTopKChunk / 2;

/// Candidates per row after each merge round for a row of n elements (empty when n fits one
/// chunk).
struct TopKRounds {
  int64_t count = 0;
  int64_t length[32] = {};  // length[r]: candidates per row entering round r + 1
};
TopKRounds topk_rounds(int64_t n, int64_t k);

size_t topk_workspace_bytes(DType dtype, int64_t rows, const TopKRounds& rounds);

/// x: [outer, n, inner]; values (dtype) and indices (int64): [outer, k, inner].
cudaError_t launch_topk(DType dtype, bool largest, int64_t outer, int64_t n, int64_t inner,
                        int64_t k, const TopKRounds& rounds, const void* x, void* values,
                        void* indices, void* workspace, cudaStream_t stream);

}  // namespace tarmac::cuda

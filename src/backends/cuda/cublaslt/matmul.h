// A row-major (strided-batched) GEMM through cuBLASLt:
//   D[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]   (then the epilogue)
// with A [m, k] (stored [k, m] when trans_a), B [k, n] (stored [n, k] when trans_b), C and D
// [m, n], all row-major and contiguous per batch. cuBLASLt is column-major, so the plan
// computes D^T = op(B)^T op(A)^T: a row-major matrix is its transpose in column-major order.
//
//   lt::MatmulPlan p(shape);                       // host only
//   p.initialize(handle, workspace_bytes);         // descriptors + heuristic (no launches)
//   p.run(handle, stream, args);                   // enqueue; no synchronization
#pragma once

#include <cublasLt.h>

#include <cstdint>
#include <string>

#include "core/status.h"

namespace tarmac::cuda::lt {

struct MatmulShape {
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  int64_t batch = 1;
  // Elements between consecutive batches; 0 repeats one matrix for every batch.
  int64_t stride_a = 0, stride_b = 0, stride_c = 0, stride_d = 0;
  cudaDataType_t dtype = CUDA_R_32F;  // A, B, C, D (and the bias)
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  /// CUBLASLT_EPILOGUE_DEFAULT, _BIAS, _RELU, _RELU_BIAS or _GELU_BIAS: the bias is one value
  /// per column of row-major D ([n]), shared by every batch.
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  /// Which of the heuristic's ranked algorithms (for aligned operands) to use: the builder's
  /// tactic "cublaslt_heuristic=N" (tactic_name); 0 = the heuristic's first choice.
  int heuristic_index = 0;
};

/// Algorithms the heuristic is asked for: the tactic candidates of a GEMM.
inline constexpr int kMaxHeuristicCandidates = 8;
/// "cublaslt_heuristic=N" <-> N (0 for anything else).
std::string tactic_name(int heuristic_index);
int heuristic_index_of(const std::string& tactic);

struct MatmulArgs {
  const void* a = nullptr;
  const void* b = nullptr;
  const void* c = nullptr;  // nullptr: beta must be 0
  void* d = nullptr;
  const void* bias = nullptr;
  double alpha = 1, beta = 0;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

class MatmulPlan {
 public:
  MatmulPlan() = default;
  explicit MatmulPlan(const MatmulShape& s) : s_(s) {}
  ~MatmulPlan();
  MatmulPlan(const MatmulPlan&) = delete;
  MatmulPlan& operator=(const MatmulPlan&) = delete;

  /// Creates the descriptors and asks the heuristic for an algorithm using at most
  /// `max_workspace` bytes: one for 16-byte aligned pointers and one for element alignment
  /// (either may be missing, not both).
  Status initialize(cublasLtHandle_t h, size_t max_workspace);
  /// Enqueues one product (all batches) on `stream`.
  Status run(cublasLtHandle_t h, cudaStream_t stream, const MatmulArgs& a) const;
  const MatmulShape& shape() const { return s_; }
  /// After initialize: how many ranked algorithms the heuristic offered for aligned operands,
  /// and which one the plan uses.
  int candidates() const { return candidates_; }
  int chosen() const { return chosen_; }

 private:
  MatmulShape s_;
  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t a_ = nullptr, b_ = nullptr, c_ = nullptr;
  cublasLtMatmulAlgo_t aligned_{}, unaligned_{};
  size_t aligned_bytes_ = 0, unaligned_bytes_ = 0;
  bool has_aligned_ = false, has_unaligned_ = false;
  int candidates_ = 0, chosen_ = 0;
};

}  // namespace tarmac::cuda::lt

#include "backends/cuda/cublaslt/matmul.h"

#include <cstdint>
#include <memory>

#include "backends/cuda/cuda_common.h"

namespace tarmac::cuda::lt {

namespace {

Status make_layout(cublasLtMatrixLayout_t* l, cudaDataType_t t, int64_t rows, int64_t cols,
                   int64_t ld, int64_t batch, int64_t stride) {
  TARMAC_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(l, t, static_cast<uint64_t>(rows),
                                                 static_cast<uint64_t>(cols), ld));
  if (batch > 1) {
    const int32_t count = static_cast<int32_t>(batch);
    TARMAC_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                         &count, sizeof(count)));
    TARMAC_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(
        *l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
  }
  return Status::ok();
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

}  // namespace

MatmulPlan::~MatmulPlan() {
  if (a_) cublasLtMatrixLayoutDestroy(a_);
  if (b_) cublasLtMatrixLayoutDestroy(b_);
  if (c_) cublasLtMatrixLayoutDestroy(c_);
  if (desc_) cublasLtMatmulDescDestroy(desc_);
}

Status MatmulPlan::initialize(cublasLtHandle_t h, size_t max_workspace) {
  const bool f64 = s_.compute == CUBLAS_COMPUTE_64F;
  TARMAC_CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc_, s_.compute, f64 ? CUDA_R_64F : CUDA_R_32F));
  // Column-major view: D^T [n, m] = op(B)^T [n, k] * op(A)^T [k, m].
  const cublasOperation_t op_a = s_.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = s_.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  TARMAC_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof(op_a)));
  TARMAC_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof(op_b)));
  if (s_.epilogue != CUBLASLT_EPILOGUE_DEFAULT) {
    TARMAC_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                                       &s_.epilogue, sizeof(s_.epilogue)));
  }
  // Our B buffer is the column-major left operand, our A buffer the right one.
  TARMAC_RETURN_IF_ERROR(make_layout(&a_, s_.dtype, s_.trans_b ? s_.k : s_.n,
                                     s_.trans_b ? s_.n : s_.k, s_.trans_b ? s_.k : s_.n, s_.batch,
                                     s_.stride_b));
  TARMAC_RETURN_IF_ERROR(make_layout(&b_, s_.dtype, s_.trans_a ? s_.m : s_.k,
                                     s_.trans_a ? s_.k : s_.m, s_.trans_a ? s_.m : s_.k, s_.batch,
                                     s_.stride_a));
  TARMAC_RETURN_IF_ERROR(make_layout(&c_, s_.dtype, s_.n, s_.m, s_.n, s_.batch, s_.stride_d));
  if (s_.stride_c != s_.stride_d && s_.batch > 1)
    return internal_error("cuBLASLt plan: C and D must share one batch stride");

  // `want` ranked results are requested; the one at `index` is taken (the first when fewer).
  auto pick = [&](uint32_t align, int want, int index, cublasLtMatmulAlgo_t* algo, size_t* bytes,
                  int* offered, int* taken) -> Status {
    cublasLtMatmulPreference_t pref = nullptr;
    TARMAC_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    std::unique_ptr<cublasLtMatmulPreferenceOpaque_t,
                    cublasStatus_t (*)(cublasLtMatmulPreference_t)>
        guard(pref, &cublasLtMatmulPreferenceDestroy);
    const uint64_t ws = max_workspace;
    TARMAC_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
    for (auto attr :
         {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
          CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES}) {
      TARMAC_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attr, &align, sizeof(align)));
    }
    cublasLtMatmulHeuristicResult_t results[kMaxHeuristicCandidates] = {};
    int returned = 0;
    TARMAC_CUBLAS_CHECK(
        cublasLtMatmulAlgoGetHeuristic(h, desc_, a_, b_, c_, c_, pref, want, results, &returned));
    int usable = 0;
    while (usable < returned && results[usable].state == CUBLAS_STATUS_SUCCESS) ++usable;
    if (usable == 0)
      return unsupported("cuBLASLt has no algorithm for m={} n={} k={} batch={} (alignment {})",
                         s_.m, s_.n, s_.k, s_.batch, align);
    const int i = index >= 0 && index < usable ? index : 0;
    *algo = results[i].algo;
    *bytes = results[i].workspaceSize;
    *offered = usable;
    *taken = i;
    return Status::ok();
  };
  uint32_t elem = 4;
  if (s_.dtype == CUDA_R_16F || s_.dtype == CUDA_R_16BF) elem = 2;
  if (s_.dtype == CUDA_R_64F) elem = 8;
  int unused_offered = 0, unused_taken = 0;
  const Status aligned = pick(16, kMaxHeuristicCandidates, s_.heuristic_index, &aligned_,
                              &aligned_bytes_, &candidates_, &chosen_);
  const Status unaligned =
      pick(elem, 1, 0, &unaligned_, &unaligned_bytes_, &unused_offered, &unused_taken);
  has_aligned_ = aligned.is_ok();
  has_unaligned_ = unaligned.is_ok();
  if (!has_aligned_ && !has_unaligned_) return aligned;
  return Status::ok();
}

Status MatmulPlan::run(cublasLtHandle_t h, cudaStream_t stream, const MatmulArgs& a) const {
  if (s_.epilogue != CUBLASLT_EPILOGUE_DEFAULT && s_.epilogue != CUBLASLT_EPILOGUE_RELU) {
    TARMAC_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                       &a.bias, sizeof(a.bias)));
  }
  const void* c = a.c ? a.c : a.d;
  const bool aligned =
      aligned16(a.a) && aligned16(a.b) && aligned16(c) && aligned16(a.d) && aligned16(a.workspace);
  if (!has_unaligned_ && !aligned)
    return internal_error("cuBLASLt has no algorithm for operands that are not 16-byte aligned");
  const bool use_aligned = aligned && has_aligned_;
  const cublasLtMatmulAlgo_t* algo = use_aligned ? &aligned_ : &unaligned_;
  const size_t need = use_aligned ? aligned_bytes_ : unaligned_bytes_;
  if (need > a.workspace_bytes)
    return internal_error("cuBLASLt algorithm needs {} workspace bytes, {} given", need,
                          a.workspace_bytes);
  const float alpha_f = static_cast<float>(a.alpha), beta_f = static_cast<float>(a.beta);
  const bool f64 = s_.compute == CUBLAS_COMPUTE_64F;
  const void* alpha = f64 ? static_cast<const void*>(&a.alpha) : &alpha_f;
  const void* beta = f64 ? static_cast<const void*>(&a.beta) : &beta_f;
  // Column-major left operand: our B; right operand: our A.
  TARMAC_CUBLAS_CHECK(cublasLtMatmul(h, desc_, alpha, a.b, a_, a.a, b_, beta, c, c_, a.d, c_, algo,
                                     a.workspace, a.workspace_bytes, stream));
  return Status::ok();
}

std::string tactic_name(int heuristic_index) {
  return "cublaslt_heuristic=" + std::to_string(heuristic_index);
}

int heuristic_index_of(const std::string& tactic) {
  const std::string prefix = "cublaslt_heuristic=";
  if (tactic.rfind(prefix, 0) != 0) return 0;
  int v = 0;
  for (size_t i = prefix.size(); i < tactic.size(); ++i) {
    if (tactic[i] < '0' || tactic[i] > '9' || v > 1000) return 0;
    v = v * 10 + (tactic[i] - '0');
  }
  return v;
}

}  // namespace tarmac::cuda::lt

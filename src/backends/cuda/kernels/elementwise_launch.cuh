// Launchers of the elementwise family. Plain data only (no Status, no IR types) so both the
// .cu files and the host factories (elementwise*.cc) include it; each launcher returns the
// launch's cudaError_t and launches nothing for empty tensors.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "backends/cuda/kernels/shape.h"
#include "core/dtype.h"

namespace tarmac::cuda::ew {

/// Elementwise indexing of N inputs against the output: when `flat`, every input has the
/// output's element count and input offset == output index; otherwise `out` holds the
/// collapsed output dims and in[k] input k's strides along them (0 on broadcast axes).
template <int N>
struct BroadcastLayout {
  static_assert(N >= 1 && N <= 8, "1 to 8 inputs per launch");
  int64_t numel = 0;
  int32_t flat = 0;
  Shape8 out;
  Shape8 in[N];
};

/// Collapses numpy broadcasting of `ins` onto `out` into at most kMaxRank dims: output dims of
/// size 1 are dropped and adjacent dims merge where every input is contiguous across them
/// (same-shape operands become one dim, [N,C,H,W] + [1,C,1,1] walks [N, C, H*W]). Each input
/// must broadcast to `out` (the caller checks). False when more than kMaxRank dims remain.
inline bool collapse_broadcast(const std::vector<int64_t>& out,
                               const std::vector<std::vector<int64_t>>& ins, Shape8* out8,
                               Shape8* strides) {
  const size_t r = out.size();
  const size_t n = ins.size();
  std::vector<std::vector<int64_t>> full(n, std::vector<int64_t>(r, 0));
  for (size_t k = 0; k < n; ++k) {
    const std::vector<int64_t>& d = ins[k];
    const size_t off = r - d.size();
    int64_t s = 1;
    for (size_t i = d.size(); i-- > 0;) {
      full[k][off + i] = d[i] == 1 ? 0 : s;
      s *= d[i];
    }
  }
  std::vector<int64_t> dims;
  std::vector<std::vector<int64_t>> st(n);
  for (size_t i = 0; i < r; ++i) {
    if (out[i] == 1) continue;
    if (!dims.empty()) {
      bool merge = true;
      for (size_t k = 0; k < n; ++k)
        if (st[k].back() != full[k][i] * out[i]) merge = false;
      if (merge) {
        dims.back() *= out[i];
        for (size_t k = 0; k < n; ++k) st[k].back() = full[k][i];
        continue;
      }
    }
    dims.push_back(out[i]);
    for (size_t k = 0; k < n; ++k) st[k].push_back(full[k][i]);
  }
  if (dims.empty()) {
    dims.push_back(1);
    for (size_t k = 0; k < n; ++k) st[k].push_back(0);
  }
  if (dims.size() > static_cast<size_t>(kMaxRank)) return false;
  to_shape8(dims, out8);
  for (size_t k = 0; k < n; ++k) to_shape8(st[k], &strides[k]);
  return true;
}

/// BroadcastLayout of `ins` (N of them) onto `out`; false when the collapsed rank is too high.
template <int N>
bool make_broadcast_layout(const std::vector<int64_t>& out,
                           const std::vector<std::vector<int64_t>>& ins, BroadcastLayout<N>* l) {
  if (ins.size() != static_cast<size_t>(N)) return false;
  int64_t total = 1;
  for (int64_t d : out) total *= d;
  l->numel = total;
  l->flat = 1;
  for (const auto& d : ins) {
    int64_t e = 1;
    for (int64_t v : d) e *= v;
    if (e != total) l->flat = 0;
  }
  return collapse_broadcast(out, ins, &l->out, l->in);
}

// ---- unary ------------------------------------------------------------------------------

enum class UnaryOp : int32_t {
  kAbs,
  kNeg,
  kSign,
  kRelu,
  kCeil,
  kFloor,
  kRound,
  kReciprocal,
  kSqrt,
  kExp,
  kLog,
  kCos,
  kSin,
  kTanh,
  kErf,
  kSigmoid,
  kSoftplus,
  kElu,          // alpha
  kSelu,         // alpha, beta = gamma
  kLeakyRelu,    // alpha
  kHardSigmoid,  // alpha, beta
  kHardSwish,
  kGelu,
  kGeluTanh,
  kNot,  // bool only
};

/// y[i] = op(x[i]) over n elements of `dtype` (x and y may alias).
cudaError_t launch_unary(UnaryOp op, DType dtype, const void* x, void* y, int64_t n, float alpha,
                         float beta, cudaStream_t stream);

/// data[i] = apply_activation_device(act, data[i], alpha, beta) for float32/float16/bfloat16;
/// `act` is static_cast<int>(tarmac::Activation).
cudaError_t launch_activation_raw(DType dtype, void* data, int64_t n, int act, float alpha,
                                  float beta, cudaStream_t stream);

// ---- binary -----------------------------------------------------------------------------

enum class BinaryOp : int32_t {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kModFmod,  // Mod fmod=1: C remainder (sign of the dividend)
  kModPy,    // Mod fmod=0: sign of the divisor
  kPRelu,    // a = X, b = slope
  kEqual,    // -> bool
  kLess,
  kLessOrEqual,
  kGreater,
  kGreaterOrEqual,
  kAnd,  // bool -> bool
  kOr,
  kXor,
};

/// True for the ops whose output is bool.
inline bool binary_outputs_bool(BinaryOp op) { return op >= BinaryOp::kEqual; }

/// y = op(a, b) with a and b of `dtype`; y is bool for comparisons and logic, else `dtype`.
cudaError_t launch_binary(BinaryOp op, DType dtype, const void* a, const void* b, void* y,
                          const BroadcastLayout<2>& l, cudaStream_t stream);

/// y = a ^ b (base dtype `base`, exponent dtype `exponent`; y has the base's dtype).
cudaError_t launch_pow(DType base, DType exponent, const void* a, const void* b, void* y,
                       const BroadcastLayout<2>& l, cudaStream_t stream);

// ---- variadic, Where, Clip, Cast --------------------------------------------------------

enum class VariadicOp : int32_t { kSum, kMean, kMax, kMin };
inline constexpr int kMaxVariadicInputs = 8;

/// One launch's share of a variadic op: up to kMaxVariadicInputs inputs with their strides
/// along the (collapsed) output dims `out`.
struct VariadicChunk {
  int32_t count = 0;
  int32_t flat = 0;  // every input of the chunk has the output's element count
  int64_t numel = 0;
  Shape8 out;
  const void* in[kMaxVariadicInputs] = {};
  Shape8 strides[kMaxVariadicInputs];
};

/// Folds the chunk's inputs into the accumulator, elementwise in input order. The accumulator
/// has the compute type (float for float16/bfloat16, else `dtype`) and the output's dims:
/// `acc_in` (nullptr: start from the chunk's first input) is read, then the result goes to
/// `acc_out` or, when acc_out is nullptr, divided by `mean_count` (kMean) and stored to y.
cudaError_t launch_variadic(VariadicOp op, DType dtype, const VariadicChunk& chunk,
                            const void* acc_in, void* acc_out, void* y, double mean_count,
                            cudaStream_t stream);

/// out = cond ? x : y with elements of `elem_bytes` (1, 2, 4 or 8) bytes; inputs in the
/// order cond, x, y.
cudaError_t launch_where(size_t elem_bytes, const bool* cond, const void* x, const void* y,
                         void* out, const BroadcastLayout<3>& l, cudaStream_t stream);

/// Clip bounds: a device scalar of the input's dtype (`lo`/`hi`, opset >= 11) or an attribute
/// value (`has_lo_attr`/`lo_attr`, opset < 11); neither means the type's lowest/max.
struct ClipBounds {
  const void* lo = nullptr;
  const void* hi = nullptr;
  int32_t has_lo_attr = 0, has_hi_attr = 0;
  double lo_attr = 0, hi_attr = 0;
};
cudaError_t launch_clip(DType dtype, const void* x, void* y, int64_t n, const ClipBounds& b,
                        cudaStream_t stream);

/// y = cast of x, element by element, with Tensor::cast's rules (see elementwise_misc.cu).
cudaError_t launch_cast(DType from, DType to, const void* x, void* y, int64_t n,
                        cudaStream_t stream);

/// y[i] = 1 (true for bool) over n elements of `dtype` (Dropout's mask).
cudaError_t launch_fill_one(DType dtype, void* y, int64_t n, cudaStream_t stream);

// ---- QuantizeLinear / DequantizeLinear --------------------------------------------------

/// Maps an element of x to its scale/zero point: per tensor, per axis or blocked (opset 21).
struct QuantParams {
  int32_t kind = 0;  // 0 tensor, 1 axis, 2 blocked
  int64_t axis_len = 1, inner = 1, block = 1, scale_len = 1;
  const void* scale = nullptr;  // device, dtype scale_dtype
  DType scale_dtype = DType::kFloat32;
  const void* zero_point = nullptr;  // device or nullptr
  DType zero_point_dtype = DType::kUint8;
  int32_t zero_point_scalar = 0;  // zero point has one element (used for every scale)
};

/// y (q: uint8 or int8) = saturate(round_half_even(x / scale) + zero_point); NaN -> zero point.
/// `wide` computes in double (x or scale is float64).
cudaError_t launch_quantize(DType x_dtype, DType q, bool wide, const void* x, void* y, int64_t n,
                            const QuantParams& p, cudaStream_t stream);
/// y = (x - zero_point) * scale; x uint8/int8/int32, y float32/float16/bfloat16/float64.
cudaError_t launch_dequantize(DType x_dtype, DType y_dtype, const void* x, void* y, int64_t n,
                              const QuantParams& p, cudaStream_t stream);

}  // namespace tarmac::cuda::ew

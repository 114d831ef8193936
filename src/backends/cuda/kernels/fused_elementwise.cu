// FusedElementwise kernels: each thread loads its output element's inputs (broadcast), runs
// the node's register program in float and stores the result once in the storage type. The
// formulas are those of ir/elementwise_program.h's ew_apply (the CPU reference), written with
// CUDA's float functions.
#include "backends/cuda/kernels/elementwise_device.cuh"
#include "backends/cuda/kernels/fused_elementwise.cuh"

namespace tarmac::cuda {
namespace {

using ew::first_index;
using ew::grid_stride;
using ew::kThreadsPerBlock;

constexpr int kRegs = kFusedEwMaxRegisters;
constexpr int kLanes = 4;  // elements per thread on the vectorized path

/// One instruction's value: x is operand a; y is operand b (binary ops) or the first
/// parameter; z the second parameter.
__device__ __forceinline__ float fused_apply(FusedEwOp op, float x, float y, float z) {
  switch (op) {
    case FusedEwOp::kNeg:
      return -x;
    case FusedEwOp::kAbs:
      return fabsf(x);
    case FusedEwOp::kExp:
      return expf(x);
    case FusedEwOp::kLog:
      return logf(x);
    case FusedEwOp::kSqrt:
      return sqrtf(x);
    case FusedEwOp::kReciprocal:
      return 1.f / x;
    case FusedEwOp::kSigmoid: {
      // Two branches keep expf() from overflowing for large |x|.
      if (x >= 0.f) return 1.f / (1.f + expf(-x));
      const float e = expf(x);
      return e / (1.f + e);
    }
    case FusedEwOp::kTanh:
      return tanhf(x);
    case FusedEwOp::kRelu:
      return x > 0.f ? x : 0.f;
    case FusedEwOp::kErf:
      return erff(x);
    case FusedEwOp::kFloor:
      return floorf(x);
    case FusedEwOp::kCeil:
      return ceilf(x);
    case FusedEwOp::kSin:
      return sinf(x);
    case FusedEwOp::kCos:
      return cosf(x);
    case FusedEwOp::kSoftplus:
      return x > 0.f ? x + log1pf(expf(-x)) : log1pf(expf(x));
    case FusedEwOp::kHardSigmoid:
      if (x != x) return x;  // NaN stays NaN, as in the CPU reference
      return ew::std_max(0.f, ew::std_min(1.f, y * x + z));
    case FusedEwOp::kHardSwish:
      return x * ew::std_max(0.f, ew::std_min(1.f, x / 6.f + 0.5f));
    case FusedEwOp::kLeakyRelu:
      return x < 0.f ? y * x : x;
    case FusedEwOp::kElu:
      return x < 0.f ? y * expm1f(x) : x;
    case FusedEwOp::kClip: {
      const float c = x < y ? y : x;
      return c > z ? z : c;
    }
    case FusedEwOp::kAdd:
      return x + y;
    case FusedEwOp::kSub:
      return x - y;
    case FusedEwOp::kMul:
      return x * y;
    case FusedEwOp::kDiv:
      return x / y;
    case FusedEwOp::kPow:
      // The CPU Pow squares for an exponent of 2 (exact, and what pow() rounds to).
      return y == 2.f ? x * x : powf(x, y);
    case FusedEwOp::kMax:
      return ew::nan_max(x, y);
    case FusedEwOp::kMin:
      return ew::nan_min(x, y);
  }
  return x;
}

// The register file stays in hardware registers only if every access names a compile-time
// index (a dynamically indexed array would be placed in local memory), so reads and writes go
// through a switch over the register number. The program is the same for every thread of the
// grid, so the switch is a uniform branch, not divergence.
#define TARMAC_FUSED_REG_CASES(X) \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
static_assert(kRegs == 16, "TARMAC_FUSED_REG_CASES lists kFusedEwMaxRegisters cases");

template <int V>
__device__ __forceinline__ void read_reg(const float (&r)[kRegs][V], int i, float (&out)[V]) {
  switch (i) {
#define TARMAC_FUSED_READ(k)                                        \
  case k:                                                           \
    _Pragma("unroll") for (int l = 0; l < V; ++l) out[l] = r[k][l]; \
    break;
    TARMAC_FUSED_REG_CASES(TARMAC_FUSED_READ)
#undef TARMAC_FUSED_READ
    default:
      break;
  }
}

template <int V>
__device__ __forceinline__ void write_reg(float (&r)[kRegs][V], int i, const float (&v)[V]) {
  switch (i) {
#define TARMAC_FUSED_WRITE(k)                                     \
  case k:                                                         \
    _Pragma("unroll") for (int l = 0; l < V; ++l) r[k][l] = v[l]; \
    break;
    TARMAC_FUSED_REG_CASES(TARMAC_FUSED_WRITE)
#undef TARMAC_FUSED_WRITE
    default:
      break;
  }
}

/// Operand `v` for every lane: a register, or a constant broadcast to all lanes.
template <int V>
__device__ __forceinline__ void read_operand(const FusedEwParams& p, const float (&r)[kRegs][V],
                                             int v, float (&out)[V]) {
  if (v < 0) {
    const float c = p.constants[-1 - v];
#pragma unroll
    for (int l = 0; l < V; ++l) out[l] = c;
  } else {
    read_reg<V>(r, v, out);
  }
}

/// Runs the program over V lanes whose inputs are in registers 0 .. num_inputs - 1; the
/// result is left in register p.result.
template <int V>
__device__ __forceinline__ void run_program(const FusedEwParams& p, float (&r)[kRegs][V]) {
  for (int k = 0; k < p.num_instructions; ++k) {
    const FusedEwInstruction in = p.code[k];
    float x[V], y[V], out[V];
    read_operand<V>(p, r, in.a, x);
    // Binary ops read b like a; parametric unary ops have b < 0 naming their first parameter;
    // other unary ops ignore it (b = 0 reads register 0, always defined).
    read_operand<V>(p, r, in.b, y);
    const bool two_params = in.op == FusedEwOp::kHardSigmoid || in.op == FusedEwOp::kClip;
    const float z = two_params ? p.constants[-in.b] : 0.f;
#pragma unroll
    for (int l = 0; l < V; ++l) out[l] = fused_apply(in.op, x[l], y[l], z);
    write_reg<V>(r, in.dst, out);
  }
}

/// kLanes consecutive elements of T, loaded and stored as one access.
template <typename T>
struct alignas(kLanes * sizeof(T)) Lanes {
  T v[kLanes];
};

// in[k]: broadcast to out (or [numel] when flat); y: [numel]
template <typename T>
__global__ void fused_ew_kernel(const __grid_constant__ FusedEwParams p) {
  for (int64_t i = first_index(); i < p.numel; i += grid_stride()) {
    int64_t off[kFusedEwMaxInputs];
    if (p.flat) {
#pragma unroll
      for (int k = 0; k < kFusedEwMaxInputs; ++k) off[k] = i;
    } else {
      ew::broadcast_offsets<kFusedEwMaxInputs>(i, p.out, p.strides, p.num_inputs, off);
    }
    float r[kRegs][1];
#pragma unroll
    for (int k = 0; k < kFusedEwMaxInputs; ++k)
      if (k < p.num_inputs) r[k][0] = load(static_cast<const T*>(p.in[k])[off[k]]);
    run_program<1>(p, r);
    float out[1];
    read_reg<1>(r, p.result, out);
    static_cast<T*>(p.y)[i] = store<T>(out[0]);
  }
}

// in[k], y: [numel], every pointer aligned to sizeof(Lanes<T>). Each thread runs the program
// on kLanes elements at once (vector loads and stores, the decode paid once per kLanes); the
// last numel % kLanes elements go one per thread. Unbounded, the kLanes-wide register file
// takes 134 registers (one block of 256 threads per SM); capped at 128 it still does not
// spill and two blocks fit.
template <typename T>
__global__ void __launch_bounds__(kThreadsPerBlock, 2)
    fused_ew_flat_kernel(const __grid_constant__ FusedEwParams p) {
  const int64_t groups = p.numel / kLanes;
  for (int64_t g = first_index(); g < groups; g += grid_stride()) {
    float r[kRegs][kLanes];
#pragma unroll
    for (int k = 0; k < kFusedEwMaxInputs; ++k) {
      if (k < p.num_inputs) {
        const Lanes<T> v = static_cast<const Lanes<T>*>(p.in[k])[g];
#pragma unroll
        for (int l = 0; l < kLanes; ++l) r[k][l] = load(v.v[l]);
      }
    }
    run_program<kLanes>(p, r);
    float out[kLanes];
    read_reg<kLanes>(r, p.result, out);
    Lanes<T> v;
#pragma unroll
    for (int l = 0; l < kLanes; ++l) v.v[l] = store<T>(out[l]);
    static_cast<Lanes<T>*>(p.y)[g] = v;
  }
  const int64_t i = groups * kLanes + first_index();
  if (i < p.numel) {
    float r[kRegs][1];
#pragma unroll
    for (int k = 0; k < kFusedEwMaxInputs; ++k)
      if (k < p.num_inputs) r[k][0] = load(static_cast<const T*>(p.in[k])[i]);
    run_program<1>(p, r);
    float out[1];
    read_reg<1>(r, p.result, out);
    static_cast<T*>(p.y)[i] = store<T>(out[0]);
  }
}

template <typename T>
bool lanes_aligned(const FusedEwParams& p) {
  auto ok = [](const void* q) { return reinterpret_cast<uintptr_t>(q) % sizeof(Lanes<T>) == 0; };
  if (!ok(p.y)) return false;
  for (int k = 0; k < p.num_inputs; ++k)
    if (!ok(p.in[k])) return false;
  return true;
}

}  // namespace

cudaError_t launch_fused_elementwise(DType dtype, const FusedEwParams& p, cudaStream_t stream) {
  if (p.numel <= 0) return cudaSuccess;
  if (p.num_inputs < 1 || p.num_inputs > kFusedEwMaxInputs || p.num_instructions < 1 ||
      p.num_instructions > kFusedEwMaxInstructions || p.result < 0 || p.result >= kRegs)
    return cudaErrorInvalidValue;
  return ew::dispatch(dtype, [&](auto tag) -> cudaError_t {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, float> && !ew::kIsHalf<T>) {
      return cudaErrorInvalidValue;
    } else {
      if (p.flat && lanes_aligned<T>(p)) {
        const int64_t groups = p.numel / kLanes;
        fused_ew_flat_kernel<T>
            <<<ew::grid_for(groups > 0 ? groups : 1), kThreadsPerBlock, 0, stream>>>(p);
      } else {
        fused_ew_kernel<T><<<ew::grid_for(p.numel), kThreadsPerBlock, 0, stream>>>(p);
      }
      return cudaGetLastError();
    }
  });
}

}  // namespace tarmac::cuda

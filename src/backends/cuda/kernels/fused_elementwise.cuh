// FusedElementwise on the GPU (ir/elementwise_program.h): the kernel's parameter block and its
// launcher. Plain data only (no Status, no IR types) so both fused_elementwise.cu and the host
// factory fused_elementwise.cc include it.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/shape.h"
#include "core/dtype.h"

namespace tarmac::cuda {

// Mirrors of ir/elementwise_program.h, which nvcc cannot compile (it uses Status);
// fused_elementwise.cc static_asserts that every number matches.
inline constexpr int kFusedEwMaxInputs = 8;
inline constexpr int kFusedEwMaxInstructions = 32;
inline constexpr int kFusedEwMaxConstants = 64;
inline constexpr int kFusedEwMaxRegisters = 16;

enum class FusedEwOp : int8_t {
  kNeg = 0,
  kAbs = 1,
  kExp = 2,
  kLog = 3,
  kSqrt = 4,
  kReciprocal = 5,
  kSigmoid = 6,
  kTanh = 7,
  kRelu = 8,
  kErf = 9,
  kFloor = 10,
  kCeil = 11,
  kSin = 12,
  kCos = 13,
  kSoftplus = 14,
  kHardSigmoid = 15,  // alpha, beta = constants[-1 - b], constants[-b]
  kHardSwish = 16,
  kLeakyRelu = 17,  // alpha = constants[-1 - b]
  kElu = 18,        // alpha = constants[-1 - b]
  kClip = 19,       // min, max = constants[-1 - b], constants[-b]
  kAdd = 20,
  kSub = 21,
  kMul = 22,
  kDiv = 23,
  kPow = 24,
  kMax = 25,
  kMin = 26,
};

/// One instruction: operands a, b are a register (>= 0) or constants[-1 - operand]; the
/// result goes to register dst.
struct FusedEwInstruction {
  FusedEwOp op = FusedEwOp::kNeg;
  int8_t a = 0, b = 0, dst = 0;
};

/// Everything one launch needs, passed by value as the kernel parameter (about 1.1 KB, under
/// the 4 KB limit), so each node carries its own program and nothing global is shared.
struct FusedEwParams {
  int32_t num_inputs = 0;
  int32_t num_instructions = 0;
  int32_t result = 0;  // register holding the output after the last instruction
  int32_t flat = 0;    // every input has the output's element count: offset == output index
  int64_t numel = 0;
  Shape8 out;                         // collapsed output dims
  Shape8 strides[kFusedEwMaxInputs];  // input k's strides along `out`, 0 on broadcast axes
  const void* in[kFusedEwMaxInputs] = {};
  void* y = nullptr;
  FusedEwInstruction code[kFusedEwMaxInstructions] = {};
  float constants[kFusedEwMaxConstants] = {};
};

/// y = program(in[0..num_inputs)) elementwise for float32, float16 or bfloat16 data (all
/// inputs and y of `dtype`), computed in float and rounded once. Launches nothing when numel
/// is 0; cudaErrorInvalidValue for other dtypes.
cudaError_t launch_fused_elementwise(DType dtype, const FusedEwParams& p, cudaStream_t stream);

}  // namespace tarmac::cuda

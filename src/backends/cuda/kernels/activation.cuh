// Device form of tarmac::Activation (src/ir/fused_ops.h) for fused epilogues: the same
// formulas as apply_activation, computed in float. `act` is static_cast<int>(Activation); the
// kAct* constants below mirror the enum (elementwise.cc static_asserts that they match, since
// fused_ops.h itself cannot be compiled by nvcc under -Werror).
#pragma once

#include <cuda_runtime.h>

namespace tarmac::cuda {

inline constexpr int kActNone = 0;
inline constexpr int kActRelu = 1;
inline constexpr int kActClip = 2;         // alpha = min, beta = max
inline constexpr int kActLeakyRelu = 3;    // alpha
inline constexpr int kActSigmoid = 4;      //
inline constexpr int kActHardSigmoid = 5;  // alpha, beta
inline constexpr int kActHardSwish = 6;
inline constexpr int kActSilu = 7;
inline constexpr int kActGelu = 8;
inline constexpr int kActGeluTanh = 9;
inline constexpr int kActMish = 10;
inline constexpr int kActTanh = 11;
inline constexpr int kActCount = 12;

__device__ __forceinline__ float apply_activation_device(int act, float x, float alpha,
                                                         float beta) {
  switch (act) {
    case kActRelu:
      return x > 0.f ? x : 0.f;
    case kActClip:
      return x < alpha ? alpha : (x > beta ? beta : x);
    case kActLeakyRelu:
      return x < 0.f ? alpha * x : x;
    case kActSigmoid:
      return 1.f / (1.f + expf(-x));
    case kActHardSigmoid: {
      const float y = alpha * x + beta;
      return y < 0.f ? 0.f : (y > 1.f ? 1.f : y);
    }
    case kActHardSwish: {
      const float y = x / 6.f + 0.5f;
      return x * (y < 0.f ? 0.f : (y > 1.f ? 1.f : y));
    }
    case kActSilu:
      return x / (1.f + expf(-x));
    case kActGelu:
      return 0.5f * x * (1.f + erff(x * 0.70710678118654752440f));
    case kActGeluTanh:
      return 0.5f * x * (1.f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case kActMish:
      return x * tanhf(x > 20.f ? x : log1pf(expf(x)));
    case kActTanh:
      return tanhf(x);
    default:  // kActNone
      return x;
  }
}

}  // namespace tarmac::cuda

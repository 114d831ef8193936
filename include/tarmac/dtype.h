// Element types: the one dtype table, plus float16/bfloat16 storage types.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace tarmac {

/// The numbering follows ONNX TensorProto.DataType so importers map 1:1.
enum class DType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUint8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kBFloat16 = 16,
};

/// Returns the element size in bytes, 0 for kUndefined.
size_t dtype_size(DType t);
/// "float32", "int64", ...
std::string_view dtype_name(DType t);
/// Maps an ONNX TensorProto.DataType number to DType; kUndefined if not supported.
DType dtype_from_onnx(int32_t onnx_type);
bool is_floating(DType t);
bool is_integer(DType t);  // signed or unsigned integer, not bool

/// IEEE binary16 storage.
struct Half {
  uint16_t bits = 0;
  Half() = default;
  explicit Half(float f);
  explicit operator float() const;
};

/// bfloat16 storage (upper 16 bits of a float32, round to nearest even).
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  explicit BFloat16(float f);
  explicit operator float() const;
};

float half_to_float(uint16_t h);
uint16_t float_to_half(float f);

inline float bfloat16_to_float(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t float_to_bfloat16(float f);

inline Half::Half(float f) : bits(float_to_half(f)) {}
inline Half::operator float() const { return half_to_float(bits); }
inline BFloat16::BFloat16(float f) : bits(float_to_bfloat16(f)) {}
inline BFloat16::operator float() const { return bfloat16_to_float(bits); }

template <typename T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::kFloat32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::kFloat64;
};
template <>
struct DTypeOf<Half> {
  static constexpr DType value = DType::kFloat16;
};
template <>
struct DTypeOf<BFloat16> {
  static constexpr DType value = DType::kBFloat16;
};
template <>
struct DTypeOf<int8_t> {
  static constexpr DType value = DType::kInt8;
};
template <>
struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::kUint8;
};
template <>
struct DTypeOf<int32_t> {
  static constexpr DType value = DType::kInt32;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::kInt64;
};
template <>
struct DTypeOf<bool> {
  static constexpr DType value = DType::kBool;
};

/// Calls `f(T{})` with T the C++ type of `t`. Usage:
///   dispatch_all(t.dtype(), [&](auto tag) { using T = decltype(tag); ... });
template <typename F>
decltype(auto) dispatch_all(DType t, F&& f) {
  switch (t) {
    case DType::kFloat32:
      return f(float{});
    case DType::kFloat64:
      return f(double{});
    case DType::kFloat16:
      return f(Half{});
    case DType::kBFloat16:
      return f(BFloat16{});
    case DType::kInt8:
      return f(int8_t{});
    case DType::kUint8:
      return f(uint8_t{});
    case DType::kInt32:
      return f(int32_t{});
    case DType::kInt64:
      return f(int64_t{});
    case DType::kBool:
      return f(bool{});
    default:
      return f(float{});  // callers validate dtypes before dispatching
  }
}

}  // namespace tarmac

// Tensor: a dense, row-major, host-resident array with shared storage.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace tarmac {

using Dims = std::vector<int64_t>;

/// Product of dims (1 for a scalar). Dims must be non-negative.
int64_t num_elements(const Dims& dims);
/// "1x3x416x416" ("scalar" for rank 0).
std::string dims_to_string(const Dims& dims);
/// Row-major strides in elements.
Dims row_major_strides(const Dims& dims);

class Tensor;
/// Relative L2 error of `got` against `ref` (||got - ref|| / ||ref||, absolute when ref is all
/// zeros). NaN and Inf must sit at the same positions with the same values and are then left
/// out; a dtype or shape mismatch, misplaced NaN/Inf or any integer difference gives 1e30.
double relative_l2_error(const Tensor& got, const Tensor& ref);

/// Largest single allocation tarmac makes on the host; larger requests are refused with
/// kResourceExhausted instead of being attempted. Defaults to the physical memory size.
size_t max_host_allocation_bytes();
void set_max_host_allocation_bytes(size_t bytes);

class Tensor {
 public:
  Tensor() = default;

  /// Allocates a zero-filled tensor; refuses negative dims, overflowing sizes and sizes
  /// above max_host_allocation_bytes().
  static StatusOr<Tensor> create(DType dtype, Dims dims);
  /// Same as create() for internal use where the size is already validated.
  static Tensor zeros(DType dtype, Dims dims);
  /// A tensor over existing storage of at least dtype_size * numel bytes, kept alive by
  /// `storage` (an aliasing pointer into a larger buffer, e.g. a loaded plan section).
  static Tensor wrap(DType dtype, Dims dims, std::shared_ptr<uint8_t[]> storage);
  /// 0-d or 1-d helpers.
  template <typename T>
  static Tensor from_vector(const std::vector<T>& v, Dims dims) {
    Tensor t = zeros(DTypeOf<T>::value, std::move(dims));
    for (size_t i = 0; i < v.size() && i < static_cast<size_t>(t.numel()); ++i)
      t.data<T>()[i] = v[i];
    return t;
  }
  template <typename T>
  static Tensor scalar(T v) {
    return from_vector<T>({v}, {});
  }

  bool defined() const { return dtype_ != DType::kUndefined; }
  DType dtype() const { return dtype_; }
  const Dims& dims() const { return dims_; }
  int64_t dim(int i) const { return dims_[static_cast<size_t>(i < 0 ? i + rank() : i)]; }
  int rank() const { return static_cast<int>(dims_.size()); }
  int64_t numel() const { return num_elements(dims_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  void* raw() { return buffer_.get(); }
  const void* raw() const { return buffer_.get(); }
  template <typename T>
  T* data() {
    return reinterpret_cast<T*>(buffer_.get());
  }
  template <typename T>
  const T* data() const {
    return reinterpret_cast<const T*>(buffer_.get());
  }

  /// Same storage, new dims with the same element count (caller checks).
  Tensor reshaped(Dims dims) const;
  /// Deep copy.
  Tensor clone() const;
  /// Element i converted to double / int64 (any dtype); for small shape-like tensors.
  double as_double(int64_t i) const;
  int64_t as_int64(int64_t i) const;
  /// All elements as int64 (for shape, axes, pads... inputs).
  std::vector<int64_t> to_int64_vector() const;
  /// Converts to another dtype following ONNX Cast semantics for numeric types.
  Tensor cast(DType to) const;

 private:
  DType dtype_ = DType::kUndefined;
  Dims dims_;
  std::shared_ptr<uint8_t[]> buffer_;
};

/// Float compute type for a storage type: float for Half/BFloat16, T otherwise.
template <typename T>
struct ComputeType {
  using type = T;
};
template <>
struct ComputeType<Half> {
  using type = float;
};
template <>
struct ComputeType<BFloat16> {
  using type = float;
};
template <typename T>
using compute_t = typename ComputeType<T>::type;

template <typename T>
inline compute_t<T> load(T v) {
  return static_cast<compute_t<T>>(v);
}
template <typename T, typename C>
inline T store(C v) {
  return static_cast<T>(v);
}
template <>
inline Half store<Half, float>(float v) {
  return Half(v);
}
template <>
inline BFloat16 store<BFloat16, float>(float v) {
  return BFloat16(v);
}

}  // namespace tarmac

// Kernels of the tensor family that make new values: fills, Range, and small int64 writes.
#include <type_traits>

#include "backends/cuda/kernels/tensor_device.cuh"
#include "backends/cuda/kernels/tensor_fill.cuh"

namespace tarmac::cuda {

namespace {

using tensor_dev::grid_for;
using tensor_dev::kThreads;
using tensor_dev::word_t;

template <typename U>
__global__ void fill_kernel(U* __restrict__ out,  // [n]
                            U value, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    out[i] = value;
  }
}

template <int bytes>
cudaError_t fill_as(void* out, uint64_t bits, int64_t n, cudaStream_t s) {
  using U = word_t<bytes>;
  static_assert(sizeof(U) == bytes && bytes <= 8, "word size");
  fill_kernel<U><<<grid_for(n), kThreads, 0, s>>>(static_cast<U*>(out), static_cast<U>(bits), n);
  return cudaGetLastError();
}

template <typename T>
__global__ void range_kernel(const T* __restrict__ start,  // []
                             const T* __restrict__ delta,  // []
                             T* __restrict__ out,          // [n]
                             int64_t n) {
  static_assert(std::is_arithmetic_v<T>, "Range takes float, double, int32 and int64");
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    if constexpr (std::is_integral_v<T>) {
      const int64_t s = *start, d = *delta;
      out[i] = static_cast<T>(s + i * d);
    } else {
      // The CPU reference's s + i * d in double is contracted to one fused multiply-add by the
      // host compiler (x86-64-v3 and aarch64 builds); the same here, spelled out.
      const double s = *start, d = *delta;
      out[i] = static_cast<T>(__fma_rn(static_cast<double>(i), d, s));
    }
  }
}

template <typename T>
cudaError_t range_as(const void* start, const void* delta, void* out, int64_t n, cudaStream_t s) {
  range_kernel<T><<<grid_for(n), kThreads, 0, s>>>(
      static_cast<const T*>(start), static_cast<const T*>(delta), static_cast<T*>(out), n);
  return cudaGetLastError();
}

__global__ void write_int64_kernel(int64_t* __restrict__ out,  // [values.rank]
                                   Shape8 values) {
  const int k = static_cast<int>(threadIdx.x);
  if (k < values.rank) out[k] = values.d[k];
}

}  // namespace

cudaError_t launch_fill(void* out, int elem, uint64_t bits, int64_t numel, cudaStream_t stream) {
  if (numel <= 0) return cudaSuccess;
  switch (elem) {
    case 1:
      return fill_as<1>(out, bits, numel, stream);
    case 2:
      return fill_as<2>(out, bits, numel, stream);
    case 4:
      return fill_as<4>(out, bits, numel, stream);
    case 8:
      return fill_as<8>(out, bits, numel, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

cudaError_t launch_range(const void* start, const void* delta, void* out, DType dtype,
                         int64_t numel, cudaStream_t stream) {
  if (numel <= 0) return cudaSuccess;
  switch (dtype) {
    case DType::kFloat32:
      return range_as<float>(start, delta, out, numel, stream);
    case DType::kFloat64:
      return range_as<double>(start, delta, out, numel, stream);
    case DType::kInt32:
      return range_as<int32_t>(start, delta, out, numel, stream);
    case DType::kInt64:
      return range_as<int64_t>(start, delta, out, numel, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

cudaError_t launch_write_int64(void* out, const Shape8& values, cudaStream_t stream) {
  if (values.rank <= 0) return cudaSuccess;
  write_int64_kernel<<<1, kMaxRank, 0, stream>>>(static_cast<int64_t*>(out), values);
  return cudaGetLastError();
}

}  // namespace tarmac::cuda

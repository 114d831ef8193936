// Shared pieces of the CUDA backend: error checks that turn CUDA, cuDNN and cuBLAS failures
// into Status, the per-context library handles, launch-geometry helpers and RAII buffers.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdint>
#include <memory>

#include "backends/backend.h"
#include "core/status.h"

namespace tarmac::cuda {

Status cuda_error(cudaError_t e, const char* expr, const char* file, int line);
Status cudnn_error(cudnnStatus_t e, const char* expr, const char* file, int line);
Status cublas_error(cublasStatus_t e, const char* expr, const char* file, int line);

#define TARMAC_CUDA_CHECK(expr)                                                \
  do {                                                                         \
    const cudaError_t tarmac_e_ = (expr);                                      \
    if (tarmac_e_ != cudaSuccess)                                              \
      return ::tarmac::cuda::cuda_error(tarmac_e_, #expr, __FILE__, __LINE__); \
  } while (0)
#define TARMAC_CUDNN_CHECK(expr)                                                \
  do {                                                                          \
    const cudnnStatus_t tarmac_e_ = (expr);                                     \
    if (tarmac_e_ != CUDNN_STATUS_SUCCESS)                                      \
      return ::tarmac::cuda::cudnn_error(tarmac_e_, #expr, __FILE__, __LINE__); \
  } while (0)
#define TARMAC_CUBLAS_CHECK(expr)                                                \
  do {                                                                           \
    const cublasStatus_t tarmac_e_ = (expr);                                     \
    if (tarmac_e_ != CUBLAS_STATUS_SUCCESS)                                      \
      return ::tarmac::cuda::cublas_error(tarmac_e_, #expr, __FILE__, __LINE__); \
  } while (0)
/// After a kernel launch: reports launch-configuration errors.
#define TARMAC_CUDA_CHECK_LAUNCH() TARMAC_CUDA_CHECK(cudaGetLastError())

/// Library handles of one execution context (each context owns its own, bound to its stream).
struct Handles {
  cudnnHandle_t cudnn = nullptr;
  cublasLtHandle_t lt = nullptr;
};

/// Owns a Handles bundle bound to one stream.
class HandleSet {
 public:
  HandleSet() = default;
  ~HandleSet();
  HandleSet(const HandleSet&) = delete;
  HandleSet& operator=(const HandleSet&) = delete;
  static StatusOr<std::unique_ptr<HandleSet>> create(cudaStream_t stream);
  const Handles& handles() const { return h_; }

 private:
  Handles h_;
};

inline cudaStream_t stream_of(const LaunchContext& c) {
  return static_cast<cudaStream_t>(c.stream);
}
inline const Handles& handles_of(const LaunchContext& c) {
  return *static_cast<const Handles*>(c.handles);
}

/// OK when a CUDA device is usable, else kUnavailable saying why (no driver, no device).
Status device_available();
/// "NVIDIA H100 80GB HBM3 (sm_90)"
std::string device_description();

/// Blocks for a 1-D grid over n elements.
inline unsigned int blocks_for(int64_t n, int threads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned int>(
      b < 1 ? 1 : (b > (int64_t{1} << 31) - 1 ? (int64_t{1} << 31) - 1 : b));
}
inline constexpr int kThreads = 256;

/// Owned device memory.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) {
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  static StatusOr<DeviceBuffer> allocate(size_t bytes);
  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

/// Owned page-locked host memory (fast, asynchronous transfers).
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer();
  PinnedBuffer(PinnedBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) {
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  PinnedBuffer& operator=(PinnedBuffer&& o) noexcept;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  static StatusOr<PinnedBuffer> allocate(size_t bytes);
  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace tarmac::cuda

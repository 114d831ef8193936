#include "backends/cuda/cuda_common.h"

#include <fmt/format.h>

namespace tarmac::cuda {

Status cuda_error(cudaError_t e, const char* expr, const char* file, int line) {
  return internal_error("CUDA error {} ({}) in {} at {}:{}", cudaGetErrorName(e),
                        cudaGetErrorString(e), expr, file, line);
}

Status cudnn_error(cudnnStatus_t e, const char* expr, const char* file, int line) {
  return internal_error("cuDNN error {} in {} at {}:{}", cudnnGetErrorString(e), expr, file, line);
}

Status cublas_error(cublasStatus_t e, const char* expr, const char* file, int line) {
  return internal_error("cuBLAS error {} in {} at {}:{}", static_cast<int>(e), expr, file, line);
}

Status device_available() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later checks see a clean state
    return unavailable("no usable CUDA device: {}", cudaGetErrorString(e));
  }
  if (n == 0) return unavailable("no CUDA device found");
  return Status::ok();
}

std::string device_description() {
  int dev = 0;
  cudaDeviceProp p{};
  if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&p, dev) != cudaSuccess)
    return "unknown CUDA device";
  return fmt::format("{} (sm_{}{})", p.name, p.major, p.minor);
}

HandleSet::~HandleSet() {
  if (h_.cudnn) cudnnDestroy(h_.cudnn);
  if (h_.lt) cublasLtDestroy(h_.lt);
}

StatusOr<std::unique_ptr<HandleSet>> HandleSet::create(cudaStream_t stream) {
  auto set = std::make_unique<HandleSet>();
  TARMAC_CUDNN_CHECK(cudnnCreate(&set->h_.cudnn));
  TARMAC_CUDNN_CHECK(cudnnSetStream(set->h_.cudnn, stream));
  TARMAC_CUBLAS_CHECK(cublasLtCreate(&set->h_.lt));
  return set;
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cudaFree(ptr_);
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (ptr_) cudaFree(ptr_);
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

StatusOr<DeviceBuffer> DeviceBuffer::allocate(size_t bytes) {
  DeviceBuffer b;
  if (bytes == 0) return b;
  const cudaError_t e = cudaMalloc(&b.ptr_, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return resource_exhausted("cannot allocate {} bytes of device memory: {}", bytes,
                              cudaGetErrorString(e));
  }
  b.bytes_ = bytes;
  return b;
}

PinnedBuffer::~PinnedBuffer() {
  if (ptr_) cudaFreeHost(ptr_);
}

PinnedBuffer& PinnedBuffer::operator=(PinnedBuffer&& o) noexcept {
  if (this != &o) {
    if (ptr_) cudaFreeHost(ptr_);
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

StatusOr<PinnedBuffer> PinnedBuffer::allocate(size_t bytes) {
  PinnedBuffer b;
  if (bytes == 0) return b;
  const cudaError_t e = cudaMallocHost(&b.ptr_, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return resource_exhausted("cannot allocate {} bytes of pinned host memory: {}", bytes,
                              cudaGetErrorString(e));
  }
  b.bytes_ = bytes;
  return b;
}

}  // namespace tarmac::cuda

// Strided-copy plans of the CUDA tensor family: the view is simplified at build time as the
// CPU reference's copy_strided does (unit dims dropped, mergeable dims merged), then run as a
// memcpy, a tiled transpose of the last two axes, or a general strided gather.
#include <cstdlib>

#include "backends/cuda/kernels/tensor_common.h"
#include "backends/cuda/kernels/tensor_copy.cuh"

namespace tarmac::cuda {

namespace {

// The tiled transpose pays off when both tile edges are mostly filled.
constexpr int64_t kMinTiledEdge = 16;

}  // namespace

StatusOr<Shape8> shape8(const Node& n, const Dims& d, const char* what) {
  Shape8 s;
  if (!to_shape8(d, &s)) {
    return unsupported("{}: {} {} has rank {}, the CUDA kernels take rank <= {}", n.describe(),
                       what, dims_to_string(d), d.size(), kMaxRank);
  }
  return s;
}

Status check_elem(const Node& n, DType t) {
  const size_t e = dtype_size(t);
  if (e == 1 || e == 2 || e == 4 || e == 8) return Status::ok();
  return unsupported("{}: element type {} is not supported", n.describe(), dtype_name(t));
}

StatusOr<StridedCopy> plan_strided_copy(const Node& n, int elem, const Dims& in_dims,
                                        const Dims& in_strides, int64_t offset) {
  StridedCopy p;
  p.elem = elem;
  p.offset = offset;
  p.numel = num_elements(in_dims);
  if (p.numel == 0) return p;  // kNothing
  Dims dims, strides;
  for (size_t k = 0; k < in_dims.size(); ++k) {
    if (in_dims[k] == 1) continue;
    // Merge into the previous dim when stepping it equals stepping over this whole dim.
    if (!dims.empty() && strides.back() == in_strides[k] * in_dims[k]) {
      dims.back() *= in_dims[k];
      strides.back() = in_strides[k];
      continue;
    }
    dims.push_back(in_dims[k]);
    strides.push_back(in_strides[k]);
  }
  if (dims.empty() || (dims.size() == 1 && strides[0] == 1)) {
    p.kind = StridedCopy::Kind::kMemcpy;
    return p;
  }
  int64_t extent = 0;  // largest distance from the base an element is read at
  for (size_t k = 0; k < dims.size(); ++k) extent += std::llabs(strides[k]) * (dims[k] - 1);
  p.wide_index = needs_wide_index(p.numel, extent);
  const size_t r = dims.size();
  if (r >= 2 && elem <= 8 && strides[r - 2] == 1 && strides[r - 1] != 0 &&
      dims[r - 2] >= kMinTiledEdge && dims[r - 1] >= kMinTiledEdge) {
    p.kind = StridedCopy::Kind::kTiled;
    p.rows = dims[r - 2];
    p.cols = dims[r - 1];
    p.col_stride = strides[r - 1];
    TARMAC_ASSIGN_OR_RETURN(p.dims, shape8(n, Dims(dims.begin(), dims.end() - 2), "view"));
    TARMAC_ASSIGN_OR_RETURN(p.strides, shape8(n, Dims(strides.begin(), strides.end() - 2), "view"));
    return p;
  }
  p.kind = StridedCopy::Kind::kGeneral;
  TARMAC_ASSIGN_OR_RETURN(p.dims, shape8(n, dims, "view"));
  TARMAC_ASSIGN_OR_RETURN(p.strides, shape8(n, strides, "view"));
  return p;
}

Status run_strided_copy(const StridedCopy& p, const void* in_base, void* out, cudaStream_t stream) {
  const void* in = static_cast<const uint8_t*>(in_base) + p.offset * p.elem;
  switch (p.kind) {
    case StridedCopy::Kind::kNothing:
      return Status::ok();
    case StridedCopy::Kind::kMemcpy:
      if (in != out) {
        TARMAC_CUDA_CHECK(cudaMemcpyAsync(out, in, static_cast<size_t>(p.numel * p.elem),
                                          cudaMemcpyDeviceToDevice, stream));
      }
      return Status::ok();
    case StridedCopy::Kind::kTiled:
      TARMAC_CUDA_CHECK(launch_transpose_tiled(in, out, p.elem, p.dims, p.strides, p.rows, p.cols,
                                               p.col_stride, p.wide_index, stream));
      return Status::ok();
    case StridedCopy::Kind::kGeneral:
      break;
  }
  // A contiguous innermost dim moves in units of up to 16 bytes when every other stride, the
  // run length and both pointers allow it.
  Shape8 dims = p.dims, strides = p.strides;
  const int last = dims.rank - 1;
  int unit = p.elem;
  if (strides.d[last] == 1) {
    int64_t factor = 16 / p.elem;
    for (; factor > 1; factor /= 2) {
      bool ok = dims.d[last] % factor == 0 &&
                reinterpret_cast<uintptr_t>(in) % static_cast<uintptr_t>(factor * p.elem) == 0 &&
                reinterpret_cast<uintptr_t>(out) % static_cast<uintptr_t>(factor * p.elem) == 0;
      for (int k = 0; ok && k < last; ++k) ok = strides.d[k] % factor == 0;
      if (ok) break;
    }
    if (factor > 1) {
      unit = static_cast<int>(factor) * p.elem;
      dims.d[last] /= factor;
      for (int k = 0; k < last; ++k) strides.d[k] /= factor;
    }
  }
  TARMAC_CUDA_CHECK(launch_strided_copy(in, out, unit, dims, strides, p.numel * p.elem / unit,
                                        p.wide_index, stream));
  return Status::ok();
}

}  // namespace tarmac::cuda

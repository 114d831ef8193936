// Host-side pieces shared by the CUDA tensor family (kernels/tensor*.cc): build-time access to
// constant arguments through the CPU reference's own argument readers, and strided-copy plans,
// the engine of Transpose, Slice, Expand, Tile, DepthToSpace and SpaceToDepth.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>

#include "backends/cpu/tensor_util.h"
#include "backends/cuda/cuda_common.h"
#include "backends/cuda/kernels/shape.h"
#include "backends/cuda/registry.h"

namespace tarmac::cuda {

/// Lets tensor_ops' argument readers (ints_arg, slice_args, pad_amounts, split_arg) run on a
/// KernelArgs: at build time only constant inputs are known. Found by argument-dependent
/// lookup, so CUDA kernels resolve attributes and inputs exactly as inference and the CPU do.
inline const Tensor* known_value(const KernelArgs& a, size_t i) { return a.constant(i); }

/// Static dims of a value type (the backend only builds nodes whose shapes are static).
inline Dims dims_of(const ValueType& t) { return static_dims(t.shape); }

/// Element size of a dtype as the launchers take it.
inline int elem_size(DType t) { return static_cast<int>(dtype_size(t)); }

/// True when index arithmetic over these sizes needs 64 bits.
inline bool needs_wide_index(int64_t a, int64_t b = 0) {
  constexpr int64_t kLimit = (int64_t{1} << 31) - 1;
  return a >= kLimit || b >= kLimit;
}

/// A dense copy out = view(in) planned at build time: out[i] = in[offset + sum_k i_k * s_k],
/// out dense over `dims`. Unit dims are dropped and mergeable dims merged, so transposes of
/// the last two axes become a tiled transpose and contiguous views a memcpy.
struct StridedCopy {
  enum class Kind { kNothing, kMemcpy, kGeneral, kTiled };
  Kind kind = Kind::kNothing;
  int elem = 0;          // element bytes
  int64_t numel = 0;     // elements of out
  int64_t offset = 0;    // elements added to the input pointer
  Shape8 dims, strides;  // kGeneral: the simplified view; kTiled: its outer dims
  int64_t rows = 0, cols = 0, col_stride = 0;  // kTiled: out [outer..., rows, cols]
  bool wide_index = false;
};

/// Plans out = view(in); kUnsupported when the simplified view has rank > 8.
StatusOr<StridedCopy> plan_strided_copy(const Node& n, int elem, const Dims& dims,
                                        const Dims& strides, int64_t offset = 0);

/// Enqueues a planned copy from `in` (the view's base) into dense `out`.
Status run_strided_copy(const StridedCopy& p, const void* in, void* out, cudaStream_t stream);

/// A node whose whole work is one strided copy of input 0 into output 0.
class StridedCopyKernel final : public DeviceKernel {
 public:
  explicit StridedCopyKernel(StridedCopy plan) : plan_(plan) {}
  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    return run_strided_copy(plan_, inputs[0].data, outputs[0].data, stream_of(ctx));
  }

 private:
  StridedCopy plan_;
};

/// Shapes as Shape8, refusing ranks above 8 with the node and what the shape is.
StatusOr<Shape8> shape8(const Node& n, const Dims& d, const char* what);

/// Fails with kUnsupported unless input/output `i` has one of the element sizes the kernels
/// move (1, 2, 4 or 8 bytes).
Status check_elem(const Node& n, DType t);

void register_tensor_movement_kernels(KernelRegistry& r);  // tensor_movement.cc
void register_tensor_index_kernels(KernelRegistry& r);     // tensor_index.cc

}  // namespace tarmac::cuda

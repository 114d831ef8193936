// CUDA FusedElementwise, host side: validates the node, decodes its program into the kernel's
// parameter block once at build time and launches one kernel per enqueue.
#include "backends/cuda/kernels/fused_elementwise.cuh"

#include <cuda_runtime.h>

#include <string>
#include <utility>
#include <vector>

#include "backends/cuda/cuda_common.h"
#include "backends/cuda/kernels/elementwise_host.cuh"
#include "backends/cuda/registry.h"
#include "ir/elementwise_program.h"
#include "ir/fused_ops.h"
#include "ir/op_registry.h"

namespace tarmac::cuda {

// The device side mirrors ir/elementwise_program.h; these keep the two in step.
static_assert(kFusedEwMaxInputs == kEwMaxInputs);
static_assert(kFusedEwMaxInstructions == kEwMaxInstructions);
static_assert(kFusedEwMaxConstants == kEwMaxConstants);
static_assert(kFusedEwMaxRegisters == kEwMaxRegisters);
// Operands are stored as int8: registers up to 15, constants down to -1 - 63.
static_assert(kEwMaxRegisters <= 127 && kEwMaxConstants <= 128);
#define TARMAC_FUSED_EW_MIRROR(name, code, operands, params)    \
  static_assert(static_cast<int>(FusedEwOp::k##name) == (code), \
                "FusedEwOp::k" #name " must equal EwOp::k" #name);
TARMAC_EW_OPS(TARMAC_FUSED_EW_MIRROR)
#undef TARMAC_FUSED_EW_MIRROR
// Kernel parameters are limited to 4 KB.
static_assert(sizeof(FusedEwParams) <= 4096);

namespace {

bool is_program_dtype(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16;
}

StatusOr<std::unique_ptr<DeviceKernel>> make_fused_elementwise(const KernelArgs& a) {
  if (!is_internal_node(a.node))
    return unsupported("{}: FusedElementwise exists only in the internal domain '{}'",
                       a.node.describe(), kInternalDomain);
  TARMAC_ASSIGN_OR_RETURN(EwProgram prog, decode_program(a.node));
  const DType t = a.out(0).dtype;
  if (!is_program_dtype(t))
    return unsupported("{}: dtype {} (float32, float16 and bfloat16 only)", a.node.describe(),
                       dtype_name(t));
  const Dims out = ew::out_dims(a, 0);
  std::vector<Dims> ins;
  for (size_t i = 0; i < a.node.inputs.size(); ++i) {
    if (a.in(i).dtype != t)
      return node_error(a.node, "input {} has dtype {} but the output has {}", i,
                        dtype_name(a.in(i).dtype), dtype_name(t));
    ins.push_back(ew::in_dims(a, i));
  }
  TARMAC_ASSIGN_OR_RETURN(Dims b, broadcast_dims(a.node, ins));
  if (b != out)
    return node_error(a.node, "output shape {} differs from the broadcast of the inputs {}",
                      dims_to_string(out), dims_to_string(b));

  FusedEwParams p;
  p.num_inputs = prog.num_inputs;
  p.num_instructions = static_cast<int32_t>(prog.code.size());
  p.result = prog.result_register();
  for (size_t k = 0; k < prog.code.size(); ++k) {
    const EwInstruction& in = prog.code[k];
    p.code[k] = {static_cast<FusedEwOp>(in.op), static_cast<int8_t>(in.a),
                 static_cast<int8_t>(in.b), static_cast<int8_t>(in.dst)};
  }
  for (size_t j = 0; j < prog.constants.size(); ++j) p.constants[j] = prog.constants[j];
  p.numel = num_elements(out);
  p.flat = 1;
  for (const Dims& d : ins)
    if (num_elements(d) != p.numel) p.flat = 0;
  if (!ew::collapse_broadcast(out, ins, &p.out, p.strides))
    return unsupported("{}: broadcasting to {} needs more than {} dims after merging",
                       a.node.describe(), dims_to_string(out), kMaxRank);
  // in[k]: broadcast to out; y: out
  return ew::launch_kernel(a, [p, t](const std::vector<TensorView>& in,
                                     const std::vector<TensorView>& outs, void*, cudaStream_t s) {
    FusedEwParams q = p;
    for (int k = 0; k < q.num_inputs; ++k) q.in[k] = in[static_cast<size_t>(k)].data;
    q.y = outs[0].data;
    return launch_fused_elementwise(t, q, s);
  });
}

}  // namespace

void register_fused_elementwise_kernels(KernelRegistry& r) {
  r.add(kFusedElementwiseOp, &make_fused_elementwise);
}

}  // namespace tarmac::cuda

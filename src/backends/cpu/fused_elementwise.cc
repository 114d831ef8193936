// CPU kernel of FusedElementwise (ir/elementwise_program.h). The program runs block by block:
// each run of consecutive output elements is cut into blocks of kBlock elements whose inputs
// are widened to float32 registers, then every instruction sweeps the whole block, so the op
// dispatch is paid once per block and the inner loops specialize on the op (and vectorize).
// The result is rounded once to the storage type.
#include <Eigen/Core>

#include <algorithm>
#include <array>

#include "backends/cpu/elementwise_util.h"
#include "backends/cpu/fused.h"
#include "ir/elementwise_program.h"

namespace tarmac {

using namespace elementwise;  // NOLINT(build/namespaces): the elementwise family's helpers

namespace {

constexpr int64_t kBlock = 256;

/// A block of values: kBlock of them, or one scalar (a constant) read for every element.
struct Operand {
  const float* p = nullptr;
  bool scalar = false;
};

/// dst[i] = op(a[i], b[i], z) over m elements; dst may be a or b (same index only).
template <EwOp kOp>
void apply_block(Operand a, Operand b, float z, float* dst, int64_t m) {
  // float32 exp, tanh and logistic through Eigen's vectorized functions, as the unfused CPU
  // kernels compute them for float32 data (scalar libm calls dominate SiLU-heavy models).
  if constexpr (kOp == EwOp::kExp || kOp == EwOp::kTanh || kOp == EwOp::kSigmoid) {
    if (!a.scalar) {
      Eigen::Map<const Eigen::ArrayXf> x(a.p, m);
      Eigen::Map<Eigen::ArrayXf> y(dst, m);
      if constexpr (kOp == EwOp::kExp) {
        y = x.exp();
      } else if constexpr (kOp == EwOp::kTanh) {
        y = x.tanh();
      } else {
        y = (1.0f + (-x).exp()).inverse();
      }
      return;
    }
  }
  const float* x = a.p;
  const float* y = b.p;
  if (!a.scalar && !b.scalar) {
    for (int64_t i = 0; i < m; ++i) dst[i] = ew_apply<kOp, float>(x[i], y[i], z);
  } else if (!a.scalar) {
    const float yv = *y;
    for (int64_t i = 0; i < m; ++i) dst[i] = ew_apply<kOp, float>(x[i], yv, z);
  } else if (!b.scalar) {
    const float xv = *x;
    for (int64_t i = 0; i < m; ++i) dst[i] = ew_apply<kOp, float>(xv, y[i], z);
  } else {
    std::fill(dst, dst + m, ew_apply<kOp, float>(*x, *y, z));
  }
}

template <typename T>
void run_program(const EwProgram& p, const std::vector<const Tensor*>& ins, Tensor* out) {
  const int n = p.num_inputs;
  // Unused input slots walk the output's own dims, which never stop dims from merging.
  std::array<const Dims*, kEwMaxInputs> dims;
  std::array<const T*, kEwMaxInputs> src{};
  for (int k = 0; k < kEwMaxInputs; ++k) {
    dims[static_cast<size_t>(k)] = k < n ? &ins[static_cast<size_t>(k)]->dims() : &out->dims();
    if (k < n) src[static_cast<size_t>(k)] = ins[static_cast<size_t>(k)]->data<T>();
  }
  T* dst = out->data<T>();
  static const float kZero = 0.f;
  // ins[k]: broadcast to out; out: [...]
  for_each_broadcast<kEwMaxInputs>(
      out->dims(), dims, kGrainCostly,
      [&](int64_t o, const std::array<int64_t, kEwMaxInputs>& off,
          const std::array<int64_t, kEwMaxInputs>& st, int64_t count) {
        float regs[kEwMaxRegisters][kBlock];
        auto operand = [&](int32_t v) {
          return v >= 0 ? Operand{regs[v], false}
                        : Operand{&p.constants[static_cast<size_t>(-1 - v)], true};
        };
        for (int64_t s = 0; s < count; s += kBlock) {
          const int64_t m = std::min(kBlock, count - s);
          for (int k = 0; k < n; ++k) {
            const size_t kk = static_cast<size_t>(k);
            const T* x = src[kk] + off[kk] + s * st[kk];
            if (st[kk]) {
              for (int64_t i = 0; i < m; ++i) regs[k][i] = load(x[i]);
            } else {
              std::fill(regs[k], regs[k] + m, static_cast<float>(load(*x)));
            }
          }
          for (const EwInstruction& in : p.code) {
            const EwOpInfo& info = ew_op_info(in.op);
            const Operand a = operand(in.a);
            Operand b{&kZero, true};
            float z = 0.f;
            if (info.operands == 2 || info.parameters > 0) b = operand(in.b);
            if (info.parameters > 1) z = p.constants[static_cast<size_t>(-1 - in.b) + 1];
            float* d = regs[in.dst];
            ew_dispatch(in.op, [&](auto k) { apply_block<decltype(k)::value>(a, b, z, d, m); });
          }
          const float* r = regs[p.result_register()];
          T* y = dst + o + s;
          for (int64_t i = 0; i < m; ++i) y[i] = store<T>(r[i]);
        }
      });
}

class FusedElementwiseCpuKernel final : public Kernel {
 public:
  FusedElementwiseCpuKernel(const Node& node, EwProgram program)
      : node_(node), program_(std::move(program)) {}

  Status run(const std::vector<const Tensor*>& inputs, std::vector<Tensor>* outputs) override {
    if (inputs.size() != static_cast<size_t>(program_.num_inputs))
      return node_error(node_, "got {} inputs, the program reads {}", inputs.size(),
                        program_.num_inputs);
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!inputs[i]) return node_error(node_, "input {} is absent", i);
      if (inputs[i]->dtype() != inputs[0]->dtype())
        return node_error(node_, "input {} has dtype {} but input 0 has {}", i,
                          dtype_name(inputs[i]->dtype()), dtype_name(inputs[0]->dtype()));
    }
    const DType t = inputs[0]->dtype();
    if (t != DType::kFloat32 && t != DType::kFloat16 && t != DType::kBFloat16)
      return node_error(node_, "inputs have dtype {}; expected float32, float16 or bfloat16",
                        dtype_name(t));
    KernelContext ctx{node_, 0, inputs, std::vector<Tensor>(1)};
    TARMAC_ASSIGN_OR_RETURN(Dims dims, broadcast_of(node_, inputs));
    TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, t, std::move(dims)));
    if (t == DType::kFloat32) {
      run_program<float>(program_, inputs, y);
    } else if (t == DType::kFloat16) {
      run_program<Half>(program_, inputs, y);
    } else {
      run_program<BFloat16>(program_, inputs, y);
    }
    *outputs = std::move(ctx.outputs);
    return Status::ok();
  }

 private:
  const Node& node_;
  EwProgram program_;
};

}  // namespace

StatusOr<std::unique_ptr<Kernel>> make_fused_elementwise_cpu_kernel(const Node& node) {
  TARMAC_ASSIGN_OR_RETURN(EwProgram p, decode_program(node));
  return std::unique_ptr<Kernel>(new FusedElementwiseCpuKernel(node, std::move(p)));
}

}  // namespace tarmac

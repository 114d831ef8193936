// Gemm and MatMul through cuBLASLt (cublaslt/matmul.h). Gemm's C is passed as cuBLASLt's C
// when it is a full [M, N] matrix, as the bias epilogue when it is one row with beta = 1, and
// otherwise broadcast into D first (then D = alpha * AB + beta * D). MatMul batches run as one
// strided-batched product over the longest trailing run of batch axes where each operand is
// either complete or broadcast, looping over the leading ones. Internal (domain "tarmac")
// nodes add MatMul's bias and the activation: Relu and GeluTanh (cuBLASLt's GELU epilogue is
// the tanh form) with a per-column bias inside cuBLASLt, everything else in nn_epilogue.
#include <algorithm>
#include <memory>

#include "backends/cuda/cublaslt/matmul.h"
#include "backends/cuda/cuda_common.h"
#include "backends/cuda/kernels/nn_util.h"

namespace tarmac::cuda::nn {

namespace {

/// Workspace offered to cuBLASLt's heuristic.
constexpr size_t kGemmWorkspace = size_t{32} << 20;

cublasComputeType_t compute_type(DType t, bool allow_tf32) {
  if (t == DType::kFloat64) return CUBLAS_COMPUTE_64F;
  if (t == DType::kFloat32 && allow_tf32) return CUBLAS_COMPUTE_32F_FAST_TF32;
  return CUBLAS_COMPUTE_32F;
}

/// The cuBLASLt epilogue for an activation with or without a per-column bias; `rest` is the
/// activation left for nn_epilogue (kNone when cuBLASLt does it all).
cublasLtEpilogue_t lt_epilogue(DType t, bool bias, ActParams act, ActParams* rest) {
  *rest = act;
  if (t == DType::kFloat64) return CUBLASLT_EPILOGUE_DEFAULT;  // epilogues are for float types
  cublasLtEpilogue_t e = bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
  if (act.act == EpilogueAct::kRelu)
    e = bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
  if (act.act == EpilogueAct::kGeluTanh)
    e = bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
  if (act.act == EpilogueAct::kRelu || act.act == EpilogueAct::kGeluTanh)
    rest->act = EpilogueAct::kNone;
  return e;
}

template <typename F>
Status launch_typed(DType t, F&& f) {
  cudaError_t e = cudaSuccess;
  dispatch_float(t, [&](auto tag) { e = f(tag); });
  TARMAC_CUDA_CHECK(e);
  return Status::ok();
}

Status check_dtypes(const KernelArgs& a, size_t count) {
  const DType dt = a.in(0).dtype;
  if (!is_nn_float(dt))
    return unsupported("{}: dtype {} is not supported (floating types only)", a.node.describe(),
                       dtype_name(dt));
  for (size_t i = 1; i < count; ++i)
    if (a.has_input(i) && a.in(i).dtype != dt)
      return node_error(a.node, "input {} has dtype {} but input 0 has {}", i,
                        dtype_name(a.in(i).dtype), dtype_name(dt));
  return Status::ok();
}

/// The ranked cuBLASLt algorithms a plan was offered, as tactic names (builder/tactics).
std::vector<std::string> gemm_tactics(const lt::MatmulPlan& p) {
  std::vector<std::string> t;
  for (int i = 0; i < p.candidates(); ++i) t.push_back(lt::tactic_name(i));
  return t;
}

// ---- Gemm ----

enum class CMode { kNone, kFull, kBias, kBroadcast };

class GemmKernel final : public DeviceKernel {
 public:
  GemmKernel(DType dt, lt::MatmulShape shape, CMode c, Shape8 c_strides, Shape8 out, float alpha,
             float beta, ActParams act, ActParams rest)
      : dt_(dt),
        plan_(std::make_unique<lt::MatmulPlan>(shape)),
        c_(c),
        c_strides_(c_strides),
        out_(out),
        alpha_(alpha),
        beta_(beta),
        act_(act),
        rest_(rest) {}

  Status initialize(const LaunchContext& ctx) override {
    const lt::MatmulShape shape = plan_->shape();
    if (shape.m * shape.n == 0) return Status::ok();
    const Status st = plan_->initialize(handles_of(ctx).lt, kGemmWorkspace);
    if (st.is_ok() || shape.epilogue == CUBLASLT_EPILOGUE_DEFAULT) return st;
    // No algorithm with this epilogue: plain product, bias and activation in nn_epilogue.
    lt::MatmulShape plain = shape;
    plain.epilogue = CUBLASLT_EPILOGUE_DEFAULT;
    plan_ = std::make_unique<lt::MatmulPlan>(plain);
    if (c_ == CMode::kBias) {
      c_ = CMode::kBroadcast;
      c_strides_ = broadcast_strides({1, shape.n}, {shape.m, shape.n});
    }
    rest_ = act_;
    return plan_->initialize(handles_of(ctx).lt, kGemmWorkspace);
  }
  size_t workspace_bytes() const override { return kGemmWorkspace; }
  std::vector<std::string> tactic_candidates() const override { return gemm_tactics(*plan_); }
  std::string tactic() const override { return lt::tactic_name(plan_->chosen()); }

  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    const TensorView& y = outputs[0];  // [M, N]
    if (y.numel() == 0) return Status::ok();
    cudaStream_t stream = stream_of(ctx);
    lt::MatmulArgs args;
    args.a = inputs[0].data;  // [M, K] or [K, M]
    args.b = inputs[1].data;  // [K, N] or [N, K]
    args.d = y.data;
    args.alpha = alpha_;
    args.workspace = ctx.workspace;
    args.workspace_bytes = ctx.workspace_bytes;
    const void* c = c_ == CMode::kNone ? nullptr : inputs[2].data;  // broadcasts to [M, N]
    switch (c_) {
      case CMode::kNone:
        break;
      case CMode::kFull:
        args.c = c;
        args.beta = beta_;
        break;
      case CMode::kBias:
        args.bias = c;
        break;
      case CMode::kBroadcast:
        TARMAC_RETURN_IF_ERROR(launch_typed(dt_, [&](auto tag) {
          using T = decltype(tag);
          return launch_broadcast_copy<T>(static_cast<const T*>(c), c_strides_,
                                          static_cast<T*>(y.data), out_, stream);
        }));
        args.c = y.data;
        args.beta = beta_;
        break;
    }
    TARMAC_RETURN_IF_ERROR(plan_->run(handles_of(ctx).lt, stream, args));
    if (rest_.act == EpilogueAct::kNone) return Status::ok();
    return launch_typed(dt_, [&](auto tag) {
      using T = decltype(tag);
      return launch_bias_act<T>(static_cast<T*>(y.data), y.numel(), nullptr, 1, 1, rest_, stream);
    });
  }

 private:
  DType dt_;
  std::unique_ptr<lt::MatmulPlan> plan_;
  CMode c_;
  Shape8 c_strides_, out_;
  float alpha_, beta_;
  ActParams act_, rest_;  // the node's activation; what nn_epilogue still applies
};

}  // namespace

StatusOr<std::unique_ptr<DeviceKernel>> make_gemm(const KernelArgs& a) {
  const Node& node = a.node;
  if (!a.has_input(0) || !a.has_input(1)) return node_error(node, "expects inputs A and B");
  if (a.opset < 11 && !a.has_input(2))
    return node_error(node, "input C is required before opset 11");
  TARMAC_RETURN_IF_ERROR(check_dtypes(a, 3));
  const DType dt = a.in(0).dtype;
  const Dims ad = static_dims(a.in(0).shape), bd = static_dims(a.in(1).shape);
  if (ad.size() != 2 || bd.size() != 2)
    return node_error(node, "A and B must have rank 2, got {} and {}", dims_to_string(ad),
                      dims_to_string(bd));
  const bool ta = node.attr_int("transA", 0) != 0, tb = node.attr_int("transB", 0) != 0;
  const float alpha = node.attr_float("alpha", 1.0f), beta = node.attr_float("beta", 1.0f);
  const int64_t m = ad[ta ? 1 : 0], k = ad[ta ? 0 : 1], n = bd[tb ? 0 : 1];
  if (bd[tb ? 1 : 0] != k) return node_error(node, "inner dimensions differ");
  if (k == 0 && m * n > 0)
    return unsupported("{}: an empty inner dimension is not supported", node.describe());
  TARMAC_ASSIGN_OR_RETURN(ActParams act, fused_activation(node));
  CMode mode = CMode::kNone;
  Shape8 c_strides, out;
  to_shape8({m, n}, &out);
  if (a.has_input(2) && beta != 0.0f) {
    Dims cd = static_dims(a.in(2).shape);
    bool ok = cd.size() <= 2;
    for (size_t i = 0; ok && i < cd.size(); ++i) {
      const int64_t t = (i + 2 - cd.size()) == 0 ? m : n;
      ok = cd[i] == 1 || cd[i] == t;
    }
    if (!ok)
      return node_error(node, "C of shape {} does not broadcast to {}x{}", dims_to_string(cd), m,
                        n);
    while (cd.size() < 2) cd.insert(cd.begin(), 1);
    if (cd[0] == m && cd[1] == n) {
      mode = CMode::kFull;
    } else if (beta == 1.0f && cd[0] == 1 && cd[1] == n && dt != DType::kFloat64) {
      mode = CMode::kBias;
    } else {
      mode = CMode::kBroadcast;
      c_strides = broadcast_strides(cd, {m, n});
    }
  }
  lt::MatmulShape s;
  s.m = m;
  s.n = n;
  s.k = k;
  s.trans_a = ta;
  s.trans_b = tb;
  s.dtype = cuda_dtype(dt);
  s.compute = compute_type(dt, a.config.allow_tf32);
  s.heuristic_index = lt::heuristic_index_of(a.config.tactic);
  ActParams rest;
  s.epilogue = lt_epilogue(dt, mode == CMode::kBias, act, &rest);
  return std::unique_ptr<DeviceKernel>(
      new GemmKernel(dt, s, mode, c_strides, out, alpha, beta, act, rest));
}

// ---- MatMul ----

namespace {

class MatMulKernel final : public DeviceKernel {
 public:
  struct Setup {
    DType dt = DType::kUndefined;
    lt::MatmulShape shape;
    int64_t outer = 1;                    // products per run (leading batch axes)
    Dims outer_dims;                      // the leading batch axes
    Dims a_outer_stride, b_outer_stride;  // per leading axis, in elements (0: broadcast)
    int64_t d_outer_stride = 0;           // elements of D per outer step
    bool lt_bias = false;                 // bias per column, in cuBLASLt's epilogue
    bool general_bias = false;            // bias broadcast by nn_epilogue
    Shape8 out, bias_strides;             // Y's dims and the bias's broadcast strides (when a bias)
    ActParams act, rest;                  // the node's activation; what nn_epilogue still applies
  };

  explicit MatMulKernel(Setup s)
      : s_(std::move(s)), plan_(std::make_unique<lt::MatmulPlan>(s_.shape)) {}

  Status initialize(const LaunchContext& ctx) override {
    if (s_.shape.m * s_.shape.n * s_.shape.batch * s_.outer == 0) return Status::ok();
    const Status st = plan_->initialize(handles_of(ctx).lt, kGemmWorkspace);
    if (st.is_ok() || s_.shape.epilogue == CUBLASLT_EPILOGUE_DEFAULT) return st;
    // No algorithm with this epilogue: plain product, bias and activation in nn_epilogue.
    s_.shape.epilogue = CUBLASLT_EPILOGUE_DEFAULT;
    plan_ = std::make_unique<lt::MatmulPlan>(s_.shape);
    s_.general_bias = s_.lt_bias;
    s_.lt_bias = false;
    s_.rest = s_.act;
    return plan_->initialize(handles_of(ctx).lt, kGemmWorkspace);
  }
  size_t workspace_bytes() const override { return kGemmWorkspace; }
  std::vector<std::string> tactic_candidates() const override { return gemm_tactics(*plan_); }
  std::string tactic() const override { return lt::tactic_name(plan_->chosen()); }

  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    const TensorView& y = outputs[0];  // [batch..., M, N] (vector operands drop M or N)
    if (y.numel() == 0) return Status::ok();
    cudaStream_t stream = stream_of(ctx);
    const size_t es = dtype_size(s_.dt);
    const char* a = static_cast<const char*>(inputs[0].data);  // [a_batch..., M, K]
    const char* b = static_cast<const char*>(inputs[1].data);  // [b_batch..., K, N]
    char* d = static_cast<char*>(y.data);
    const void* bias = inputs.size() > 2 ? inputs[2].data : nullptr;  // broadcasts to Y
    lt::MatmulArgs args;
    args.workspace = ctx.workspace;
    args.workspace_bytes = ctx.workspace_bytes;
    args.bias = s_.lt_bias ? bias : nullptr;
    for (int64_t o = 0; o < s_.outer; ++o) {
      int64_t rem = o, oa = 0, ob = 0;
      for (size_t dd = s_.outer_dims.size(); dd-- > 0;) {
        const int64_t i = rem % s_.outer_dims[dd];
        rem /= s_.outer_dims[dd];
        oa += i * s_.a_outer_stride[dd];
        ob += i * s_.b_outer_stride[dd];
      }
      args.a = a + static_cast<size_t>(oa) * es;
      args.b = b + static_cast<size_t>(ob) * es;
      args.d = d + static_cast<size_t>(o * s_.d_outer_stride) * es;
      TARMAC_RETURN_IF_ERROR(plan_->run(handles_of(ctx).lt, stream, args));
    }
    if (!s_.general_bias && s_.rest.act == EpilogueAct::kNone) return Status::ok();
    return launch_typed(s_.dt, [&](auto tag) {
      using T = decltype(tag);
      if (s_.general_bias)
        return launch_broadcast_bias_act<T>(static_cast<T*>(y.data), s_.out,
                                            static_cast<const T*>(bias), s_.bias_strides, s_.rest,
                                            stream);
      return launch_bias_act<T>(static_cast<T*>(y.data), y.numel(), nullptr, 1, 1, s_.rest, stream);
    });
  }

 private:
  Setup s_;
  std::unique_ptr<lt::MatmulPlan> plan_;
};

}  // namespace

StatusOr<std::unique_ptr<DeviceKernel>> make_matmul(const KernelArgs& a) {
  const Node& node = a.node;
  if (!a.has_input(0) || !a.has_input(1)) return node_error(node, "expects inputs A and B");
  const bool internal = is_internal_node(node);
  if (!internal && a.node.num_inputs() > 2) return node_error(node, "expects 2 inputs");
  TARMAC_RETURN_IF_ERROR(check_dtypes(a, internal ? 3 : 2));
  MatMulKernel::Setup s;
  s.dt = a.in(0).dtype;
  Dims ad = static_dims(a.in(0).shape), bd = static_dims(a.in(1).shape);
  if (ad.empty() || bd.empty()) return node_error(node, "inputs must have rank >= 1");
  const bool a_vec = ad.size() == 1, b_vec = bd.size() == 1;
  if (a_vec) ad.insert(ad.begin(), 1);
  if (b_vec) bd.push_back(1);
  const int64_t m = ad[ad.size() - 2], k = ad.back(), n = bd.back();
  if (bd[bd.size() - 2] != k) return node_error(node, "inner dimensions differ");
  const Dims y = static_dims(a.out(0).shape);
  if (k == 0 && num_elements(y) > 0)
    return unsupported("{}: an empty inner dimension is not supported", node.describe());
  const Dims a_batch(ad.begin(), ad.end() - 2), b_batch(bd.begin(), bd.end() - 2);
  const size_t r = std::max(a_batch.size(), b_batch.size());
  Dims a_full(r, 1), b_full(r, 1), batch(r, 1);
  std::copy(a_batch.begin(), a_batch.end(),
            a_full.begin() + static_cast<int64_t>(r - a_batch.size()));
  std::copy(b_batch.begin(), b_batch.end(),
            b_full.begin() + static_cast<int64_t>(r - b_batch.size()));
  for (size_t d = 0; d < r; ++d) {
    if (a_full[d] != b_full[d] && a_full[d] != 1 && b_full[d] != 1)
      return node_error(node, "batch dims {} and {} do not broadcast", dims_to_string(a_batch),
                        dims_to_string(b_batch));
    batch[d] = a_full[d] == 1 ? b_full[d] : a_full[d];
  }
  lt::MatmulShape& sh = s.shape;
  sh.m = m;
  sh.n = n;
  sh.k = k;
  sh.dtype = cuda_dtype(s.dt);
  sh.compute = compute_type(s.dt, a.config.allow_tf32);
  sh.heuristic_index = lt::heuristic_index_of(a.config.tactic);
  if (num_elements(b_batch) == 1) {
    // B shared by every batch: one product over the stacked rows of A.
    sh.m = m * num_elements(batch);
  } else {
    // Split point: axes [split, r) run as one strided batch.
    auto uniform = [&](const Dims& full, size_t from) {
      bool all_one = true, all_full = true;
      for (size_t d = from; d < r; ++d) {
        all_one &= full[d] == 1;
        all_full &= full[d] == batch[d];
      }
      return all_one || all_full;
    };
    size_t split = 0;
    while (!(uniform(a_full, split) && uniform(b_full, split))) ++split;
    int64_t inner = 1, a_inner = 1, b_inner = 1;
    for (size_t d = split; d < r; ++d) {
      inner *= batch[d];
      a_inner *= a_full[d];
      b_inner *= b_full[d];
    }
    sh.batch = inner;
    sh.stride_a = a_inner == 1 ? 0 : m * k;
    sh.stride_b = b_inner == 1 ? 0 : k * n;
    sh.stride_c = sh.stride_d = m * n;
    s.outer_dims.assign(batch.begin(), batch.begin() + static_cast<int64_t>(split));
    s.outer = num_elements(s.outer_dims);
    s.d_outer_stride = inner * m * n;
    // Element strides of the leading axes in A and B (0 where broadcast).
    int64_t sa = a_inner * m * k, sb = b_inner * k * n;
    s.a_outer_stride.assign(split, 0);
    s.b_outer_stride.assign(split, 0);
    for (size_t d = split; d-- > 0;) {
      if (a_full[d] != 1) s.a_outer_stride[d] = sa;
      if (b_full[d] != 1) s.b_outer_stride[d] = sb;
      sa *= a_full[d];
      sb *= b_full[d];
    }
  }
  TARMAC_ASSIGN_OR_RETURN(ActParams act, fused_activation(node));
  bool per_column = false;
  if (internal && a.has_input(2)) {
    const Dims bias = static_dims(a.in(2).shape);
    bool ok = bias.size() <= y.size();
    for (size_t i = 0; ok && i < bias.size(); ++i) {
      const int64_t t = y[y.size() - bias.size() + i];
      ok = bias[i] == 1 || bias[i] == t;
    }
    if (!ok)
      return node_error(node, "bias {} does not broadcast to the product {}", dims_to_string(bias),
                        dims_to_string(y));
    per_column = !b_vec && !bias.empty() && bias.back() == n && num_elements(bias) == n &&
                 s.dt != DType::kFloat64;
    s.general_bias = !per_column;
    if (!to_shape8(y, &s.out)) return unsupported("{}: rank above 8", node.describe());
    s.bias_strides = broadcast_strides(bias, y);
  }
  s.lt_bias = per_column;
  s.act = act;
  if (s.general_bias) {
    s.rest = act;  // bias and activation in one nn_epilogue pass
  } else {
    sh.epilogue = lt_epilogue(s.dt, per_column, act, &s.rest);
  }
  return std::unique_ptr<DeviceKernel>(new MatMulKernel(std::move(s)));
}

}  // namespace tarmac::cuda::nn

// Conv and ConvTranspose through cuDNN's legacy convolution API (NCHW / NCDHW, or NHWC for the
// builder's channels-last internal nodes; 1-D runs as 2-D with H = 1). cuDNN pads symmetrically
// only: asymmetric Conv pads (SAME_* with even windows, explicit pads) zero-pad the input into the
// workspace first, and a ConvTranspose whose padding cuDNN cannot express computes the unpadded
// result into the workspace and crops it. Bias, the residual of an internal Conv (input 3,
// ir/fused_ops.h) and fused activations run in one epilogue pass, or inside
// cudnnConvolutionBiasActivationForward for Conv + bias + Relu, and for Conv + bias + residual with
// Relu or (when cuDNN's heuristic picks IMPLICIT_PRECOMP_GEMM, the only algorithm its identity
// activation allows) no activation; float32, float16 and bfloat16 (where cuDNN refuses a half
// configuration at the first enqueue, that kernel uses the epilogue pass from then on).
#include <algorithm>
#include <climits>
#include <cstdio>

#include "backends/cuda/cuda_common.h"
#include "backends/cuda/cudnn/descriptors.h"
#include "backends/cuda/kernels/nn_util.h"
#include "ir/infer/nn_util.h"

namespace tarmac::cuda::nn {

namespace {

/// cuDNN algorithms may ask for at most this much workspace.
constexpr size_t kMaxConvWorkspace = size_t{256} << 20;

/// The node's geometry, spatial axes as in the model (1 to 3 of them).
struct ConvSetup {
  DType dtype = DType::kUndefined;
  bool transpose = false;
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  Dims x, w, y;  // full dims of X, W and Y
  Dims in, out, kernel, strides, dilations, pad_begin, pad_end;
  bool has_bias = false;
  bool has_residual = false;  // internal Conv input 3, shaped like Y
  bool nhwc = false;          // channels-last X, W, Y (ir/fused_ops.h); x, w, y stay logical
  ActParams act;
  bool allow_tf32 = true;
  std::string tactic;  // "cudnn_fwd_algo=N" picks that algorithm when cuDNN offers it
};

StatusOr<ConvSetup> conv_setup(const KernelArgs& a, bool transpose) {
  const Node& node = a.node;
  ConvSetup s;
  s.transpose = transpose;
  s.tactic = a.config.tactic;
  if (!a.has_input(0) || !a.has_input(1)) return node_error(node, "expects inputs X and W");
  s.dtype = a.in(0).dtype;
  if (!is_nn_float(s.dtype))
    return unsupported("{}: dtype {} is not supported", node.describe(), dtype_name(s.dtype));
  for (size_t i = 1; i < 4; ++i) {
    if (a.has_input(i) && a.in(i).dtype != s.dtype)
      return node_error(node, "input {} has dtype {} but X has {}", i, dtype_name(a.in(i).dtype),
                        dtype_name(s.dtype));
  }
  if (a.node.num_inputs() > 3) {
    if (transpose || !is_internal_node(node) || a.node.num_inputs() > 4)
      return unsupported("{}: unexpected input 3 (only an internal Conv takes a residual)",
                         node.describe());
    if (!a.has_input(3)) return node_error(node, "input 3 (residual) is empty");
    s.has_residual = true;
  }
  s.x = static_dims(a.in(0).shape);
  s.w = static_dims(a.in(1).shape);
  s.y = static_dims(a.out(0).shape);
  const Dims y_stored = s.y;
  s.nhwc = is_nhwc_node(node);
  if (s.nhwc) {
    if (s.x.size() != 4 || s.w.size() != 4 || s.y.size() != 4)
      return unsupported("{}: the NHWC layout is 2-D only", node.describe());
    for (Dims* d : {&s.x, &s.w, &s.y}) *d = Dims{(*d)[0], (*d)[3], (*d)[1], (*d)[2]};
  }
  if (s.x.size() < 3 || s.x.size() > 5)
    return unsupported("{}: input X has rank {}; 1-D to 3-D convolutions are supported",
                       node.describe(), s.x.size());
  if (s.w.size() != s.x.size())
    return node_error(node, "weight has {} dims, expected {}", s.w.size(), s.x.size());
  const size_t nsp = s.x.size() - 2;
  s.group = node.attr_int("group", 1);
  if (s.group < 1) return node_error(node, "group is {}, expected >= 1", s.group);
  s.batch = s.x[0];
  s.in_channels = s.x[1];
  s.kernel.assign(s.w.begin() + 2, s.w.end());
  if (node.has_attr("kernel_shape") && node.attr_ints("kernel_shape") != s.kernel)
    return node_error(node, "kernel_shape {} does not match the weight {}",
                      dims_to_string(node.attr_ints("kernel_shape")), dims_to_string(s.w));
  if (!transpose) {
    if (s.in_channels != s.w[1] * s.group || s.w[0] % s.group != 0)
      return node_error(node, "input has {} channels but the weight {} expects {} x group {}",
                        s.in_channels, dims_to_string(s.w), s.w[1], s.group);
    s.out_channels = s.w[0];
  } else {
    if (s.in_channels != s.w[0] || s.in_channels % s.group != 0)
      return node_error(node, "input has {} channels but the weight {} expects {} (group {})",
                        s.in_channels, dims_to_string(s.w), s.w[0], s.group);
    s.out_channels = s.w[1] * s.group;
  }
  s.has_bias = a.has_input(2);
  if (s.has_bias) {
    const Dims b = static_dims(a.in(2).shape);
    if (b.size() != 1 || b[0] != s.out_channels)
      return node_error(node, "bias has shape {}, expected [{}]", dims_to_string(b),
                        s.out_channels);
  }
  TARMAC_ASSIGN_OR_RETURN(tarmac::nn::WindowAttrs w,
                          tarmac::nn::read_window_attrs(node, s.kernel, {true, false, transpose}));
  for (size_t i = 0; i < nsp; ++i) {
    const int64_t in = s.x[i + 2];
    int64_t pb = 0, pe = 0;
    StatusOr<int64_t> out = transpose
                                ? tarmac::nn::conv_transpose_output_size(node, w, i, in, &pb, &pe)
                                : tarmac::nn::window_output_size(node, w, i, in, &pb, &pe);
    if (!out.is_ok()) return out.status();
    s.in.push_back(in);
    s.out.push_back(*out);
    s.pad_begin.push_back(pb);
    s.pad_end.push_back(pe);
  }
  s.strides = w.strides;
  s.dilations = w.dilations;
  Dims expect{s.batch, s.out_channels};
  expect.insert(expect.end(), s.out.begin(), s.out.end());
  if (expect != s.y)
    return internal_error("{}: output has shape {} but the geometry gives {}", node.describe(),
                          dims_to_string(s.y), dims_to_string(expect));
  if (s.has_residual && static_dims(a.in(3).shape) != y_stored)
    return node_error(node, "residual {} does not match the output shape {}",
                      dims_to_string(static_dims(a.in(3).shape)), dims_to_string(y_stored));
  // Channels-last runs only where cuDNN takes the tensors as they are: symmetric Conv pads
  // (no padded copy) and ConvTranspose outputs cuDNN's geometry gives directly (no crop).
  for (size_t i = 0; s.nhwc && i < nsp; ++i) {
    const int64_t window = (s.kernel[i] - 1) * s.dilations[i] + 1;
    const int64_t span = s.out[i] + 2 * s.pad_begin[i] - window;
    const bool direct = span >= 0 && span / s.strides[i] + 1 == s.in[i];
    if (s.pad_begin[i] != s.pad_end[i] || (transpose && !direct))
      return unsupported("{}: the NHWC layout needs symmetric pads", node.describe());
  }
  for (const Dims* d : {&s.x, &s.w, &s.y})
    for (int64_t v : *d)
      if (v > INT_MAX)
        return unsupported("{}: extent {} exceeds cuDNN's int range", node.describe(), v);
  if (num_elements(s.y) > 0 && num_elements(s.x) == 0)
    return unsupported("{}: empty input with a non-empty output", node.describe());
  TARMAC_ASSIGN_OR_RETURN(s.act, fused_activation(node));
  s.allow_tf32 = a.config.allow_tf32;
  return s;
}

/// cuDNN dims: 1-D problems gain a leading unit spatial axis.
std::vector<int> cudnn_dims(const Dims& d) {
  std::vector<int> r(d.begin(), d.end());
  if (r.size() == 3) r.insert(r.begin() + 2, 1);
  return r;
}

std::vector<int> cudnn_spatial(const Dims& d, int unit) {
  std::vector<int> r(d.begin(), d.end());
  if (r.size() == 1) r.insert(r.begin(), unit);
  return r;
}

/// WindowCopy extents for spatial dims (left-padded to three axes).
void set_extents(const Dims& sp, int64_t* ext) {
  const size_t off = 3 - sp.size();
  for (size_t i = 0; i < sp.size(); ++i) ext[off + i] = sp[i];
}

cudnnMathType_t requested_math(DType t, bool allow_tf32) {
  if (t == DType::kFloat16 || t == DType::kBFloat16) return CUDNN_TENSOR_OP_MATH;
  if (t == DType::kFloat32) return allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
  return CUDNN_DEFAULT_MATH;
}

/// Whether a heuristic result may run: within the workspace cap, no down-conversion of
/// float32 data, and (float32 without TF32, i.e. exact math) no FFT-based algorithm.
template <typename Perf>
bool acceptable(const Perf& p, DType t, bool allow_tf32, bool fft) {
  if (p.status != CUDNN_STATUS_SUCCESS || p.memory > kMaxConvWorkspace) return false;
  if (t == DType::kFloat32 && p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) return false;
  if (t == DType::kFloat32 && !allow_tf32 && (p.mathType == CUDNN_TENSOR_OP_MATH || fft))
    return false;
  return true;
}

/// The math type to run a chosen algorithm with: what the heuristic reported, except that
/// float32 without TF32 stays on FMA math.
cudnnMathType_t run_math(cudnnMathType_t reported, DType t, bool allow_tf32) {
  if (t == DType::kFloat32 && !allow_tf32) return CUDNN_FMA_MATH;
  return reported;
}

/// Scaling factors in the type cuDNN expects for the data type (double for double data).
struct Scale {
  float f;
  double d;
  const void* ptr(DType t) const {
    return t == DType::kFloat64 ? static_cast<const void*>(&d) : &f;
  }
};

template <typename F>
Status launch_typed(DType t, F&& f) {
  cudaError_t e = cudaSuccess;
  dispatch_float(t, [&](auto tag) { e = f(tag); });
  TARMAC_CUDA_CHECK(e);
  return Status::ok();
}

class ConvKernel final : public DeviceKernel {
 public:
  explicit ConvKernel(ConvSetup s) : s_(std::move(s)) {}

  Status initialize(const LaunchContext& ctx) override {
    // An empty output needs no work, and cuDNN refuses zero-sized descriptors.
    if (num_elements(s_.y) == 0) return Status::ok();
    const cudnnDataType_t dt = cudnn_dtype(s_.dtype);
    const cudnnDataType_t compute =
        s_.dtype == DType::kFloat64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    const size_t nsp = s_.in.size();
    // Symmetric cuDNN pads; asymmetric axes pad the input explicitly (see file comment).
    std::vector<int> pads;
    Dims padded_in;
    for (size_t i = 0; i < nsp; ++i) {
      const int64_t pb = s_.pad_begin[i], pe = s_.pad_end[i];
      pads.push_back(static_cast<int>(std::min(pb, pe)));
      padded_in.push_back(s_.in[i] + (pb > pe ? pb - pe : pe - pb));
      copy_.shift[3 - nsp + i] = pb > pe ? -(pb - pe) : 0;
      pre_pad_ |= pb != pe;
    }
    Dims xd = s_.x;
    if (pre_pad_) {
      copy_.planes = s_.batch * s_.in_channels;
      set_extents(s_.in, copy_.src);
      set_extents(padded_in, copy_.dst);
      std::copy(padded_in.begin(), padded_in.end(), xd.begin() + 2);
      pad_bytes_ = align256(static_cast<size_t>(num_elements(xd)) * dtype_size(s_.dtype));
    }
    if (pads.size() == 1) pads.insert(pads.begin(), 0);
    TARMAC_RETURN_IF_ERROR(x_.set(dt, cudnn_dims(xd), s_.nhwc));
    TARMAC_RETURN_IF_ERROR(w_.set(dt, cudnn_dims(s_.w), s_.nhwc));
    TARMAC_RETURN_IF_ERROR(y_.set(dt, cudnn_dims(s_.y), s_.nhwc));
    TARMAC_RETURN_IF_ERROR(conv_.set(pads, cudnn_spatial(s_.strides, 1),
                                     cudnn_spatial(s_.dilations, 1), static_cast<int>(s_.group),
                                     compute, requested_math(s_.dtype, s_.allow_tf32)));
    if (num_elements(s_.y) == 0) return Status::ok();
    // A recorded tactic names the algorithm and the math type the builder timed: replaying it
    // needs no heuristic query (about 3 ms per convolution with cuDNN 9, most of a context's
    // creation time). The heuristic runs when there is no tactic, for the builder's candidates.
    if (!replay(ctx)) TARMAC_RETURN_IF_ERROR(choose(ctx));
    // Conv + bias (+ residual as z, alpha2 = 1) + Relu: cuDNN's fused kernel (bias as
    // [1, M, 1, 1(, 1)]). Its identity activation runs only with IMPLICIT_PRECOMP_GEMM, so
    // Conv + bias + residual without activation is fused only when that is the chosen algorithm.
    const bool identity = s_.has_residual && s_.act.act == EpilogueAct::kNone &&
                          algo_ == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    // Half data: cuDNN's pseudo-half configuration (float compute); where it has no kernel the
    // first enqueue falls back to convolution + epilogue.
    // H200: PointPillars fp16 batch 1 0.685 -> 0.546 ms, ResNet-50 0.435 -> 0.343 ms.
    const bool half = s_.dtype == DType::kFloat16 || s_.dtype == DType::kBFloat16;
    fused_ = (s_.dtype == DType::kFloat32 || half) && s_.has_bias &&
             (s_.act.act == EpilogueAct::kRelu || identity);
    if (fused_) {
      std::vector<int> bd(cudnn_dims(s_.y).size(), 1);
      bd[1] = static_cast<int>(s_.out_channels);
      TARMAC_RETURN_IF_ERROR(bias_.set(dt, bd, s_.nhwc));
      TARMAC_RETURN_IF_ERROR(
          act_.set(identity ? CUDNN_ACTIVATION_IDENTITY : CUDNN_ACTIVATION_RELU, 0.0));
    }
    return Status::ok();
  }

  /// The heuristic's candidates (recorded for the builder) and the choice among them: the
  /// tactic when offered, else cuDNN's first acceptable algorithm.
  Status choose(const LaunchContext& ctx) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    TARMAC_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(
        handles_of(ctx).cudnn, x_.get(), w_.get(), conv_.get(), y_.get(),
        CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
    // Candidates in cuDNN's heuristic order, one per algorithm (with the math type the
    // heuristic reports first for it).
    const cudnnConvolutionFwdAlgoPerf_t* chosen = nullptr;
    candidates_.clear();
    std::vector<cudnnConvolutionFwdAlgo_t> seen;
    for (int i = 0; i < returned; ++i) {
      const bool fft = perf[i].algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT ||
                       perf[i].algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
                       perf[i].algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
      if (!acceptable(perf[i], s_.dtype, s_.allow_tf32, fft)) continue;
      if (std::find(seen.begin(), seen.end(), perf[i].algo) != seen.end()) continue;
      seen.push_back(perf[i].algo);
      const std::string name = tactic_name(perf[i].algo, perf[i].mathType);
      candidates_.push_back(name);
      if (!chosen || name == s_.tactic) chosen = &perf[i];
    }
    if (!chosen)
      return unsupported("Conv: cuDNN offers no algorithm for X {} W {} ({})", dims_to_string(s_.x),
                         dims_to_string(s_.w), dtype_name(s_.dtype));
    algo_ = chosen->algo;
    math_ = chosen->mathType;
    TARMAC_RETURN_IF_ERROR(conv_.set_math(run_math(math_, s_.dtype, s_.allow_tf32)));
    TARMAC_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(
        handles_of(ctx).cudnn, x_.get(), w_.get(), conv_.get(), y_.get(), algo_, &algo_bytes_));
    return Status::ok();
  }

  /// Sets up the recorded tactic directly; false (nothing changed) when there is none, it is
  /// malformed, or cuDNN refuses it here.
  bool replay(const LaunchContext& ctx) {
    int algo = -1, math = -1;
    if (std::sscanf(s_.tactic.c_str(), "cudnn_fwd_algo=%d,math=%d", &algo, &math) != 2 ||
        algo < 0 || algo >= CUDNN_CONVOLUTION_FWD_ALGO_COUNT || math < 0 || math > CUDNN_FMA_MATH ||
        s_.tactic != tactic_name(static_cast<cudnnConvolutionFwdAlgo_t>(algo),
                                 static_cast<cudnnMathType_t>(math)))
      return false;
    const auto a = static_cast<cudnnConvolutionFwdAlgo_t>(algo);
    const auto m = static_cast<cudnnMathType_t>(math);
    size_t bytes = 0;
    if (!conv_.set_math(run_math(m, s_.dtype, s_.allow_tf32)).is_ok() ||
        cudnnGetConvolutionForwardWorkspaceSize(handles_of(ctx).cudnn, x_.get(), w_.get(),
                                                conv_.get(), y_.get(), a,
                                                &bytes) != CUDNN_STATUS_SUCCESS ||
        bytes > kMaxConvWorkspace) {
      (void)conv_.set_math(requested_math(s_.dtype, s_.allow_tf32));
      return false;
    }
    algo_ = a;
    math_ = m;
    algo_bytes_ = bytes;
    return true;
  }

  static std::string tactic_name(cudnnConvolutionFwdAlgo_t algo, cudnnMathType_t math) {
    return fmt::format("cudnn_fwd_algo={},math={}", static_cast<int>(algo), static_cast<int>(math));
  }

  size_t workspace_bytes() const override { return pad_bytes_ + algo_bytes_; }
  std::vector<std::string> tactic_candidates() const override { return candidates_; }
  std::string tactic() const override { return tactic_name(algo_, math_); }

  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    const TensorView& y = outputs[0];  // [N, M, out...] or NHWC [N, out..., M]
    if (y.numel() == 0) return Status::ok();
    cudaStream_t stream = stream_of(ctx);
    const void* x = inputs[0].data;                                     // [N, C, in...] or NHWC
    const void* w = inputs[1].data;                                     // [M, C / group, k...]
    const void* bias = s_.has_bias ? inputs[2].data : nullptr;          // [M]
    const void* residual = s_.has_residual ? inputs[3].data : nullptr;  // [N, M, out...]
    char* ws = static_cast<char*>(ctx.workspace);
    if (pre_pad_) {
      TARMAC_RETURN_IF_ERROR(launch_typed(s_.dtype, [&](auto tag) {
        using T = decltype(tag);
        return launch_window_copy<T>(static_cast<const T*>(x), reinterpret_cast<T*>(ws), copy_,
                                     nullptr, ActParams{}, stream);
      }));
      x = ws;  // [N, C, padded in...]
    }
    void* algo_ws = algo_bytes_ > 0 ? ws + pad_bytes_ : nullptr;
    const Scale one{1.f, 1.0}, zero{0.f, 0.0};
    const cudnnHandle_t h = handles_of(ctx).cudnn;
    if (fused_) {
      // y = act(conv(x) + alpha2 * z + bias); z is the residual, or y itself scaled by 0.
      const Scale& alpha2 = residual ? one : zero;
      const void* z = residual ? residual : y.data;  // [N, M, out...]
      const cudnnStatus_t st = cudnnConvolutionBiasActivationForward(
          h, one.ptr(s_.dtype), x_.get(), x, w_.get(), w, conv_.get(), algo_, algo_ws, algo_bytes_,
          alpha2.ptr(s_.dtype), y_.get(), z, bias_.get(), bias, act_.get(), y_.get(), y.data);
      if (st == CUDNN_STATUS_SUCCESS) return Status::ok();
      if (st != CUDNN_STATUS_NOT_SUPPORTED && s_.dtype == DType::kFloat32) TARMAC_CUDNN_CHECK(st);
      fused_ = false;  // this algorithm has no fused form: convolution + epilogue from now on
    }
    TARMAC_CUDNN_CHECK(cudnnConvolutionForward(h, one.ptr(s_.dtype), x_.get(), x, w_.get(), w,
                                               conv_.get(), algo_, algo_ws, algo_bytes_,
                                               zero.ptr(s_.dtype), y_.get(), y.data));
    if (!bias && !residual && s_.act.act == EpilogueAct::kNone) return Status::ok();
    // Channels vary fastest in NHWC: the epilogue's channel is then i % M.
    const int64_t inner = s_.nhwc ? 1 : y.numel() / (s_.batch * s_.out_channels);
    return launch_typed(s_.dtype, [&](auto tag) {
      using T = decltype(tag);
      return launch_bias_residual_act<T>(
          static_cast<T*>(y.data), y.numel(), static_cast<const T*>(bias),
          static_cast<const T*>(residual), inner, s_.out_channels, s_.act, stream);
    });
  }

 private:
  ConvSetup s_;
  cudnn::TensorDesc x_, y_, bias_;
  cudnn::FilterDesc w_;
  cudnn::ConvDesc conv_;
  cudnn::ActivationDesc act_;
  cudnnConvolutionFwdAlgo_t algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  cudnnMathType_t math_ = CUDNN_DEFAULT_MATH;
  size_t algo_bytes_ = 0, pad_bytes_ = 0;
  bool pre_pad_ = false, fused_ = false;
  WindowCopy copy_;
  std::vector<std::string> candidates_;
};

/// ConvTranspose as cuDNN's backward-data convolution: X is dy, the weight [C, M / group, k...]
/// is the forward filter (K = C), Y is dx.
class ConvTransposeKernel final : public DeviceKernel {
 public:
  explicit ConvTransposeKernel(ConvSetup s) : s_(std::move(s)) {}

  Status initialize(const LaunchContext& ctx) override {
    // An empty output needs no work, and cuDNN refuses zero-sized descriptors.
    if (num_elements(s_.y) == 0) return Status::ok();
    const cudnnDataType_t dt = cudnn_dtype(s_.dtype);
    const cudnnDataType_t compute =
        s_.dtype == DType::kFloat64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    const size_t nsp = s_.in.size();
    // Direct when cuDNN's forward size of Y with symmetric pad_begin gives back X's extent.
    direct_ = true;
    Dims full;
    for (size_t i = 0; i < nsp; ++i) {
      const int64_t window = (s_.kernel[i] - 1) * s_.dilations[i] + 1;
      const int64_t span = s_.out[i] + 2 * s_.pad_begin[i] - window;
      direct_ &= span >= 0 && span / s_.strides[i] + 1 == s_.in[i];
      full.push_back(s_.strides[i] * (s_.in[i] - 1) + window);
    }
    std::vector<int> pads(nsp, 0);
    Dims dx = s_.y;
    if (direct_) {
      for (size_t i = 0; i < nsp; ++i) pads[i] = static_cast<int>(s_.pad_begin[i]);
    } else {
      // The unpadded result [N, M, full...] in the workspace, cropped by pad_begin.
      std::copy(full.begin(), full.end(), dx.begin() + 2);
      for (int64_t v : dx)
        if (v > INT_MAX) return unsupported("ConvTranspose: extent {} exceeds int range", v);
      full_bytes_ = align256(static_cast<size_t>(num_elements(dx)) * dtype_size(s_.dtype));
      copy_.planes = s_.batch * s_.out_channels;
      copy_.channels = s_.out_channels;
      set_extents(full, copy_.src);
      set_extents(s_.out, copy_.dst);
      for (size_t i = 0; i < nsp; ++i) copy_.shift[3 - nsp + i] = s_.pad_begin[i];
    }
    if (pads.size() == 1) pads.insert(pads.begin(), 0);
    TARMAC_RETURN_IF_ERROR(dy_.set(dt, cudnn_dims(s_.x), s_.nhwc));
    TARMAC_RETURN_IF_ERROR(w_.set(dt, cudnn_dims(s_.w), s_.nhwc));
    TARMAC_RETURN_IF_ERROR(dx_.set(dt, cudnn_dims(dx), s_.nhwc));
    TARMAC_RETURN_IF_ERROR(conv_.set(pads, cudnn_spatial(s_.strides, 1),
                                     cudnn_spatial(s_.dilations, 1), static_cast<int>(s_.group),
                                     compute, requested_math(s_.dtype, s_.allow_tf32)));
    if (num_elements(s_.y) == 0) return Status::ok();
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int returned = 0;
    TARMAC_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
        handles_of(ctx).cudnn, w_.get(), dy_.get(), conv_.get(), dx_.get(),
        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, perf));
    const cudnnConvolutionBwdDataAlgoPerf_t* chosen = nullptr;
    for (int i = 0; i < returned && !chosen; ++i) {
      const bool fft = perf[i].algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT ||
                       perf[i].algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
                       perf[i].algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
      if (acceptable(perf[i], s_.dtype, s_.allow_tf32, fft)) chosen = &perf[i];
    }
    if (!chosen)
      return unsupported("ConvTranspose: cuDNN offers no algorithm for X {} W {} ({})",
                         dims_to_string(s_.x), dims_to_string(s_.w), dtype_name(s_.dtype));
    algo_ = chosen->algo;
    TARMAC_RETURN_IF_ERROR(conv_.set_math(run_math(chosen->mathType, s_.dtype, s_.allow_tf32)));
    TARMAC_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
        handles_of(ctx).cudnn, w_.get(), dy_.get(), conv_.get(), dx_.get(), algo_, &algo_bytes_));
    return Status::ok();
  }

  size_t workspace_bytes() const override { return full_bytes_ + algo_bytes_; }

  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    const TensorView& y = outputs[0];  // [N, M, out...]
    if (y.numel() == 0) return Status::ok();
    cudaStream_t stream = stream_of(ctx);
    const void* x = inputs[0].data;                             // [N, C, in...]
    const void* w = inputs[1].data;                             // [C, M / group, k...]
    const void* bias = s_.has_bias ? inputs[2].data : nullptr;  // [M]
    char* ws = static_cast<char*>(ctx.workspace);
    void* dst = direct_ ? y.data : ws;  // [N, M, out...] or [N, M, full...]
    void* algo_ws = algo_bytes_ > 0 ? ws + full_bytes_ : nullptr;
    const Scale one{1.f, 1.0}, zero{0.f, 0.0};
    TARMAC_CUDNN_CHECK(cudnnConvolutionBackwardData(
        handles_of(ctx).cudnn, one.ptr(s_.dtype), w_.get(), w, dy_.get(), x, conv_.get(), algo_,
        algo_ws, algo_bytes_, zero.ptr(s_.dtype), dx_.get(), dst));
    if (direct_ && !bias && s_.act.act == EpilogueAct::kNone) return Status::ok();
    // Channels vary fastest in NHWC: the epilogue's channel is then i % M.
    const int64_t inner = s_.nhwc ? 1 : y.numel() / (s_.batch * s_.out_channels);
    return launch_typed(s_.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* b = static_cast<const T*>(bias);
      if (direct_)
        return launch_bias_act<T>(static_cast<T*>(y.data), y.numel(), b, inner, s_.out_channels,
                                  s_.act, stream);
      return launch_window_copy<T>(reinterpret_cast<const T*>(ws), static_cast<T*>(y.data), copy_,
                                   b, s_.act, stream);
    });
  }

 private:
  ConvSetup s_;
  cudnn::TensorDesc dy_, dx_;
  cudnn::FilterDesc w_;
  cudnn::ConvDesc conv_;
  cudnnConvolutionBwdDataAlgo_t algo_ = CUDNN_CONVOLUTION_BWD_DATA_ALGO_0;
  size_t algo_bytes_ = 0, full_bytes_ = 0;
  bool direct_ = true;
  WindowCopy copy_;
};

}  // namespace

StatusOr<std::unique_ptr<DeviceKernel>> make_conv(const KernelArgs& a) {
  TARMAC_ASSIGN_OR_RETURN(ConvSetup s, conv_setup(a, false));
  return std::unique_ptr<DeviceKernel>(new ConvKernel(std::move(s)));
}

StatusOr<std::unique_ptr<DeviceKernel>> make_conv_transpose(const KernelArgs& a) {
  TARMAC_ASSIGN_OR_RETURN(ConvSetup s, conv_setup(a, true));
  return std::unique_ptr<DeviceKernel>(new ConvTransposeKernel(std::move(s)));
}

}  // namespace tarmac::cuda::nn

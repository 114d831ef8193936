// Tactic timing: every layer whose kernel offers variants (DeviceKernel::tactic_candidates) runs
// each candidate on random inputs with the instance's real weights, and the fastest one whose
// output agrees with the default's is chosen. Also the device identity plans are bound to.
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_common.h"
#include "core/random.h"
#include "ir/fused_ops.h"
#include "runtime/cuda/instance.h"

namespace tarmac::cuda {

namespace {

/// The timing cache key: everything the fastest variant depends on — op, attributes, the types
/// and physical shapes of inputs and outputs, and the math allowed.
std::string layer_signature(const Node& n, const DeviceLayer& layer, const KernelConfig& c) {
  std::string sig = layer_type(n) + "|" + n.domain;
  for (const auto& [name, a] : n.attrs) {
    sig.append("|").append(name).append("=");
    switch (a.kind) {
      case Attribute::Kind::kInt:
        sig += std::to_string(a.i);
        break;
      case Attribute::Kind::kFloat:
        sig += fmt::format("{}", a.f);
        break;
      case Attribute::Kind::kString:
        sig += a.s;
        break;
      case Attribute::Kind::kInts:
        sig += fmt::format("{}", fmt::join(a.ints, ","));
        break;
      case Attribute::Kind::kFloats:
        sig += fmt::format("{}", fmt::join(a.floats, ","));
        break;
      default:
        sig += "?";
        break;
    }
  }
  for (const std::string& s : layer.inputs) sig.append("|in:").append(s);
  for (const std::string& s : layer.outputs) sig.append("|out:").append(s);
  sig += c.allow_tf32 ? "|tf32" : "|notf32";
  return sig;
}

int candidates_for_level(int level, size_t offered) {
  const size_t n = level <= 0 ? 1 : level == 1 ? 2 : level == 2 ? 4 : offered;
  return static_cast<int>(std::min(n, offered));
}

/// Output 0 of a run, for the agreement check.
StatusOr<Tensor> download(const Slot& s, const void* ptr) {
  TARMAC_ASSIGN_OR_RETURN(Tensor t, Tensor::create(s.dtype, s.dims));
  if (s.bytes() > 0) TARMAC_CUDA_CHECK(cudaMemcpy(t.raw(), ptr, s.bytes(), cudaMemcpyDeviceToHost));
  return t;
}

/// Device time of `iterations` launches replayed as one CUDA graph, as engines run: timing the
/// launches directly would measure the library's host overhead for small layers (tens of
/// microseconds in cuDNN's fused path), which a CUDA graph removes, and pick the wrong variant.
/// Kernels that cannot be captured are timed directly.
StatusOr<float> time_launches(DeviceKernel* k, const std::vector<TensorView>& ins,
                              const std::vector<TensorView>& outs, const LaunchContext& launch,
                              cudaStream_t stream, int iterations, cudaEvent_t a, cudaEvent_t b) {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  bool captured = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess;
  if (captured) {
    Status st = Status::ok();
    for (int it = 0; it < iterations && st.is_ok(); ++it) st = k->enqueue(ins, outs, launch);
    captured = cudaStreamEndCapture(stream, &graph) == cudaSuccess && st.is_ok() &&
               cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess;
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
  }
  float ms = 0;
  if (captured) {
    Status st = Status::ok();
    if (cudaGraphLaunch(exec, stream) != cudaSuccess ||  // warm
        cudaEventRecord(a, stream) != cudaSuccess || cudaGraphLaunch(exec, stream) != cudaSuccess ||
        cudaEventRecord(b, stream) != cudaSuccess || cudaEventSynchronize(b) != cudaSuccess ||
        cudaEventElapsedTime(&ms, a, b) != cudaSuccess)
      st = internal_error("timing a tactic's CUDA graph failed: {}",
                          cudaGetErrorString(cudaGetLastError()));
    cudaGraphExecDestroy(exec);
    TARMAC_RETURN_IF_ERROR(st);
    return ms;
  }
  if (exec) cudaGraphExecDestroy(exec);
  TARMAC_CUDA_CHECK(cudaEventRecord(a, stream));
  for (int it = 0; it < iterations; ++it) TARMAC_RETURN_IF_ERROR(k->enqueue(ins, outs, launch));
  TARMAC_CUDA_CHECK(cudaEventRecord(b, stream));
  TARMAC_CUDA_CHECK(cudaEventSynchronize(b));
  TARMAC_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
  return ms;
}

double tolerance(DType t) { return t == DType::kFloat16 || t == DType::kBFloat16 ? 2e-2 : 2e-3; }

}  // namespace

StatusOr<std::vector<TacticChoice>> time_instance_tactics(const Instance& inst,
                                                          const DeviceExecutorOptions& o,
                                                          const TacticTimingOptions& timing) {
  std::vector<TacticChoice> choices;
  if (timing.level <= 0 && !timing.cache) return choices;
  cudaStream_t stream = nullptr;
  TARMAC_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  struct Cleanup {
    cudaStream_t s;
    cudaEvent_t a = nullptr, b = nullptr;
    ~Cleanup() {
      if (a) cudaEventDestroy(a);
      if (b) cudaEventDestroy(b);
      cudaStreamSynchronize(s);
      cudaStreamDestroy(s);
    }
  } cleanup{stream};
  TARMAC_CUDA_CHECK(cudaEventCreate(&cleanup.a));
  TARMAC_CUDA_CHECK(cudaEventCreate(&cleanup.b));
  TARMAC_ASSIGN_OR_RETURN(std::unique_ptr<HandleSet> handles, HandleSet::create(stream));
  auto backend = make_cuda_backend();
  const int64_t opset = inst.model.onnx_opset();
  const int iterations = timing.level >= 4 ? 30 : 10;
  DeviceBuffer workspace;

  for (size_t i = 0; i < inst.steps.size(); ++i) {
    const InstanceStep& step = inst.steps[i];
    if (!step.on_device) continue;
    if (timing.progress)
      timing.progress(static_cast<double>(i) / static_cast<double>(inst.steps.size()),
                      "timing tactics of " + step.node->name);
    LaunchContext launch;
    launch.stream = stream;
    launch.handles = const_cast<Handles*>(&handles->handles());
    TARMAC_ASSIGN_OR_RETURN(std::unique_ptr<DeviceKernel> first,
                            backend->make_device_kernel(*step.node, opset, "", o.config));
    TARMAC_RETURN_IF_ERROR(first->initialize(launch).with_context(step.node->describe()));
    const std::vector<std::string> offered = first->tactic_candidates();
    if (offered.size() < 2) continue;
    TacticChoice choice;
    choice.node = step.node->name;
    choice.signature = layer_signature(*step.node, inst.layers[i], o.config);
    if (timing.cache) {
      if (auto hit = timing.cache->find(choice.signature); hit != timing.cache->end()) {
        choice.tactic = hit->second.tactic;
        choice.ms = hit->second.ms;
        choice.from_cache = true;
        choices.push_back(choice);
        continue;
      }
    }
    if (timing.level <= 0) continue;

    // Inputs: weights from the instance, activations random; outputs in fresh buffers.
    std::vector<DeviceBuffer> owned;
    std::vector<TensorView> ins, outs;
    for (int s : step.inputs) {
      if (s < 0) {
        ins.push_back(TensorView{});
        continue;
      }
      const Slot& slot = inst.slots[static_cast<size_t>(s)];
      if (slot.is_constant) {
        ins.push_back(TensorView{slot.dtype, slot.dims,
                                 static_cast<char*>(inst.weights.get()) + slot.offset});
        continue;
      }
      TARMAC_ASSIGN_OR_RETURN(DeviceBuffer buf, DeviceBuffer::allocate(slot.bytes()));
      const Tensor r = random_tensor(slot.dtype, slot.dims, 1234 + static_cast<uint64_t>(s));
      if (slot.bytes() > 0)
        TARMAC_CUDA_CHECK(cudaMemcpy(buf.get(), r.raw(), slot.bytes(), cudaMemcpyHostToDevice));
      ins.push_back(TensorView{slot.dtype, slot.dims, buf.get()});
      owned.push_back(std::move(buf));
    }
    for (int s : step.outputs) {
      if (s < 0) {
        outs.push_back(TensorView{});
        continue;
      }
      const Slot& slot = inst.slots[static_cast<size_t>(s)];
      TARMAC_ASSIGN_OR_RETURN(DeviceBuffer buf, DeviceBuffer::allocate(slot.bytes()));
      outs.push_back(TensorView{slot.dtype, slot.dims, buf.get()});
      owned.push_back(std::move(buf));
    }
    const Slot& out_slot = inst.slots[static_cast<size_t>(step.outputs[0])];

    Tensor reference;
    double best = std::numeric_limits<double>::infinity();
    const int n = candidates_for_level(timing.level, offered.size());
    for (int c = 0; c < n; ++c) {
      KernelConfig config = o.config;
      auto made = backend->make_device_kernel(*step.node, opset, offered[c], config);
      if (!made.is_ok()) continue;
      std::unique_ptr<DeviceKernel> k = std::move(made).value();
      if (!k->initialize(launch).is_ok() || k->tactic() != offered[c]) {
        choice.detail += fmt::format(" {} (not offered)", offered[c]);
        continue;
      }
      if (workspace.bytes() < k->workspace_bytes()) {
        workspace = DeviceBuffer();
        TARMAC_ASSIGN_OR_RETURN(workspace, DeviceBuffer::allocate(k->workspace_bytes()));
      }
      launch.workspace = workspace.get();
      launch.workspace_bytes = workspace.bytes();
      // Warm-up also settles a kernel that changes path on its first launch.
      bool ok = true;
      for (int w = 0; w < 2 && ok; ++w) ok = k->enqueue(ins, outs, launch).is_ok();
      if (!ok || cudaStreamSynchronize(stream) != cudaSuccess) {
        cudaGetLastError();
        choice.detail += fmt::format(" {} (failed)", offered[c]);
        continue;
      }
      TARMAC_ASSIGN_OR_RETURN(Tensor got, download(out_slot, outs[0].data));
      if (c == 0 || !reference.defined()) {
        reference = std::move(got);
      } else if (const double e = relative_l2_error(got, reference);
                 e > tolerance(out_slot.dtype)) {
        choice.detail += fmt::format(" {} (disagrees: {:.2g})", offered[c], e);
        continue;  // a variant that disagrees is never chosen
      }
      TARMAC_ASSIGN_OR_RETURN(const float ms, time_launches(k.get(), ins, outs, launch, stream,
                                                            iterations, cleanup.a, cleanup.b));
      const double per = ms / iterations;
      choice.detail += fmt::format(" {} {:.4f} ms", offered[c], per);
      ++choice.candidates;
      if (per < best) {
        best = per;
        choice.tactic = offered[c];
        choice.ms = per;
      }
    }
    if (choice.tactic.empty()) continue;
    if (timing.cache) (*timing.cache)[choice.signature] = TimedTactic{choice.tactic, choice.ms};
    choices.push_back(std::move(choice));
  }
  if (timing.progress) timing.progress(1.0, "tactics timed");
  return choices;
}

StatusOr<std::vector<TacticChoice>> CudaDeviceEngine::time_tactics(
    const TacticTimingOptions& options) {
  return time_instance_tactics(*first_, options_, options);
}

}  // namespace tarmac::cuda

namespace tarmac {

StatusOr<DeviceIdentity> query_device_identity() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    return unavailable("no CUDA device is available");
  }
  int dev = 0;
  cudaDeviceProp p{};
  TARMAC_CUDA_CHECK(cudaGetDevice(&dev));
  TARMAC_CUDA_CHECK(cudaGetDeviceProperties(&p, dev));
  DeviceIdentity id;
  id.name = p.name;
  id.compute_capability = p.major * 10 + p.minor;
  TARMAC_CUDA_CHECK(cudaRuntimeGetVersion(&id.cuda_runtime_version));
  id.cudnn_version = static_cast<int>(cudnnGetVersion());
  id.cublaslt_version = static_cast<int>(cublasLtGetVersion());
  return id;
}

}  // namespace tarmac

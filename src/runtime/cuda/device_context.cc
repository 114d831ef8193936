// The CUDA DeviceContext (see runtime/device_engine.h): a stream and library handles per
// context and, per bound set of input shapes, kernels, arena, workspace, pinned staging and the
// CUDA graph captured for them.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <utility>

#include "backends/cuda/cuda_backend.h"
#include "runtime/cuda/instance.h"

namespace tarmac::cuda {

namespace {

struct BoundStep {
  const InstanceStep* plan = nullptr;
  std::unique_ptr<DeviceKernel> device;  // null for a CPU fallback step
  std::unique_ptr<Kernel> host;
};

/// What a context holds for one set of input shapes. A captured graph bakes in the addresses of
/// this arena and workspace and the state of these kernels, so they live and die together.
struct Binding {
  Binding() = default;
  Binding(const Binding&) = delete;
  Binding& operator=(const Binding&) = delete;
  ~Binding() {
    if (graph) cudaGraphExecDestroy(graph);
  }

  std::shared_ptr<const Instance> instance;  // first member: outlives the kernels on its nodes
  std::vector<BoundStep> steps;
  DeviceBuffer arena, workspace;
  PinnedBuffer staging;
  std::vector<size_t> staging_offsets;  // inputs then outputs
  LaunchContext launch;
  bool use_graph = false;
  cudaGraphExec_t graph = nullptr;
  DeviceMemoryReport memory;
  uint64_t last_use = 0;
};

class CudaExecutionContext final : public DeviceContext {
 public:
  explicit CudaExecutionContext(std::shared_ptr<CudaDeviceEngine> engine)
      : engine_(std::move(engine)), use_graph_(engine_->options().use_cuda_graph) {}
  ~CudaExecutionContext() override {
    // Kernels and graphs may still be in flight after a failed run; they go before the
    // handles and the stream they use.
    if (stream_) cudaStreamSynchronize(stream_);
    active_ = nullptr;
    bindings_.clear();
    handles_.reset();
    if (start_) cudaEventDestroy(start_);
    if (caller_ready_) cudaEventDestroy(caller_ready_);
    if (done_) cudaEventDestroy(done_);
    if (stop_) cudaEventDestroy(stop_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  Status prepare();
  Status set_input_shapes(const std::map<std::string, Dims>& shapes) override;
  const std::map<std::string, Dims>& input_shapes() const override {
    return active_->instance->input_shapes;
  }
  Status run(const std::vector<std::pair<std::string, Tensor>>& inputs,
             std::vector<Tensor>* outputs) override {
    return run_impl(inputs, outputs, nullptr);
  }
  Status run_with_taps(const std::vector<std::pair<std::string, Tensor>>& inputs,
                       std::vector<Tensor>* outputs, const TensorTap& tap) override {
    if (!tap) return invalid_argument("run_with_taps needs a tap");
    return run_impl(inputs, outputs, &tap);
  }
  Status enqueue(const std::map<std::string, const void*>& inputs,
                 const std::map<std::string, void*>& outputs, void* stream) override;
  std::vector<std::pair<std::string, std::pair<DType, Dims>>> output_types() const override {
    std::vector<std::pair<std::string, std::pair<DType, Dims>>> r;
    for (int s : active_->instance->output_slots) {
      const Slot& slot = active_->instance->slots[static_cast<size_t>(s)];
      r.push_back({slot.value->name, {slot.dtype, slot.dims}});
    }
    return r;
  }
  void set_use_cuda_graph(bool on) override {
    use_graph_ = on;
    for (auto& [key, b] : bindings_) b->use_graph = on && !b->instance->has_host_steps;
  }
  std::vector<std::string> layer_tactics() const override {
    std::vector<std::string> r;
    for (const BoundStep& s : active_->steps) r.push_back(s.device ? s.device->tactic() : "");
    return r;
  }
  StatusOr<double> time_compute() override;
  StatusOr<std::vector<double>> profile_layers(int iterations) override;
  const DeviceMemoryReport& memory() const override { return active_->memory; }
  const std::vector<DeviceLayer>& layers() const override { return active_->instance->layers; }
  int graph_captures() const override { return captures_; }
  void* stream() const override { return stream_; }

 private:
  static void* address(const Binding& b, int slot) {
    const Slot& s = b.instance->slots[static_cast<size_t>(slot)];
    char* base = static_cast<char*>(s.is_constant ? b.instance->weights.get() : b.arena.get());
    return base + s.offset;
  }
  static TensorView view(const Binding& b, int slot) {
    if (slot < 0) return TensorView{};
    const Slot& s = b.instance->slots[static_cast<size_t>(slot)];
    return TensorView{s.dtype, s.dims, address(b, slot)};
  }
  /// Kernels (made and initialized for this context), arena, workspace and staging for `inst`.
  StatusOr<std::unique_ptr<Binding>> bind(std::shared_ptr<const Instance> inst);
  void activate(Binding* b) {
    active_ = b;
    b->last_use = ++clock_;
  }
  /// Drops least recently used bindings other than the active one until at most `keep` remain.
  void evict_to(size_t keep);
  Status run_impl(const std::vector<std::pair<std::string, Tensor>>& inputs,
                  std::vector<Tensor>* outputs, const TensorTap* tap);
  Status enqueue_steps(const Binding& b);
  /// The steps one by one, each followed by copies of its outputs for `tap`.
  Status run_steps_tapped(const Binding& b, const TensorTap& tap);
  /// One step: its kernel on the stream, or the CPU fallback.
  Status enqueue_step(const Binding& b, const BoundStep& step, std::vector<TensorView>* ins,
                      std::vector<TensorView>* outs);
  Status run_host_step(const Binding& b, const BoundStep& step);
  Status capture(Binding& b);

  std::shared_ptr<CudaDeviceEngine> engine_;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
  cudaEvent_t caller_ready_ = nullptr, done_ = nullptr;  // orders enqueue() on a caller's stream
  std::unique_ptr<HandleSet> handles_;
  std::map<std::string, std::unique_ptr<Binding>> bindings_;  // by instance signature
  Binding* active_ = nullptr;
  uint64_t clock_ = 0;
  int captures_ = 0;
  bool use_graph_ = false;
};

Status CudaExecutionContext::prepare() {
  TARMAC_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  TARMAC_CUDA_CHECK(cudaEventCreate(&start_));
  TARMAC_CUDA_CHECK(cudaEventCreate(&stop_));
  TARMAC_CUDA_CHECK(cudaEventCreateWithFlags(&caller_ready_, cudaEventDisableTiming));
  TARMAC_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
  TARMAC_ASSIGN_OR_RETURN(handles_, HandleSet::create(stream_));
  TARMAC_ASSIGN_OR_RETURN(std::unique_ptr<Binding> b, bind(engine_->first_instance()));
  Binding* raw = b.get();
  bindings_[raw->instance->signature] = std::move(b);
  activate(raw);
  return Status::ok();
}

StatusOr<std::unique_ptr<Binding>> CudaExecutionContext::bind(
    std::shared_ptr<const Instance> inst) {
  const DeviceExecutorOptions& o = engine_->options();
  auto b = std::make_unique<Binding>();
  b->instance = std::move(inst);
  const Instance& in = *b->instance;
  b->launch.stream = stream_;
  b->launch.handles = const_cast<Handles*>(&handles_->handles());
  auto backend = make_cuda_backend();
  auto cpu = make_cpu_backend();
  const int64_t opset = in.model.onnx_opset();
  size_t workspace = 0;
  for (const InstanceStep& s : in.steps) {
    BoundStep bound;
    bound.plan = &s;
    if (s.on_device) {
      TARMAC_ASSIGN_OR_RETURN(bound.device,
                              backend->make_device_kernel(*s.node, opset, s.tactic, o.config));
      Status st = bound.device->initialize(b->launch);
      if (!st.is_ok()) return st.with_context(s.node->describe());
      workspace = std::max(workspace, bound.device->workspace_bytes());
    } else {
      TARMAC_ASSIGN_OR_RETURN(bound.host, cpu->make_kernel(*s.node, opset, "cpu_reference"));
    }
    b->steps.push_back(std::move(bound));
  }
  TARMAC_ASSIGN_OR_RETURN(b->arena, DeviceBuffer::allocate(in.arena_bytes));
  TARMAC_ASSIGN_OR_RETURN(b->workspace, DeviceBuffer::allocate(workspace));
  b->launch.workspace = b->workspace.get();
  b->launch.workspace_bytes = workspace;

  size_t staging = 0;
  for (int s : in.input_slots) {
    b->staging_offsets.push_back(staging);
    staging += align_up(in.slots[static_cast<size_t>(s)].bytes());
  }
  for (int s : in.output_slots) {
    b->staging_offsets.push_back(staging);
    staging += align_up(in.slots[static_cast<size_t>(s)].bytes());
  }
  TARMAC_ASSIGN_OR_RETURN(b->staging, PinnedBuffer::allocate(staging));
  b->use_graph = use_graph_ && !in.has_host_steps;
  b->memory.arena_bytes = in.arena_bytes;
  b->memory.lower_bound_bytes = in.lower_bound_bytes;
  b->memory.weight_bytes = in.weights.bytes();
  b->memory.workspace_bytes = workspace;
  return b;
}

void CudaExecutionContext::evict_to(size_t keep) {
  while (bindings_.size() > keep) {
    auto victim = bindings_.end();
    for (auto it = bindings_.begin(); it != bindings_.end(); ++it)
      if (it->second.get() != active_ &&
          (victim == bindings_.end() || it->second->last_use < victim->second->last_use))
        victim = it;
    if (victim == bindings_.end()) return;
    cudaStreamSynchronize(stream_);  // nothing of the victim may still be in flight
    bindings_.erase(victim);
  }
}

Status CudaExecutionContext::set_input_shapes(const std::map<std::string, Dims>& shapes) {
  std::map<std::string, Dims> full = active_->instance->input_shapes;
  for (const auto& [name, dims] : shapes) full[name] = dims;
  const std::string key = shape_signature(full);
  if (key == active_->instance->signature) return Status::ok();
  if (auto it = bindings_.find(key); it != bindings_.end()) {
    activate(it->second.get());
    return Status::ok();
  }
  TARMAC_ASSIGN_OR_RETURN(std::shared_ptr<const Instance> inst, engine_->instance(full));
  // Room first, so the new arena may reuse what a dropped binding freed; the active binding
  // stays until the new one exists, so on failure the context keeps its shapes.
  const size_t max = static_cast<size_t>(engine_->options().max_cached_shapes);
  evict_to(max - 1);
  TARMAC_ASSIGN_OR_RETURN(std::unique_ptr<Binding> b, bind(std::move(inst)));
  Binding* raw = b.get();
  bindings_[raw->instance->signature] = std::move(b);
  activate(raw);
  evict_to(max);
  return Status::ok();
}

Status CudaExecutionContext::run_host_step(const Binding& b, const BoundStep& step) {
  // Fallback: bring the inputs to the host, run the reference kernel, send the outputs back.
  TARMAC_CUDA_CHECK(cudaStreamSynchronize(stream_));
  const std::vector<Slot>& slots = b.instance->slots;
  std::vector<Tensor> host_in;
  host_in.reserve(step.plan->inputs.size());
  std::vector<const Tensor*> ptrs;
  for (int s : step.plan->inputs) {
    if (s < 0) {
      ptrs.push_back(nullptr);
      continue;
    }
    const Slot& slot = slots[static_cast<size_t>(s)];
    TARMAC_ASSIGN_OR_RETURN(Tensor t, Tensor::create(slot.dtype, slot.dims));
    if (slot.bytes() > 0)
      TARMAC_CUDA_CHECK(cudaMemcpy(t.raw(), address(b, s), slot.bytes(), cudaMemcpyDeviceToHost));
    host_in.push_back(std::move(t));
    ptrs.push_back(&host_in.back());
  }
  std::vector<Tensor> outs;
  TARMAC_RETURN_IF_ERROR(step.host->run(ptrs, &outs));
  for (size_t o = 0; o < step.plan->outputs.size(); ++o) {
    const int s = step.plan->outputs[o];
    if (s < 0) continue;
    const Slot& slot = slots[static_cast<size_t>(s)];
    if (o >= outs.size() || outs[o].dims() != slot.dims || outs[o].dtype() != slot.dtype)
      return internal_error("{}: CPU fallback produced a different output {} than inferred",
                            step.plan->node->describe(), o);
    if (slot.bytes() > 0)
      TARMAC_CUDA_CHECK(
          cudaMemcpy(address(b, s), outs[o].raw(), slot.bytes(), cudaMemcpyHostToDevice));
  }
  return Status::ok();
}

Status CudaExecutionContext::enqueue_step(const Binding& b, const BoundStep& step,
                                          std::vector<TensorView>* ins,
                                          std::vector<TensorView>* outs) {
  if (!step.device) return run_host_step(b, step);
  ins->clear();
  outs->clear();
  for (int s : step.plan->inputs) ins->push_back(view(b, s));
  for (int s : step.plan->outputs) outs->push_back(view(b, s));
  return step.device->enqueue(*ins, *outs, b.launch).with_context(step.plan->node->describe());
}

Status CudaExecutionContext::enqueue_steps(const Binding& b) {
  std::vector<TensorView> ins, outs;
  for (const BoundStep& step : b.steps) TARMAC_RETURN_IF_ERROR(enqueue_step(b, step, &ins, &outs));
  return Status::ok();
}

Status CudaExecutionContext::run_steps_tapped(const Binding& b, const TensorTap& tap) {
  std::vector<TensorView> ins, outs;
  for (const BoundStep& step : b.steps) {
    TARMAC_RETURN_IF_ERROR(enqueue_step(b, step, &ins, &outs));
    const Node& node = *step.plan->node;
    for (size_t o = 0; o < step.plan->outputs.size(); ++o) {
      const int s = step.plan->outputs[o];
      if (s < 0) continue;
      const Slot& slot = b.instance->slots[static_cast<size_t>(s)];
      TARMAC_ASSIGN_OR_RETURN(Tensor t, Tensor::create(slot.dtype, slot.dims));
      // Ordered after the layer on the stream; a later layer may reuse this arena range.
      if (slot.bytes() > 0)
        TARMAC_CUDA_CHECK(
            cudaMemcpyAsync(t.raw(), address(b, s), slot.bytes(), cudaMemcpyDeviceToHost, stream_));
      TARMAC_CUDA_CHECK(cudaStreamSynchronize(stream_));
      tap(node, *slot.value, t);
    }
  }
  return Status::ok();
}

Status CudaExecutionContext::capture(Binding& b) {
  // Thread-local mode: contexts on other threads keep allocating and capturing meanwhile.
  cudaGraph_t graph = nullptr;
  TARMAC_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  Status st = enqueue_steps(b);
  const cudaError_t end = cudaStreamEndCapture(stream_, &graph);
  TARMAC_RETURN_IF_ERROR(st);
  TARMAC_CUDA_CHECK(end);
  const cudaError_t inst = cudaGraphInstantiate(&b.graph, graph, 0);
  cudaGraphDestroy(graph);
  TARMAC_CUDA_CHECK(inst);
  ++captures_;
  return Status::ok();
}

Status CudaExecutionContext::run_impl(const std::vector<std::pair<std::string, Tensor>>& inputs,
                                      std::vector<Tensor>* outputs, const TensorTap* tap) {
  Binding& b = *active_;
  const Instance& in = *b.instance;
  std::vector<bool> given(in.input_slots.size(), false);
  char* staging = static_cast<char*>(b.staging.get());
  for (const auto& [name, t] : inputs) {
    auto it = std::find(in.input_names.begin(), in.input_names.end(), name);
    if (it == in.input_names.end())
      return invalid_argument("'{}' is not an input of the model", name);
    const size_t i = static_cast<size_t>(it - in.input_names.begin());
    const Slot& s = in.slots[static_cast<size_t>(in.input_slots[i])];
    if (t.dtype() != s.dtype || t.dims() != s.dims)
      return invalid_argument(
          "input '{}' expects {} {} but got {} {} (set_input_shapes changes the shapes)", name,
          dtype_name(s.dtype), dims_to_string(s.dims), dtype_name(t.dtype()),
          dims_to_string(t.dims()));
    if (s.bytes() > 0) std::memcpy(staging + b.staging_offsets[i], t.raw(), s.bytes());
    given[i] = true;
  }
  for (size_t i = 0; i < given.size(); ++i)
    if (!given[i]) return invalid_argument("input '{}' was not given", in.input_names[i]);
  for (size_t i = 0; i < in.input_slots.size(); ++i) {
    const int s = in.input_slots[i];
    const size_t bytes = in.slots[static_cast<size_t>(s)].bytes();
    if (bytes > 0)
      TARMAC_CUDA_CHECK(cudaMemcpyAsync(address(b, s), staging + b.staging_offsets[i], bytes,
                                        cudaMemcpyHostToDevice, stream_));
  }
  if (tap) {
    TARMAC_RETURN_IF_ERROR(run_steps_tapped(b, *tap));
  } else if (b.use_graph) {
    if (!b.graph) TARMAC_RETURN_IF_ERROR(capture(b));
    TARMAC_CUDA_CHECK(cudaGraphLaunch(b.graph, stream_));
  } else {
    TARMAC_RETURN_IF_ERROR(enqueue_steps(b));
  }
  const size_t n_in = in.input_slots.size();
  for (size_t i = 0; i < in.output_slots.size(); ++i) {
    const int s = in.output_slots[i];
    const size_t bytes = in.slots[static_cast<size_t>(s)].bytes();
    if (bytes > 0)
      TARMAC_CUDA_CHECK(cudaMemcpyAsync(staging + b.staging_offsets[n_in + i], address(b, s), bytes,
                                        cudaMemcpyDeviceToHost, stream_));
  }
  TARMAC_CUDA_CHECK(cudaStreamSynchronize(stream_));
  outputs->clear();
  for (size_t i = 0; i < in.output_slots.size(); ++i) {
    const Slot& s = in.slots[static_cast<size_t>(in.output_slots[i])];
    TARMAC_ASSIGN_OR_RETURN(Tensor t, Tensor::create(s.dtype, s.dims));
    if (s.bytes() > 0) std::memcpy(t.raw(), staging + b.staging_offsets[n_in + i], s.bytes());
    outputs->push_back(std::move(t));
  }
  return Status::ok();
}

Status CudaExecutionContext::enqueue(const std::map<std::string, const void*>& inputs,
                                     const std::map<std::string, void*>& outputs, void* stream) {
  Binding& b = *active_;
  const Instance& in = *b.instance;
  auto caller = static_cast<cudaStream_t>(stream);
  // The caller's prior work (which may write the inputs) before ours; ours before its later work.
  TARMAC_CUDA_CHECK(cudaEventRecord(caller_ready_, caller));
  TARMAC_CUDA_CHECK(cudaStreamWaitEvent(stream_, caller_ready_, 0));
  for (const auto& [name, ptr] : inputs) {
    auto it = std::find(in.input_names.begin(), in.input_names.end(), name);
    if (it == in.input_names.end())
      return invalid_argument("'{}' is not an input of the model", name);
    const int s = in.input_slots[static_cast<size_t>(it - in.input_names.begin())];
    const size_t bytes = in.slots[static_cast<size_t>(s)].bytes();
    if (bytes > 0)
      TARMAC_CUDA_CHECK(
          cudaMemcpyAsync(address(b, s), ptr, bytes, cudaMemcpyDeviceToDevice, stream_));
  }
  if (b.use_graph) {
    if (!b.graph) TARMAC_RETURN_IF_ERROR(capture(b));
    TARMAC_CUDA_CHECK(cudaGraphLaunch(b.graph, stream_));
  } else {
    TARMAC_RETURN_IF_ERROR(enqueue_steps(b));
  }
  for (const auto& [name, ptr] : outputs) {
    int slot = -1;
    for (int s : in.output_slots)
      if (in.slots[static_cast<size_t>(s)].value->name == name) slot = s;
    if (slot < 0) return invalid_argument("'{}' is not an output of the model", name);
    const size_t bytes = in.slots[static_cast<size_t>(slot)].bytes();
    if (bytes > 0)
      TARMAC_CUDA_CHECK(
          cudaMemcpyAsync(ptr, address(b, slot), bytes, cudaMemcpyDeviceToDevice, stream_));
  }
  TARMAC_CUDA_CHECK(cudaEventRecord(done_, stream_));
  TARMAC_CUDA_CHECK(cudaStreamWaitEvent(caller, done_, 0));
  return Status::ok();
}

StatusOr<double> CudaExecutionContext::time_compute() {
  const Binding& b = *active_;
  TARMAC_CUDA_CHECK(cudaEventRecord(start_, stream_));
  if (b.use_graph && b.graph) {
    TARMAC_CUDA_CHECK(cudaGraphLaunch(b.graph, stream_));
  } else {
    TARMAC_RETURN_IF_ERROR(enqueue_steps(b));
  }
  TARMAC_CUDA_CHECK(cudaEventRecord(stop_, stream_));
  TARMAC_CUDA_CHECK(cudaEventSynchronize(stop_));
  float ms = 0;
  TARMAC_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
  return static_cast<double>(ms);
}

StatusOr<std::vector<double>> CudaExecutionContext::profile_layers(int iterations) {
  if (iterations < 1) return invalid_argument("profile_layers needs at least one iteration");
  // Each layer alone, as one CUDA graph replaying it `reps` times between two events: the
  // GPU time of the layer without the host's launch gaps (which, enqueued one by one, would
  // dominate small layers and which a whole-inference CUDA graph does not have). Layers are
  // idempotent (they overwrite their outputs from unchanged inputs), so repeating one is safe.
  // CPU fallback steps are timed once per iteration, transfers included.
  const Binding& b = *active_;
  const int reps = 10;
  std::vector<double> ms(b.steps.size(), 0.0);
  std::vector<TensorView> ins, outs;
  for (size_t i = 0; i < b.steps.size(); ++i) {
    const BoundStep& step = b.steps[i];
    if (!step.device) {
      for (int it = 0; it < iterations; ++it) {
        const auto t0 = std::chrono::steady_clock::now();
        TARMAC_RETURN_IF_ERROR(enqueue_step(b, step, &ins, &outs));
        TARMAC_CUDA_CHECK(cudaStreamSynchronize(stream_));
        ms[i] += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                     .count() /
                 iterations;
      }
      continue;
    }
    cudaGraph_t graph = nullptr;
    TARMAC_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    Status st;
    for (int r = 0; r < reps && st.is_ok(); ++r) st = enqueue_step(b, step, &ins, &outs);
    const cudaError_t end = cudaStreamEndCapture(stream_, &graph);
    TARMAC_RETURN_IF_ERROR(st);
    TARMAC_CUDA_CHECK(end);
    cudaGraphExec_t exec = nullptr;
    const cudaError_t inst = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    TARMAC_CUDA_CHECK(inst);
    cudaError_t e = cudaGraphLaunch(exec, stream_);  // warm-up
    std::vector<float> times;
    for (int it = 0; it < iterations && e == cudaSuccess; ++it) {
      e = cudaEventRecord(start_, stream_);
      if (e == cudaSuccess) e = cudaGraphLaunch(exec, stream_);
      if (e == cudaSuccess) e = cudaEventRecord(stop_, stream_);
      if (e == cudaSuccess) e = cudaEventSynchronize(stop_);
      float t = 0;
      if (e == cudaSuccess) e = cudaEventElapsedTime(&t, start_, stop_);
      times.push_back(t / reps);
    }
    cudaGraphExecDestroy(exec);
    TARMAC_CUDA_CHECK(e);
    std::sort(times.begin(), times.end());
    ms[i] = times[times.size() / 2];  // median
  }
  return ms;
}

}  // namespace

StatusOr<std::unique_ptr<DeviceContext>> make_device_context(
    std::shared_ptr<CudaDeviceEngine> engine) {
  auto ctx = std::make_unique<CudaExecutionContext>(std::move(engine));
  TARMAC_RETURN_IF_ERROR(ctx->prepare());
  return std::unique_ptr<DeviceContext>(std::move(ctx));
}

}  // namespace tarmac::cuda

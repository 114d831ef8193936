// The CUDA DeviceExecutor (see runtime/device_executor.h).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "backends/backend.h"
#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_common.h"
#include "builder/precision.h"
#include "ir/fused_ops.h"
#include "ir/inference.h"
#include "ir/verifier.h"
#include "passes/pass_manager.h"
#include "runtime/device_executor.h"
#include "runtime/memory_plan.h"

namespace tarmac {

namespace {

constexpr size_t kAlign = 256;

size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

/// Where a value lives on the device.
struct Slot {
  const Value* value = nullptr;
  DType dtype = DType::kUndefined;
  Dims dims;
  bool is_constant = false;
  size_t offset = 0;  // into the weights buffer (constants) or the arena (the rest)
  size_t bytes() const { return static_cast<size_t>(num_elements(dims)) * dtype_size(dtype); }
};

struct Step {
  const Node* node = nullptr;
  std::unique_ptr<DeviceKernel> device;  // null for a CPU fallback step
  std::unique_ptr<Kernel> host;
  std::vector<int> inputs, outputs;  // slot per input/output, -1 when absent
};

class CudaDeviceExecutor final : public DeviceExecutor {
 public:
  ~CudaDeviceExecutor() override {
    if (graph_exec_) cudaGraphExecDestroy(graph_exec_);
    handles_.reset();
    if (start_) cudaEventDestroy(start_);
    if (stop_) cudaEventDestroy(stop_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  Status prepare(Model model, const DeviceExecutorOptions& o);
  Status run(const std::vector<std::pair<std::string, Tensor>>& inputs,
             std::vector<Tensor>* outputs) override;
  StatusOr<double> time_compute() override;
  StatusOr<std::vector<double>> profile_layers(int iterations) override;
  const DeviceMemoryReport& memory() const override { return memory_; }
  const std::vector<DeviceLayer>& layers() const override { return layers_; }
  std::string device_name() const override { return cuda::device_description(); }

 private:
  void* address(int slot) const {
    const Slot& s = slots_[static_cast<size_t>(slot)];
    char* base = static_cast<char*>(s.is_constant ? weights_.get() : arena_.get());
    return base + s.offset;
  }
  TensorView view(int slot) const {
    if (slot < 0) return TensorView{};
    const Slot& s = slots_[static_cast<size_t>(slot)];
    return TensorView{s.dtype, s.dims, address(slot)};
  }
  Status enqueue_steps();
  /// One step: its kernel on the stream, or the CPU fallback.
  Status enqueue_step(const Step& step, std::vector<TensorView>* ins,
                      std::vector<TensorView>* outs);
  Status run_host_step(const Step& step);

  Model model_;
  std::vector<Slot> slots_;
  std::vector<Step> steps_;
  std::vector<int> input_slots_, output_slots_;
  std::vector<std::string> input_names_;
  cuda::DeviceBuffer arena_, weights_, workspace_;
  cuda::PinnedBuffer staging_;
  std::vector<size_t> staging_offsets_;  // inputs then outputs
  cudaStream_t stream_ = nullptr;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
  std::unique_ptr<cuda::HandleSet> handles_;
  LaunchContext launch_;
  bool has_host_steps_ = false;
  bool use_graph_ = false;
  cudaGraphExec_t graph_exec_ = nullptr;
  DeviceMemoryReport memory_;
  std::vector<DeviceLayer> layers_;
};

Status CudaDeviceExecutor::prepare(Model model, const DeviceExecutorOptions& o) {
  TARMAC_RETURN_IF_ERROR(cuda::device_available());
  model_ = std::move(model);
  Graph& g = model_.graph;
  TARMAC_RETURN_IF_ERROR(override_input_shapes(g, o.input_shapes));
  for (const Value* v : g.inputs) {
    if (!v->type.has_shape || !shape_is_static(v->type.shape))
      return invalid_argument(
          "input '{}' has dynamic shape {}; give static shapes (--shapes={}:...)", v->name,
          v->type.to_string(), v->name);
  }
  if (o.optimize) {
    PassOptions po;
    po.evaluator = evaluate_node_on_cpu;
    po.log = o.log;
    TARMAC_RETURN_IF_ERROR(default_pipeline().run(model_, po, nullptr));
  } else {
    InferOptions io;
    io.evaluator = evaluate_node_on_cpu;
    TARMAC_RETURN_IF_ERROR(verify_and_infer(g, model_.onnx_opset(), io));
  }
  if (o.precision != DType::kFloat32) {
    PrecisionOptions p;
    p.dtype = o.precision;
    p.keep_fp32 = o.keep_fp32;
    TARMAC_RETURN_IF_ERROR(assign_precision(model_, p));
  }

  // Slots for every value read or written at run time.
  std::map<const Value*, int> slot_of;
  auto slot = [&](const Value* v) -> StatusOr<int> {
    if (auto it = slot_of.find(v); it != slot_of.end()) return it->second;
    if (!v->type.has_shape || !shape_is_static(v->type.shape))
      return unsupported(
          "value '{}' has no static shape ({}); the CUDA executor needs static "
          "shapes",
          v->name, v->type.to_string());
    Slot s;
    s.value = v;
    s.dtype = v->type.dtype;
    s.dims = static_dims(v->type.shape);
    s.is_constant = v->constant != nullptr;
    slots_.push_back(s);
    slot_of[v] = static_cast<int>(slots_.size() - 1);
    return slot_of[v];
  };
  for (const Value* v : g.inputs) {
    TARMAC_ASSIGN_OR_RETURN(int s, slot(v));
    input_slots_.push_back(s);
    input_names_.push_back(v->name);
  }
  auto backend = make_cuda_backend();
  auto cpu = make_cpu_backend();
  const int64_t opset = model_.onnx_opset();
  std::vector<std::string> refused;
  for (auto& n : g.nodes) {
    bool folded = true;
    for (const Value* out : n->outputs)
      if (out && !out->constant) folded = false;
    if (folded) continue;
    Step step;
    step.node = n.get();
    auto k = backend->make_device_kernel(*n, opset, "", o.config);
    if (k.is_ok()) {
      step.device = std::move(k).value();
    } else if (k.status().code() == StatusCode::kUnsupported && o.allow_cpu_fallback) {
      TARMAC_ASSIGN_OR_RETURN(step.host, cpu->make_kernel(*n, opset, "cpu_reference"));
      has_host_steps_ = true;
      if (o.log) o.log(fmt::format("CPU fallback: {}", k.status().message()));
    } else if (k.status().code() == StatusCode::kUnsupported) {
      refused.push_back(k.status().message());
      continue;
    } else {
      return k.status();
    }
    for (const Value* in : n->inputs) {
      if (!in) {
        step.inputs.push_back(-1);
        continue;
      }
      TARMAC_ASSIGN_OR_RETURN(int s, slot(in));
      step.inputs.push_back(s);
    }
    for (const Value* out : n->outputs) {
      if (!out) {
        step.outputs.push_back(-1);
        continue;
      }
      TARMAC_ASSIGN_OR_RETURN(int s, slot(out));
      step.outputs.push_back(s);
    }
    layers_.push_back({n->name, layer_type(*n), step.device ? "cuda" : "cpu"});
    steps_.push_back(std::move(step));
  }
  if (!refused.empty()) {
    std::string list;
    for (size_t i = 0; i < refused.size() && i < 8; ++i) list.append("\n  ").append(refused[i]);
    if (refused.size() > 8) list += fmt::format("\n  ... and {} more", refused.size() - 8);
    return unsupported(
        "{} node(s) cannot run on the GPU (allow CPU fallback to run them on "
        "the CPU):{}",
        refused.size(), list);
  }
  for (const Value* v : g.outputs) {
    TARMAC_ASSIGN_OR_RETURN(int s, slot(v));
    output_slots_.push_back(s);
  }

  // Weights: every constant slot, packed once.
  size_t weight_bytes = 0;
  for (Slot& s : slots_) {
    if (!s.is_constant) continue;
    s.offset = weight_bytes;
    weight_bytes += align_up(std::max<size_t>(s.bytes(), 1));
  }
  TARMAC_ASSIGN_OR_RETURN(weights_, cuda::DeviceBuffer::allocate(weight_bytes));
  for (const Slot& s : slots_)
    if (s.is_constant && s.bytes() > 0)
      TARMAC_CUDA_CHECK(cudaMemcpy(static_cast<char*>(weights_.get()) + s.offset,
                                   s.value->constant->raw(), s.bytes(), cudaMemcpyHostToDevice));
  memory_.weight_bytes = weight_bytes;

  // Activations: lifetimes in steps; graph inputs live from the start, outputs to the end.
  const int end = static_cast<int>(steps_.size());
  std::vector<int> first(slots_.size(), -1), last(slots_.size(), -1);
  for (int s : input_slots_) first[static_cast<size_t>(s)] = 0;
  for (int i = 0; i < end; ++i) {
    for (int s : steps_[static_cast<size_t>(i)].outputs)
      if (s >= 0 && first[static_cast<size_t>(s)] < 0) first[static_cast<size_t>(s)] = i;
    for (int s : steps_[static_cast<size_t>(i)].inputs)
      if (s >= 0) last[static_cast<size_t>(s)] = i;
  }
  for (int s : output_slots_) last[static_cast<size_t>(s)] = end;
  std::vector<BufferRequest> requests;
  std::vector<int> request_slot;
  for (size_t s = 0; s < slots_.size(); ++s) {
    if (slots_[s].is_constant) continue;
    const int f = std::max(first[s], 0);
    requests.push_back({slots_[s].bytes(), f, std::max(last[s], f)});
    request_slot.push_back(static_cast<int>(s));
  }
  const MemoryPlan plan = plan_memory(requests, kAlign);
  for (size_t r = 0; r < requests.size(); ++r)
    slots_[static_cast<size_t>(request_slot[r])].offset = plan.offsets[r];
  memory_.arena_bytes = plan.arena_bytes;
  memory_.lower_bound_bytes = plan.lower_bound_bytes;
  TARMAC_ASSIGN_OR_RETURN(arena_, cuda::DeviceBuffer::allocate(plan.arena_bytes));

  TARMAC_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  TARMAC_CUDA_CHECK(cudaEventCreate(&start_));
  TARMAC_CUDA_CHECK(cudaEventCreate(&stop_));
  TARMAC_ASSIGN_OR_RETURN(handles_, cuda::HandleSet::create(stream_));
  launch_.stream = stream_;
  launch_.handles = const_cast<cuda::Handles*>(&handles_->handles());
  size_t workspace = 0;
  for (Step& s : steps_) {
    if (!s.device) continue;
    Status st = s.device->initialize(launch_);
    if (!st.is_ok()) return st.with_context(s.node->describe());
    workspace = std::max(workspace, s.device->workspace_bytes());
  }
  TARMAC_ASSIGN_OR_RETURN(workspace_, cuda::DeviceBuffer::allocate(workspace));
  launch_.workspace = workspace_.get();
  launch_.workspace_bytes = workspace;
  memory_.workspace_bytes = workspace;

  size_t staging = 0;
  for (int s : input_slots_) {
    staging_offsets_.push_back(staging);
    staging += align_up(slots_[static_cast<size_t>(s)].bytes());
  }
  for (int s : output_slots_) {
    staging_offsets_.push_back(staging);
    staging += align_up(slots_[static_cast<size_t>(s)].bytes());
  }
  TARMAC_ASSIGN_OR_RETURN(staging_, cuda::PinnedBuffer::allocate(staging));
  use_graph_ = o.use_cuda_graph && !has_host_steps_;
  return Status::ok();
}

Status CudaDeviceExecutor::run_host_step(const Step& step) {
  // Fallback: bring the inputs to the host, run the reference kernel, send the outputs back.
  TARMAC_CUDA_CHECK(cudaStreamSynchronize(stream_));
  std::vector<Tensor> host_in;
  host_in.reserve(step.inputs.size());
  std::vector<const Tensor*> ptrs;
  for (int s : step.inputs) {
    if (s < 0) {
      ptrs.push_back(nullptr);
      continue;
    }
    const Slot& slot = slots_[static_cast<size_t>(s)];
    TARMAC_ASSIGN_OR_RETURN(Tensor t, Tensor::create(slot.dtype, slot.dims));
    if (slot.bytes() > 0)
      TARMAC_CUDA_CHECK(cudaMemcpy(t.raw(), address(s), slot.bytes(), cudaMemcpyDeviceToHost));
    host_in.push_back(std::move(t));
    ptrs.push_back(&host_in.back());
  }
  std::vector<Tensor> outs;
  TARMAC_RETURN_IF_ERROR(step.host->run(ptrs, &outs));
  for (size_t o = 0; o < step.outputs.size(); ++o) {
    const int s = step.outputs[o];
    if (s < 0) continue;
    const Slot& slot = slots_[static_cast<size_t>(s)];
    if (o >= outs.size() || outs[o].dims() != slot.dims || outs[o].dtype() != slot.dtype)
      return internal_error("{}: CPU fallback produced a different output {} than inferred",
                            step.node->describe(), o);
    if (slot.bytes() > 0)
      TARMAC_CUDA_CHECK(
          cudaMemcpy(address(s), outs[o].raw(), slot.bytes(), cudaMemcpyHostToDevice));
  }
  return Status::ok();
}

Status CudaDeviceExecutor::enqueue_step(const Step& step, std::vector<TensorView>* ins,
                                        std::vector<TensorView>* outs) {
  if (!step.device) return run_host_step(step);
  ins->clear();
  outs->clear();
  for (int s : step.inputs) ins->push_back(view(s));
  for (int s : step.outputs) outs->push_back(view(s));
  return step.device->enqueue(*ins, *outs, launch_).with_context(step.node->describe());
}

Status CudaDeviceExecutor::enqueue_steps() {
  std::vector<TensorView> ins, outs;
  for (const Step& step : steps_) TARMAC_RETURN_IF_ERROR(enqueue_step(step, &ins, &outs));
  return Status::ok();
}

Status CudaDeviceExecutor::run(const std::vector<std::pair<std::string, Tensor>>& inputs,
                               std::vector<Tensor>* outputs) {
  std::vector<bool> given(input_slots_.size(), false);
  char* staging = static_cast<char*>(staging_.get());
  for (const auto& [name, t] : inputs) {
    auto it = std::find(input_names_.begin(), input_names_.end(), name);
    if (it == input_names_.end())
      return invalid_argument("'{}' is not an input of the model", name);
    const size_t i = static_cast<size_t>(it - input_names_.begin());
    const Slot& s = slots_[static_cast<size_t>(input_slots_[i])];
    if (t.dtype() != s.dtype || t.dims() != s.dims)
      return invalid_argument("input '{}' expects {} {} but got {} {}", name, dtype_name(s.dtype),
                              dims_to_string(s.dims), dtype_name(t.dtype()),
                              dims_to_string(t.dims()));
    if (s.bytes() > 0) std::memcpy(staging + staging_offsets_[i], t.raw(), s.bytes());
    given[i] = true;
  }
  for (size_t i = 0; i < given.size(); ++i)
    if (!given[i]) return invalid_argument("input '{}' was not given", input_names_[i]);
  for (size_t i = 0; i < input_slots_.size(); ++i) {
    const int s = input_slots_[i];
    const size_t bytes = slots_[static_cast<size_t>(s)].bytes();
    if (bytes > 0)
      TARMAC_CUDA_CHECK(cudaMemcpyAsync(address(s), staging + staging_offsets_[i], bytes,
                                        cudaMemcpyHostToDevice, stream_));
  }
  if (use_graph_) {
    if (!graph_exec_) {
      cudaGraph_t graph = nullptr;
      TARMAC_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
      Status st = enqueue_steps();
      const cudaError_t end = cudaStreamEndCapture(stream_, &graph);
      TARMAC_RETURN_IF_ERROR(st);
      TARMAC_CUDA_CHECK(end);
      const cudaError_t inst = cudaGraphInstantiate(&graph_exec_, graph, 0);
      cudaGraphDestroy(graph);
      TARMAC_CUDA_CHECK(inst);
    }
    TARMAC_CUDA_CHECK(cudaGraphLaunch(graph_exec_, stream_));
  } else {
    TARMAC_RETURN_IF_ERROR(enqueue_steps());
  }
  const size_t n_in = input_slots_.size();
  for (size_t i = 0; i < output_slots_.size(); ++i) {
    const int s = output_slots_[i];
    const size_t bytes = slots_[static_cast<size_t>(s)].bytes();
    if (bytes > 0)
      TARMAC_CUDA_CHECK(cudaMemcpyAsync(staging + staging_offsets_[n_in + i], address(s), bytes,
                                        cudaMemcpyDeviceToHost, stream_));
  }
  TARMAC_CUDA_CHECK(cudaStreamSynchronize(stream_));
  outputs->clear();
  for (size_t i = 0; i < output_slots_.size(); ++i) {
    const Slot& s = slots_[static_cast<size_t>(output_slots_[i])];
    TARMAC_ASSIGN_OR_RETURN(Tensor t, Tensor::create(s.dtype, s.dims));
    if (s.bytes() > 0) std::memcpy(t.raw(), staging + staging_offsets_[n_in + i], s.bytes());
    outputs->push_back(std::move(t));
  }
  return Status::ok();
}

StatusOr<double> CudaDeviceExecutor::time_compute() {
  TARMAC_CUDA_CHECK(cudaEventRecord(start_, stream_));
  if (use_graph_ && graph_exec_) {
    TARMAC_CUDA_CHECK(cudaGraphLaunch(graph_exec_, stream_));
  } else {
    TARMAC_RETURN_IF_ERROR(enqueue_steps());
  }
  TARMAC_CUDA_CHECK(cudaEventRecord(stop_, stream_));
  TARMAC_CUDA_CHECK(cudaEventSynchronize(stop_));
  float ms = 0;
  TARMAC_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
  return static_cast<double>(ms);
}

StatusOr<std::vector<double>> CudaDeviceExecutor::profile_layers(int iterations) {
  if (iterations < 1) return invalid_argument("profile_layers needs at least one iteration");
  std::vector<cudaEvent_t> events(steps_.size() + 1, nullptr);
  auto destroy = [&] {
    for (cudaEvent_t e : events)
      if (e) cudaEventDestroy(e);
  };
  for (cudaEvent_t& e : events) {
    if (cudaEventCreate(&e) != cudaSuccess) {
      destroy();
      return internal_error("cannot create CUDA events for profiling");
    }
  }
  std::vector<double> ms(steps_.size(), 0.0);
  std::vector<TensorView> ins, outs;
  Status st;
  for (int it = 0; it < iterations && st.is_ok(); ++it) {
    cudaEventRecord(events[0], stream_);
    for (size_t i = 0; i < steps_.size() && st.is_ok(); ++i) {
      st = enqueue_step(steps_[i], &ins, &outs);
      cudaEventRecord(events[i + 1], stream_);
    }
    if (cudaEventSynchronize(events.back()) != cudaSuccess) st = internal_error("profiling failed");
    for (size_t i = 0; i < steps_.size() && st.is_ok(); ++i) {
      float t = 0;
      cudaEventElapsedTime(&t, events[i], events[i + 1]);
      ms[i] += t / iterations;
    }
  }
  destroy();
  if (!st.is_ok()) return st;
  return ms;
}

}  // namespace

StatusOr<std::unique_ptr<DeviceExecutor>> DeviceExecutor::create(
    Model model, const DeviceExecutorOptions& options) {
  auto ex = std::make_unique<CudaDeviceExecutor>();
  TARMAC_RETURN_IF_ERROR(ex->prepare(std::move(model), options));
  return std::unique_ptr<DeviceExecutor>(std::move(ex));
}

}  // namespace tarmac

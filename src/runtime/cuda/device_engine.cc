// The CUDA DeviceEngine (see runtime/device_engine.h): builds and caches one instance per set of
// static input shapes.
#include <cuda_runtime.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "backends/backend.h"
#include "backends/cuda/cuda_backend.h"
#include "builder/layout.h"
#include "builder/precision.h"
#include "ir/fused_ops.h"
#include "ir/inference.h"
#include "ir/verifier.h"
#include "passes/pass_manager.h"
#include "runtime/cuda/instance.h"
#include "runtime/memory_plan.h"

namespace tarmac::cuda {

namespace {

/// Passes, precision and shape inference on `model` with `shapes`, the runtime node list, the
/// slot table, the weights upload and the activation memory plan.
StatusOr<std::shared_ptr<Instance>> build_instance(Model model, const DeviceExecutorOptions& o,
                                                   const std::map<std::string, Dims>& shapes) {
  auto inst = std::make_shared<Instance>();
  inst->model = std::move(model);
  Graph& g = inst->model.graph;
  TARMAC_RETURN_IF_ERROR(override_input_shapes(g, shapes));
  for (const Value* v : g.inputs) {
    if (!v->type.has_shape || !shape_is_static(v->type.shape))
      return invalid_argument(
          "input '{}' has dynamic shape {}; give static shapes (--shapes={}:...)", v->name,
          v->type.to_string(), v->name);
    inst->input_shapes[v->name] = static_dims(v->type.shape);
  }
  inst->signature = shape_signature(inst->input_shapes);
  if (o.optimize) {
    PassOptions po;
    po.evaluator = evaluate_node_on_cpu;
    po.log = o.log;
    TARMAC_RETURN_IF_ERROR(default_pipeline().run(inst->model, po, nullptr));
  } else {
    InferOptions io;
    io.evaluator = evaluate_node_on_cpu;
    TARMAC_RETURN_IF_ERROR(verify_and_infer(g, inst->model.onnx_opset(), io));
  }
  if (o.precision != DType::kFloat32) {
    PrecisionOptions p;
    p.dtype = o.precision;
    p.keep_fp32 = o.keep_fp32;
    TARMAC_RETURN_IF_ERROR(assign_precision(inst->model, p));
  }
  LayoutOptions lo;
  lo.mode = o.layout;
  lo.allow_tf32 = o.config.allow_tf32;
  lo.log = o.log;
  TARMAC_RETURN_IF_ERROR(assign_layouts(inst->model, lo));

  // Slots for every value read or written at run time.
  std::vector<Slot>& slots = inst->slots;
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
    slots.push_back(s);
    slot_of[v] = static_cast<int>(slots.size() - 1);
    return slot_of[v];
  };
  for (const Value* v : g.inputs) {
    TARMAC_ASSIGN_OR_RETURN(int s, slot(v));
    inst->input_slots.push_back(s);
    inst->input_names.push_back(v->name);
  }
  // Kernels made here only decide GPU or CPU fallback; each context makes its own.
  auto backend = make_cuda_backend();
  auto cpu = make_cpu_backend();
  const int64_t opset = inst->model.onnx_opset();
  std::vector<std::string> refused;
  for (auto& n : g.nodes) {
    bool folded = true;
    for (const Value* out : n->outputs)
      if (out && !out->constant) folded = false;
    if (folded) continue;
    InstanceStep step;
    step.node = n.get();
    if (auto t = o.tactics.find(n->name); t != o.tactics.end()) step.tactic = t->second;
    auto k = backend->make_device_kernel(*n, opset, "", o.config);
    if (k.is_ok()) {
      step.on_device = true;
    } else if (k.status().code() == StatusCode::kUnsupported && o.allow_cpu_fallback) {
      TARMAC_RETURN_IF_ERROR(cpu->make_kernel(*n, opset, "cpu_reference").status());
      step.on_device = false;
      inst->has_host_steps = true;
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
    DeviceLayer layer{n->name, layer_type(*n), step.on_device ? "cuda" : "cpu", {}, {}};
    for (const Value* in : n->inputs) layer.inputs.push_back(in ? in->type.to_string() : "");
    for (const Value* out : n->outputs) layer.outputs.push_back(out ? out->type.to_string() : "");
    inst->layers.push_back(std::move(layer));
    inst->steps.push_back(std::move(step));
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
    inst->output_slots.push_back(s);
  }

  // Weights: every constant slot, packed once.
  size_t weight_bytes = 0;
  for (Slot& s : slots) {
    if (!s.is_constant) continue;
    s.offset = weight_bytes;
    weight_bytes += align_up(std::max<size_t>(s.bytes(), 1));
  }
  TARMAC_ASSIGN_OR_RETURN(inst->weights, DeviceBuffer::allocate(weight_bytes));
  for (const Slot& s : slots)
    if (s.is_constant && s.bytes() > 0)
      TARMAC_CUDA_CHECK(cudaMemcpy(static_cast<char*>(inst->weights.get()) + s.offset,
                                   s.value->constant->raw(), s.bytes(), cudaMemcpyHostToDevice));

  // Activations: lifetimes in steps; graph inputs live from the start, outputs to the end. The
  // offsets are into each context's own arena of arena_bytes.
  const int end = static_cast<int>(inst->steps.size());
  std::vector<int> first(slots.size(), -1), last(slots.size(), -1);
  for (int s : inst->input_slots) first[static_cast<size_t>(s)] = 0;
  for (int i = 0; i < end; ++i) {
    for (int s : inst->steps[static_cast<size_t>(i)].outputs)
      if (s >= 0 && first[static_cast<size_t>(s)] < 0) first[static_cast<size_t>(s)] = i;
    for (int s : inst->steps[static_cast<size_t>(i)].inputs)
      if (s >= 0) last[static_cast<size_t>(s)] = i;
  }
  for (int s : inst->output_slots) last[static_cast<size_t>(s)] = end;
  std::vector<BufferRequest> requests;
  std::vector<int> request_slot;
  for (size_t s = 0; s < slots.size(); ++s) {
    if (slots[s].is_constant) continue;
    const int f = std::max(first[s], 0);
    requests.push_back({slots[s].bytes(), f, std::max(last[s], f)});
    request_slot.push_back(static_cast<int>(s));
  }
  const MemoryPlan plan = plan_memory(requests, kArenaAlign);
  for (size_t r = 0; r < requests.size(); ++r)
    slots[static_cast<size_t>(request_slot[r])].offset = plan.offsets[r];
  inst->arena_bytes = plan.arena_bytes;
  inst->lower_bound_bytes = plan.lower_bound_bytes;
  return inst;
}

}  // namespace

std::string shape_signature(const std::map<std::string, Dims>& shapes) {
  std::string key;
  for (const auto& [name, dims] : shapes)
    key.append(name).append("=").append(dims_to_string(dims)).append(";");
  return key;
}

CudaDeviceEngine::CudaDeviceEngine(Model model, const DeviceExecutorOptions& options)
    : options_(options), model_(std::move(model)) {}

Status CudaDeviceEngine::prepare() {
  TARMAC_RETURN_IF_ERROR(device_available());
  if (options_.max_cached_shapes < 1)
    return invalid_argument("max_cached_shapes is {}; a context keeps at least its current shapes",
                            options_.max_cached_shapes);
  bool fixed = true;
  for (const Value* v : model_.graph.inputs)
    if (!v->type.has_shape || !shape_is_static(v->type.shape)) fixed = false;
  TARMAC_ASSIGN_OR_RETURN(std::shared_ptr<const Instance> first, instance(options_.input_shapes));
  std::lock_guard<std::mutex> lock(mu_);
  first_ = std::move(first);
  if (fixed) {
    shapes_fixed_ = true;
    model_ = Model{};
  }
  return Status::ok();
}

StatusOr<std::shared_ptr<const Instance>> CudaDeviceEngine::instance(
    const std::map<std::string, Dims>& shapes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (first_) {
    for (const auto& [name, dims] : shapes)
      if (!first_->input_shapes.count(name))
        return invalid_argument("'{}' is given a shape but is not an input of the model", name);
  }
  const std::string key = shape_signature(shapes);
  if (auto it = cache_.find(key); it != cache_.end())
    if (std::shared_ptr<const Instance> hit = it->second.lock()) return hit;
  if (shapes_fixed_)
    return invalid_argument(
        "the model's inputs have static shapes {} that cannot change (asked for {})",
        first_->signature, key);
  TARMAC_ASSIGN_OR_RETURN(std::shared_ptr<Instance> built,
                          build_instance(clone_model(model_), options_, shapes));
  ++built_;
  for (auto it = cache_.begin(); it != cache_.end();)
    it = it->second.expired() ? cache_.erase(it) : std::next(it);
  // A partial set of shapes (the options') and the full one name the same build.
  cache_[key] = built;
  cache_[built->signature] = built;
  return std::shared_ptr<const Instance>(std::move(built));
}

StatusOr<std::unique_ptr<DeviceContext>> CudaDeviceEngine::create_context() {
  return make_device_context(shared_from_this());
}

int CudaDeviceEngine::instances_built() const {
  std::lock_guard<std::mutex> lock(mu_);
  return built_;
}

size_t CudaDeviceEngine::weight_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<const Instance*> seen;  // an instance may be cached under two keys
  size_t bytes = 0;
  for (const auto& [key, weak] : cache_)
    if (std::shared_ptr<const Instance> inst = weak.lock(); inst && seen.insert(inst.get()).second)
      bytes += inst->weights.bytes();
  return bytes;
}

std::string CudaDeviceEngine::device_name() const { return device_description(); }

}  // namespace tarmac::cuda

namespace tarmac {

StatusOr<std::shared_ptr<DeviceEngine>> DeviceEngine::create(Model model,
                                                             const DeviceExecutorOptions& options) {
  auto engine = std::make_shared<cuda::CudaDeviceEngine>(std::move(model), options);
  TARMAC_RETURN_IF_ERROR(engine->prepare());
  return std::shared_ptr<DeviceEngine>(std::move(engine));
}

}  // namespace tarmac

#include "runtime/executor.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "builder/precision.h"
#include "core/parallel.h"
#include "ir/inference.h"
#include "ir/verifier.h"
#include "passes/pass_manager.h"

namespace tarmac {

StatusOr<std::unique_ptr<Executor>> Executor::create(Model model, const ExecutorOptions& options) {
  std::unique_ptr<Executor> ex(new Executor());
  ex->model_ = std::move(model);
  ex->profile_ = options.profile;
  if (options.num_threads > 0) set_num_threads(options.num_threads);
  TARMAC_RETURN_IF_ERROR(ex->prepare(options));
  return ex;
}

Status Executor::prepare(const ExecutorOptions& options) {
  Graph& g = model_.graph;
  TARMAC_RETURN_IF_ERROR(override_input_shapes(g, options.input_shapes));
  // An input the host could never hold is refused now rather than at the first run (or by an
  // allocation attempt).
  for (const Value* v : g.inputs) {
    const Shape& shape = v->type.shape;
    if (!v->type.has_shape || v->type.dtype == DType::kUndefined) continue;
    if (std::any_of(shape.begin(), shape.end(), [](const Dim& d) { return d.value == 0; }))
      continue;
    const size_t limit = max_host_allocation_bytes();
    unsigned __int128 bytes = dtype_size(v->type.dtype);
    for (const Dim& d : shape)  // stops growing once over the limit, so it cannot wrap
      if (d.is_static() && bytes <= limit) bytes *= static_cast<unsigned __int128>(d.value);
    if (bytes > limit) {
      return resource_exhausted(
          "input '{}' has shape {} of {}, which exceeds the host allocation limit of {} bytes",
          v->name, shape_to_string(shape), dtype_name(v->type.dtype), limit);
    }
  }
  if (options.optimize) {
    PassOptions po;
    po.evaluator = evaluate_node_on_cpu;
    po.log = options.log;
    TARMAC_RETURN_IF_ERROR(default_pipeline().run(model_, po, nullptr));
  } else {
    InferOptions io;
    io.evaluator = evaluate_node_on_cpu;
    TARMAC_RETURN_IF_ERROR(verify_and_infer(g, model_.onnx_opset(), io));
  }
  if (options.precision != DType::kFloat32) {
    PrecisionOptions p;
    p.dtype = options.precision;
    p.keep_fp32 = options.keep_fp32;
    TARMAC_RETURN_IF_ERROR(assign_precision(model_, p));
  }

  backend_ = make_cpu_backend();
  // Slots: every value that is read or produced at run time.
  auto slot = [&](const Value* v) {
    auto it = slot_of_.find(v);
    if (it != slot_of_.end()) return it->second;
    slot_of_[v] = num_slots_;
    constants_.push_back(v->constant);
    return num_slots_++;
  };
  for (const Value* v : g.inputs) input_slots_.push_back(slot(v));
  for (auto& n : g.nodes) {
    bool all_folded = true;
    for (const Value* o : n->outputs)
      if (o && !o->constant) all_folded = false;
    if (all_folded) continue;  // computed once during inference
    TARMAC_RETURN_IF_ERROR(backend_->supports(*n, model_.onnx_opset()));
    Step step;
    step.node = n.get();
    const auto tactics = backend_->tactics(*n, model_.onnx_opset());
    TARMAC_ASSIGN_OR_RETURN(step.kernel,
                            backend_->make_kernel(*n, model_.onnx_opset(), tactics.front()));
    for (const Value* in : n->inputs) step.inputs.push_back(in ? slot(in) : -1);
    for (const Value* out : n->outputs) step.outputs.push_back(out ? slot(out) : -1);
    steps_.push_back(std::move(step));
  }
  for (const Value* v : g.outputs) output_slots_.push_back(slot(v));

  // Free each runtime value after its last reader (graph outputs and constants are kept).
  std::set<int> keep(output_slots_.begin(), output_slots_.end());
  std::vector<int> last_use(static_cast<size_t>(num_slots_), -1);
  for (size_t s = 0; s < steps_.size(); ++s)
    for (int in : steps_[s].inputs)
      if (in >= 0) last_use[static_cast<size_t>(in)] = static_cast<int>(s);
  for (int v = 0; v < num_slots_; ++v) {
    if (keep.count(v) || constants_[static_cast<size_t>(v)]) continue;
    if (last_use[static_cast<size_t>(v)] >= 0)
      steps_[static_cast<size_t>(last_use[static_cast<size_t>(v)])].release.push_back(v);
  }
  timings_.resize(steps_.size());
  for (size_t s = 0; s < steps_.size(); ++s) {
    timings_[s].name = steps_[s].node->name;
    timings_[s].op_type = steps_[s].node->op_type;
  }
  return Status::ok();
}

Status Executor::check_input(const Value& v, const Tensor& t,
                             std::map<std::string, int64_t>* symbols) const {
  if (t.dtype() != v.type.dtype) {
    return invalid_argument("input '{}' expects {} but got {}", v.name, dtype_name(v.type.dtype),
                            dtype_name(t.dtype()));
  }
  if (!v.type.has_shape) return Status::ok();
  if (t.rank() != v.type.rank()) {
    return invalid_argument("input '{}' expects shape {} (rank {}) but got {}", v.name,
                            shape_to_string(v.type.shape), v.type.rank(), dims_to_string(t.dims()));
  }
  for (int k = 0; k < t.rank(); ++k) {
    const Dim& d = v.type.shape[static_cast<size_t>(k)];
    if (d.is_static() && d.value != t.dims()[static_cast<size_t>(k)]) {
      return invalid_argument("input '{}' expects shape {} but got {}", v.name,
                              shape_to_string(v.type.shape), dims_to_string(t.dims()));
    }
    if (!d.is_static() && !d.symbol.empty()) {
      auto [it, inserted] = symbols->emplace(d.symbol, t.dims()[static_cast<size_t>(k)]);
      if (!inserted && it->second != t.dims()[static_cast<size_t>(k)]) {
        return invalid_argument("input '{}': dimension '{}' is {} here but {} in another input",
                                v.name, d.symbol, t.dims()[static_cast<size_t>(k)], it->second);
      }
    }
  }
  return Status::ok();
}

Status Executor::run(const std::vector<std::pair<std::string, Tensor>>& inputs,
                     std::vector<Tensor>* outputs, const TensorTap& tap) {
  const Graph& g = model_.graph;
  std::vector<Tensor> slots(static_cast<size_t>(num_slots_));
  std::vector<bool> set(static_cast<size_t>(num_slots_), false);
  std::map<std::string, int64_t> symbols;
  for (const auto& [name, tensor] : inputs) {
    const Value* v = g.find_value(name);
    if (!v || !v->is_graph_input)
      return invalid_argument("'{}' is not an input of the model", name);
    TARMAC_RETURN_IF_ERROR(check_input(*v, tensor, &symbols));
    const int s = slot_of_.at(v);
    slots[static_cast<size_t>(s)] = tensor;
    set[static_cast<size_t>(s)] = true;
  }
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    if (!set[static_cast<size_t>(input_slots_[i])]) {
      return invalid_argument("input '{}' was not given", g.inputs[i]->name);
    }
  }
  std::vector<const Tensor*> in_ptrs;
  std::vector<Tensor> outs;
  for (size_t s = 0; s < steps_.size(); ++s) {
    Step& step = steps_[s];
    in_ptrs.clear();
    for (int in : step.inputs) {
      if (in < 0) {
        in_ptrs.push_back(nullptr);
      } else if (const auto& c = constants_[static_cast<size_t>(in)]) {
        in_ptrs.push_back(c.get());
      } else {
        in_ptrs.push_back(&slots[static_cast<size_t>(in)]);
      }
    }
    const auto t0 = std::chrono::steady_clock::now();
    TARMAC_RETURN_IF_ERROR(step.kernel->run(in_ptrs, &outs));
    if (profile_) {
      timings_[s].total_ms +=
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      timings_[s].calls++;
    }
    for (size_t o = 0; o < step.outputs.size(); ++o) {
      if (step.outputs[o] < 0) continue;
      if (o >= outs.size() || !outs[o].defined()) {
        return internal_error("{}: kernel did not produce output {}", step.node->describe(), o);
      }
      const Value* ov = step.node->outputs[o];
      if (ov->type.dtype != outs[o].dtype()) {
        return internal_error("{}: output '{}' was inferred as {} but the kernel produced {}",
                              step.node->describe(), ov->name, dtype_name(ov->type.dtype),
                              dtype_name(outs[o].dtype()));
      }
      slots[static_cast<size_t>(step.outputs[o])] = std::move(outs[o]);
      if (tap) tap(*step.node, *ov, slots[static_cast<size_t>(step.outputs[o])]);
    }
    for (int r : step.release) slots[static_cast<size_t>(r)] = Tensor();
  }
  outputs->clear();
  for (int s : output_slots_) {
    const auto& c = constants_[static_cast<size_t>(s)];
    outputs->push_back(c ? *c : slots[static_cast<size_t>(s)]);
  }
  return Status::ok();
}

}  // namespace tarmac

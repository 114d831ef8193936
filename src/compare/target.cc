#include "compare/target.h"

#include <fmt/format.h>

#include "api/engine_build.h"
#include "core/file_io.h"
#include "runtime/device_engine.h"
#include "runtime/executor.h"

namespace tarmac::compare {

namespace {

std::vector<std::pair<std::string, std::pair<DType, Dims>>> static_inputs(
    Model& m, const std::map<std::string, Dims>& shapes) {
  std::vector<std::pair<std::string, std::pair<DType, Dims>>> r;
  for (const Value* v : m.graph.inputs) {
    Dims d;
    if (auto it = shapes.find(v->name); it != shapes.end()) {
      d = it->second;
    } else if (v->type.has_shape && shape_is_static(v->type.shape)) {
      d = static_dims(v->type.shape);
    }
    r.push_back({v->name, {v->type.dtype, d}});
  }
  return r;
}

Status check_static(const std::vector<std::pair<std::string, std::pair<DType, Dims>>>& inputs,
                    const Model& m) {
  for (const Value* v : m.graph.inputs) {
    if (v->type.has_shape && shape_is_static(v->type.shape)) continue;
    bool given = false;
    for (const auto& [name, t] : inputs)
      if (name == v->name && !t.second.empty()) given = true;
    if (!given && !(v->type.has_shape && v->type.shape.empty()))
      return invalid_argument("input '{}' has dynamic shape {}; pass --shapes={}:<dims>", v->name,
                              v->type.to_string(), v->name);
  }
  return Status::ok();
}

class CpuTarget final : public Target {
 public:
  CpuTarget(std::unique_ptr<Executor> ex, std::string label,
            std::vector<std::pair<std::string, std::pair<DType, Dims>>> inputs)
      : ex_(std::move(ex)), label_(std::move(label)), inputs_(std::move(inputs)) {}
  const std::string& label() const override { return label_; }
  Status run(const NamedTensors& inputs, NamedTensors* outputs, const TensorTap& tap) override {
    std::vector<Tensor> outs;
    TARMAC_RETURN_IF_ERROR(ex_->run(inputs, &outs, tap));
    outputs->clear();
    const auto& names = ex_->model().graph.outputs;
    for (size_t i = 0; i < outs.size() && i < names.size(); ++i)
      outputs->emplace_back(names[i]->name, std::move(outs[i]));
    return Status::ok();
  }
  std::vector<LayerRow> layers() const override {
    std::vector<LayerRow> rows;
    for (const LayerInfo& l : cpu_layers(ex_->model()))
      rows.push_back({l.name, l.type, l.precision, l.tactic});
    return rows;
  }
  std::vector<std::pair<std::string, std::pair<DType, Dims>>> inputs() const override {
    return inputs_;
  }

 private:
  std::unique_ptr<Executor> ex_;
  std::string label_;
  std::vector<std::pair<std::string, std::pair<DType, Dims>>> inputs_;
};

class DeviceTarget final : public Target {
 public:
  DeviceTarget(std::shared_ptr<DeviceEngine> engine, std::unique_ptr<DeviceContext> ctx,
               std::string label, std::vector<std::pair<std::string, std::pair<DType, Dims>>> in)
      : engine_(std::move(engine)),
        ctx_(std::move(ctx)),
        label_(std::move(label)),
        inputs_(std::move(in)) {}
  const std::string& label() const override { return label_; }
  Status run(const NamedTensors& inputs, NamedTensors* outputs, const TensorTap& tap) override {
    std::vector<Tensor> outs;
    TARMAC_RETURN_IF_ERROR(tap ? ctx_->run_with_taps(inputs, &outs, tap)
                               : ctx_->run(inputs, &outs));
    outputs->clear();
    const auto types = ctx_->output_types();
    for (size_t i = 0; i < outs.size() && i < types.size(); ++i)
      outputs->emplace_back(types[i].first, std::move(outs[i]));
    return Status::ok();
  }
  std::vector<LayerRow> layers() const override {
    std::vector<LayerRow> rows;
    const auto tactics = ctx_->layer_tactics();
    const auto& layers = ctx_->layers();
    for (size_t i = 0; i < layers.size(); ++i) {
      const DeviceLayer& l = layers[i];
      const std::string out = l.outputs.empty() ? "" : l.outputs.front();
      rows.push_back(
          {l.name, l.op_type, out.substr(0, out.find('[')), i < tactics.size() ? tactics[i] : ""});
    }
    return rows;
  }
  std::vector<std::pair<std::string, std::pair<DType, Dims>>> inputs() const override {
    return inputs_;
  }

 private:
  std::shared_ptr<DeviceEngine> engine_;
  std::unique_ptr<DeviceContext> ctx_;
  std::string label_;
  std::vector<std::pair<std::string, std::pair<DType, Dims>>> inputs_;
};

StatusOr<std::unique_ptr<Target>> make_device_target(Model model, DeviceExecutorOptions o,
                                                     const std::string& what) {
  auto inputs = static_inputs(model, o.input_shapes);
  TARMAC_RETURN_IF_ERROR(check_static(inputs, model));
  for (const auto& [name, t] : inputs) o.input_shapes[name] = t.second;
  o.use_cuda_graph = true;
  o.max_cached_shapes = 1;
  TARMAC_ASSIGN_OR_RETURN(auto engine, DeviceEngine::create(std::move(model), o));
  TARMAC_ASSIGN_OR_RETURN(auto ctx, engine->create_context());
  const std::string label = fmt::format("cuda {} ({})", what, engine->device_name());
  return std::unique_ptr<Target>(
      new DeviceTarget(std::move(engine), std::move(ctx), label, std::move(inputs)));
}

StatusOr<std::unique_ptr<Target>> make_cpu_target(Model model, ExecutorOptions o,
                                                  const std::string& label) {
  auto inputs = static_inputs(model, o.input_shapes);
  TARMAC_RETURN_IF_ERROR(check_static(inputs, model));
  TARMAC_ASSIGN_OR_RETURN(auto ex, Executor::create(std::move(model), o));
  return std::unique_ptr<Target>(new CpuTarget(std::move(ex), label, std::move(inputs)));
}

}  // namespace

const Tensor* find_named(const NamedTensors& set, const std::string& name) {
  for (const auto& [n, t] : set)
    if (n == name) return &t;
  return nullptr;
}

StatusOr<std::unique_ptr<Target>> make_target(const Model& model, const TargetOptions& o) {
  const DType p = o.precision;
  if (p != DType::kFloat32 && p != DType::kFloat16 && p != DType::kBFloat16 && p != DType::kFloat64)
    return invalid_argument("unsupported precision {}", dtype_name(p));
  if (p == DType::kFloat64 && (o.optimize || o.device != "cpu"))
    return invalid_argument("float64 is only a CPU reference precision");
  std::string what(dtype_name(p));
  if (!o.keep_fp32.empty()) what += fmt::format(" ({} layers kept float32)", o.keep_fp32.size());
  if (o.device == "cpu") {
    ExecutorOptions eo;
    eo.input_shapes = o.shapes;
    eo.optimize = o.optimize;
    eo.precision = p;
    eo.keep_fp32 = o.keep_fp32;
    return make_cpu_target(clone_model(model), eo,
                           o.optimize ? "cpu " + what : "cpu " + what + " reference");
  }
  if (o.device != "cuda")
    return invalid_argument("--device must be cpu or cuda, not '{}'", o.device);
  DeviceExecutorOptions eo;
  eo.input_shapes = o.shapes;
  eo.precision = p;
  eo.keep_fp32 = o.keep_fp32;
  eo.config.allow_tf32 = o.tf32;
  if (p == DType::kFloat32 && o.tf32) what = "tf32";
  return make_device_target(clone_model(model), eo, what);
}

StatusOr<std::unique_ptr<Target>> load_plan_target(const std::string& path,
                                                   const std::string& weights_onnx,
                                                   const std::map<std::string, Dims>& shapes,
                                                   Model* model) {
  TARMAC_ASSIGN_OR_RETURN(std::string bytes, read_whole_file(path));
  LoadOptions lo;
  lo.weights_onnx = weights_onnx;
  auto opened = open_plan(bytes, lo);
  if (!opened.is_ok()) return opened.status().with_context(fmt::format("cannot load '{}'", path));
  const PlanHeader& h = opened->header;
  if (h.profiles.empty()) return invalid_argument("plan '{}' has no optimization profile", path);
  std::map<std::string, Dims> s;
  for (const auto& [name, r] : h.profiles.front().ranges) s[name] = r.opt;
  for (const auto& [name, d] : shapes) s[name] = d;
  *model = clone_model(opened->model);
  const std::string what = fmt::format("plan {} ({})", path, h.info.build_flags);
  if (h.info.device == DeviceKind::kCpu)
    return make_cpu_target(std::move(opened->model), cpu_options(h.build, s), "cpu " + what);
  if (!opened->built.empty() && shapes.empty()) {
    // What Engine::load_file runs: profile 0 as built.
    auto built = std::make_shared<std::string>(std::move(opened->built));
    TARMAC_ASSIGN_OR_RETURN(auto engine, device_engine_as_built(h, *built, built));
    TARMAC_ASSIGN_OR_RETURN(auto ctx, engine->create_context());
    ctx->set_use_cuda_graph(true);
    auto inputs = static_inputs(*model, s);
    const std::string label = fmt::format("cuda {}, as built ({})", what, engine->device_name());
    return std::unique_ptr<Target>(
        new DeviceTarget(std::move(engine), std::move(ctx), label, std::move(inputs)));
  }
  return make_device_target(std::move(opened->model),
                            device_options(h.build, s, h.profiles.front().tactics), what);
}

}  // namespace tarmac::compare

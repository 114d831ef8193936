// tarmac::Engine and its execution contexts: a plan is checked against this machine; profile 0
// loads from the plan's built section when it has one (weights uploaded, nothing rebuilt), and
// otherwise the source model is imported and the build it records replayed with the recorded
// tactics (nothing is timed). The source model is read only when needed.
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>

#include "api/engine_build.h"
#include "api/network_impl.h"
#include "builder/built_graph.h"
#include "builder/plan_file.h"
#include "onnx/importer.h"
#include "tarmac/engine.h"

#ifdef TARMAC_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace tarmac {

namespace {

/// A CUDA plan runs only where it was built: same compute capability, CUDA runtime major,
/// cuDNN major.minor and cuBLASLt major (tactics and kernels are chosen for those).
Status check_device(const EngineInfo& built, const DeviceIdentity& here) {
  if (built.compute_capability != here.compute_capability)
    return invalid_argument(
        "plan was built for compute capability {}.{} ({}), this device is {}.{} ({}); rebuild it "
        "here",
        built.compute_capability / 10, built.compute_capability % 10, built.device_name,
        here.compute_capability / 10, here.compute_capability % 10, here.name);
  if (built.cuda_runtime_version / 1000 != here.cuda_runtime_version / 1000)
    return invalid_argument("plan was built with CUDA runtime {}, this is {}; rebuild it",
                            built.cuda_runtime_version, here.cuda_runtime_version);
  if (built.cudnn_version / 100 != here.cudnn_version / 100)
    return invalid_argument("plan was built with cuDNN {}, this is {}; rebuild it",
                            built.cudnn_version, here.cudnn_version);
  if (built.cublaslt_version / 10000 != here.cublaslt_version / 10000)
    return invalid_argument("plan was built with cuBLASLt {}, this is {}; rebuild it",
                            built.cublaslt_version, here.cublaslt_version);
  return Status::ok();
}

class EngineImpl;

/// A plan's source model, refitted from `weights_onnx` when the plan was stripped.
StatusOr<Model> import_plan_model(std::string bytes, const PlanHeader& h,
                                  const std::string& weights_onnx) {
  if (h.info.weights_stripped) {
    if (weights_onnx.empty())
      return invalid_argument(
          "plan was written without weights (--stripWeights): give the ONNX file to refit it "
          "from (--onnx=...)");
    TARMAC_ASSIGN_OR_RETURN(Network weights, Network::parse_onnx_file(weights_onnx));
    Status same = check_same_architecture(bytes, weights.onnx_bytes());
    if (!same.is_ok())
      return same.with_context(fmt::format("'{}' cannot refit the plan", weights_onnx));
    bytes = weights.onnx_bytes();
  }
  TARMAC_ASSIGN_OR_RETURN(ImportResult r, import_onnx_bytes(bytes, ""));
  return std::move(r.model);
}

class ContextImpl final : public ExecutionContext {
 public:
  explicit ContextImpl(std::shared_ptr<EngineImpl> engine) : engine_(std::move(engine)) {}
  Status set_optimization_profile(int profile) override;
  int optimization_profile() const override { return profile_; }
  Status set_input_shape(const std::string& name, const Dims& dims) override;
  StatusOr<Dims> tensor_shape(const std::string& name) const override;
  Status set_tensor_address(const std::string& name, void* address) override;
  Status enqueue(void* stream) override;
  Status execute() override;
  void set_use_cuda_graph(bool on) override {
    use_graph_ = on;
    if (device_) device_->set_use_cuda_graph(on);
  }
  StatusOr<std::vector<double>> profile_layers(int iterations) override;

 private:
  /// Binds the executor (CPU) or device context (CUDA) to the current shapes.
  Status bind();
  Status check_addresses() const;
  /// CPU: copies of the inputs at their addresses, for the executor.
  StatusOr<std::vector<std::pair<std::string, Tensor>>> host_inputs() const;

  std::shared_ptr<EngineImpl> engine_;
  int profile_ = -1;
  std::map<std::string, Dims> shapes_;
  std::map<std::string, void*> addresses_;
  bool use_graph_ = false;
  std::unique_ptr<DeviceContext> device_;  // CUDA
  std::unique_ptr<Executor> cpu_;          // CPU, for cpu_shapes_
  std::map<std::string, Dims> cpu_shapes_;
};

class EngineImpl final : public Engine, public std::enable_shared_from_this<EngineImpl> {
 public:
  PlanHeader header;
  /// The source model's bytes on demand (from the file or the plan in memory), and the weights
  /// file of a stripped plan.
  std::function<StatusOr<std::string>()> read_source;
  std::string weights_onnx;
  std::string_view built;  // profile 0 as built, inside built_owner; used by device_engine(0)
  std::shared_ptr<const void> built_owner;
  std::function<void(const std::string&)> log;
  std::vector<std::shared_ptr<DeviceEngine>> device_engines;  // per profile, made on first use
  std::mutex mu;

  const EngineInfo& info() const override { return header.info; }
  const std::vector<LayerInfo>& layers(int profile) const override {
    const size_t p = profile >= 0 && profile < num_profiles() ? static_cast<size_t>(profile) : 0;
    return header.profiles[p].layers;
  }
  int num_profiles() const override { return static_cast<int>(header.profiles.size()); }
  StatusOr<std::unique_ptr<ExecutionContext>> create_execution_context() override {
    auto ctx = std::make_unique<ContextImpl>(shared_from_this());
    TARMAC_RETURN_IF_ERROR(ctx->set_optimization_profile(0));
    return std::unique_ptr<ExecutionContext>(std::move(ctx));
  }

  std::map<std::string, Dims> opt_shapes(int p) const {
    std::map<std::string, Dims> s;
    for (const auto& [name, r] : header.profiles[static_cast<size_t>(p)].ranges) s[name] = r.opt;
    return s;
  }

  /// The source model, imported on first use.
  StatusOr<const Model*> source_model() {
    std::lock_guard<std::mutex> lock(mu);
    return source_model_locked();
  }

  StatusOr<std::shared_ptr<DeviceEngine>> device_engine(int p) {
    std::lock_guard<std::mutex> lock(mu);
    auto& e = device_engines[static_cast<size_t>(p)];
    if (e) return e;
    DeviceExecutorOptions o = device_options(header.build, opt_shapes(p),
                                             header.profiles[static_cast<size_t>(p)].tactics);
    if (p == 0 && !built.empty()) {
      TARMAC_ASSIGN_OR_RETURN(e, device_engine_as_built(header, built, std::move(built_owner)));
      built = {};  // the model's constants keep what they point into
      if (log) log("profile 0: loaded as built (no passes, precision or layout work)");
      return e;
    }
    TARMAC_ASSIGN_OR_RETURN(const Model* m, source_model_locked());
    TARMAC_ASSIGN_OR_RETURN(e, DeviceEngine::create(clone_model(*m), o));
    return e;
  }

 private:
  StatusOr<const Model*> source_model_locked() {
    if (source_) return &*source_;
    TARMAC_ASSIGN_OR_RETURN(std::string bytes, read_source());
    TARMAC_ASSIGN_OR_RETURN(source_, import_plan_model(std::move(bytes), header, weights_onnx));
    return &*source_;
  }

  std::optional<Model> source_;
};

Status ContextImpl::set_optimization_profile(int profile) {
  if (profile < 0 || profile >= engine_->num_profiles())
    return invalid_argument("optimization profile {} does not exist (the engine has {})", profile,
                            engine_->num_profiles());
  if (profile == profile_) return Status::ok();
  if (engine_->info().device == DeviceKind::kCuda) {
    TARMAC_ASSIGN_OR_RETURN(auto e, engine_->device_engine(profile));
    TARMAC_ASSIGN_OR_RETURN(device_, e->create_context());
    device_->set_use_cuda_graph(use_graph_);
  }
  profile_ = profile;
  shapes_ = engine_->opt_shapes(profile);
  return Status::ok();
}

Status ContextImpl::set_input_shape(const std::string& name, const Dims& dims) {
  const auto& ranges = engine_->header.profiles[static_cast<size_t>(profile_)].ranges;
  auto it = ranges.find(name);
  if (it == ranges.end()) return invalid_argument("'{}' is not an input of the engine", name);
  const ShapeRange& r = it->second;
  if (dims.size() != r.min.size())
    return invalid_argument("input '{}' has rank {}, not {}", name, r.min.size(), dims.size());
  for (size_t d = 0; d < dims.size(); ++d)
    if (dims[d] < r.min[d] || dims[d] > r.max[d])
      return invalid_argument(
          "input '{}' dimension {} is {}, outside optimization profile {}'s range [{}, {}] "
          "(shape {} vs min {} max {})",
          name, d, dims[d], profile_, r.min[d], r.max[d], dims_text(dims), dims_text(r.min),
          dims_text(r.max));
  shapes_[name] = dims;
  return Status::ok();
}

Status ContextImpl::bind() {
  if (device_) return device_->set_input_shapes(shapes_);
  if (cpu_ && cpu_shapes_ == shapes_) return Status::ok();
  cpu_.reset();
  TARMAC_ASSIGN_OR_RETURN(const Model* m, engine_->source_model());
  TARMAC_ASSIGN_OR_RETURN(
      cpu_, Executor::create(clone_model(*m), cpu_options(engine_->header.build, shapes_)));
  cpu_shapes_ = shapes_;
  return Status::ok();
}

StatusOr<Dims> ContextImpl::tensor_shape(const std::string& name) const {
  if (auto it = shapes_.find(name); it != shapes_.end()) return it->second;
  auto* self = const_cast<ContextImpl*>(this);  // binding is a cache, not a visible change
  TARMAC_RETURN_IF_ERROR(self->bind());
  if (device_) {
    for (const auto& [n, t] : device_->output_types())
      if (n == name) return t.second;
  } else {
    for (const Value* v : cpu_->model().graph.outputs)
      if (v->name == name && v->type.has_shape && shape_is_static(v->type.shape))
        return static_dims(v->type.shape);
  }
  return invalid_argument("'{}' is not an input or output of the engine", name);
}

Status ContextImpl::set_tensor_address(const std::string& name, void* address) {
  bool known = shapes_.count(name) != 0;
  for (const TensorInfo& t : engine_->info().outputs) known = known || t.name == name;
  if (!known) return invalid_argument("'{}' is not an input or output of the engine", name);
  if (!address) return invalid_argument("the address of '{}' is null", name);
  addresses_[name] = address;
  return Status::ok();
}

Status ContextImpl::check_addresses() const {
  for (const auto& [name, d] : shapes_)
    if (!addresses_.count(name)) return invalid_argument("input '{}' has no address set", name);
  for (const TensorInfo& t : engine_->info().outputs)
    if (!addresses_.count(t.name))
      return invalid_argument("output '{}' has no address set", t.name);
  return Status::ok();
}

StatusOr<std::vector<std::pair<std::string, Tensor>>> ContextImpl::host_inputs() const {
  std::vector<std::pair<std::string, Tensor>> ins;
  for (const TensorInfo& t : engine_->info().inputs) {
    TARMAC_ASSIGN_OR_RETURN(Tensor x, Tensor::create(t.dtype, shapes_.at(t.name)));
    if (x.nbytes() > 0) std::memcpy(x.raw(), addresses_.at(t.name), x.nbytes());
    ins.emplace_back(t.name, std::move(x));
  }
  return ins;
}

Status ContextImpl::enqueue(void* stream) {
  if (!device_)
    return unsupported("a CPU engine runs synchronously: call execute() instead of enqueue()");
  TARMAC_RETURN_IF_ERROR(check_addresses());
  TARMAC_RETURN_IF_ERROR(bind());
  std::map<std::string, const void*> ins;
  std::map<std::string, void*> outs;
  for (const auto& [name, d] : shapes_) ins[name] = addresses_.at(name);
  for (const TensorInfo& t : engine_->info().outputs) outs[t.name] = addresses_.at(t.name);
  return device_->enqueue(ins, outs, stream);
}

Status ContextImpl::execute() {
  if (device_) {
#ifdef TARMAC_WITH_CUDA
    TARMAC_RETURN_IF_ERROR(enqueue(device_->stream()));
    const cudaError_t e = cudaStreamSynchronize(static_cast<cudaStream_t>(device_->stream()));
    if (e != cudaSuccess) return internal_error("CUDA: {}", cudaGetErrorString(e));
    return Status::ok();
#endif
  }
  TARMAC_RETURN_IF_ERROR(check_addresses());
  TARMAC_RETURN_IF_ERROR(bind());
  TARMAC_ASSIGN_OR_RETURN(auto ins, host_inputs());
  std::vector<Tensor> outs;
  TARMAC_RETURN_IF_ERROR(cpu_->run(ins, &outs));
  const auto& graph_outs = cpu_->model().graph.outputs;
  for (size_t i = 0; i < outs.size() && i < graph_outs.size(); ++i)
    if (outs[i].nbytes() > 0)
      std::memcpy(addresses_.at(graph_outs[i]->name), outs[i].raw(), outs[i].nbytes());
  return Status::ok();
}

StatusOr<std::vector<double>> ContextImpl::profile_layers(int iterations) {
  TARMAC_RETURN_IF_ERROR(bind());
  if (device_) return device_->profile_layers(iterations);
  // CPU: the executor's per-node wall time over `iterations` runs on the bound inputs.
  TARMAC_RETURN_IF_ERROR(check_addresses());
  ExecutorOptions o = cpu_options(engine_->header.build, shapes_);
  o.profile = true;
  TARMAC_ASSIGN_OR_RETURN(const Model* m, engine_->source_model());
  TARMAC_ASSIGN_OR_RETURN(auto ex, Executor::create(clone_model(*m), o));
  TARMAC_ASSIGN_OR_RETURN(auto ins, host_inputs());
  std::vector<Tensor> outs;
  for (int i = 0; i < std::max(iterations, 1); ++i) TARMAC_RETURN_IF_ERROR(ex->run(ins, &outs));
  std::vector<double> ms;
  for (const NodeTiming& t : ex->timings())
    ms.push_back(t.calls > 0 ? t.total_ms / static_cast<double>(t.calls) : 0.0);
  return ms;
}

StatusOr<PlanHeader> read_header(uint32_t format_version, uint32_t flags,
                                 const nlohmann::json& header) {
  auto h = header_from_json(header);
  if (!h.is_ok()) return h.status();
  h->info.format_version = format_version;
  if (h->info.weights_stripped != ((flags & kPlanWeightsStripped) != 0))
    return invalid_argument("plan is inconsistent: the header and the flags disagree on weights");
  return h;
}

}  // namespace

StatusOr<EngineInfo> Engine::read_info(const std::string& plan, std::vector<LayerInfo>* layers) {
  TARMAC_ASSIGN_OR_RETURN(PlanContents p, parse_plan(plan));
  TARMAC_ASSIGN_OR_RETURN(PlanHeader h, read_header(p.format_version, p.flags, p.header));
  if (layers) *layers = h.profiles.front().layers;
  return h.info;
}

namespace {

Status check_loadable(const PlanHeader& h, const LoadOptions& options) {
  const EngineInfo& info = h.info;
  if (info.tarmac_version != TARMAC_VERSION && options.log)
    options.log(fmt::format("warning: plan was written by tarmac {}, this is {}",
                            info.tarmac_version, TARMAC_VERSION));
  if (info.device == DeviceKind::kCuda) {
    TARMAC_ASSIGN_OR_RETURN(DeviceIdentity here, query_device_identity());
    TARMAC_RETURN_IF_ERROR(check_device(info, here));
  }
  return Status::ok();
}

/// The engine over a checked header; profile 0 of a CUDA plan is prepared now, so that the
/// first inference starts without a build.
StatusOr<std::shared_ptr<Engine>> make_engine(PlanHeader header, std::string_view built,
                                              std::shared_ptr<const void> built_owner,
                                              std::function<StatusOr<std::string>()> source,
                                              const LoadOptions& options) {
  auto engine = std::make_shared<EngineImpl>();
  engine->header = std::move(header);
  engine->built = built;
  engine->built_owner = std::move(built_owner);
  engine->read_source = std::move(source);
  engine->weights_onnx = options.weights_onnx;
  engine->log = options.log;
  engine->device_engines.resize(engine->header.profiles.size());
  if (engine->header.info.device == DeviceKind::kCuda) {
    TARMAC_RETURN_IF_ERROR(engine->device_engine(0).status());
  } else {
    TARMAC_RETURN_IF_ERROR(engine->source_model().status());  // errors now, not at first use
  }
  return std::shared_ptr<Engine>(std::move(engine));
}

}  // namespace

StatusOr<std::shared_ptr<DeviceEngine>> device_engine_as_built(const PlanHeader& h,
                                                               std::string_view built,
                                                               std::shared_ptr<const void> owner) {
  if (h.profiles.empty()) return invalid_argument("plan has no optimization profile");
  // The graph is final: passes, precision and layouts are not run again.
  TARMAC_ASSIGN_OR_RETURN(Model m, parse_built_model(built, std::move(owner), "plan"));
  std::map<std::string, Dims> shapes;
  for (const auto& [name, r] : h.profiles.front().ranges) shapes[name] = r.opt;
  DeviceExecutorOptions o = device_options(h.build, shapes, h.profiles.front().tactics);
  o.optimize = false;
  o.precision = DType::kFloat32;
  o.layout = LayoutMode::kNchw;
  return DeviceEngine::create(std::move(m), o);
}

StatusOr<OpenedPlan> open_plan(const std::string& plan, const LoadOptions& options) {
  TARMAC_ASSIGN_OR_RETURN(PlanContents p, parse_plan(plan));
  OpenedPlan opened;
  TARMAC_ASSIGN_OR_RETURN(opened.header, read_header(p.format_version, p.flags, p.header));
  TARMAC_RETURN_IF_ERROR(check_loadable(opened.header, options));
  TARMAC_ASSIGN_OR_RETURN(
      opened.model, import_plan_model(std::move(p.model), opened.header, options.weights_onnx));
  opened.built = std::move(p.built);
  return opened;
}

StatusOr<std::shared_ptr<Engine>> Engine::deserialize(const std::string& plan,
                                                      const LoadOptions& options) {
  TARMAC_ASSIGN_OR_RETURN(PlanContents p, parse_plan(plan));
  TARMAC_ASSIGN_OR_RETURN(PlanHeader h, read_header(p.format_version, p.flags, p.header));
  TARMAC_RETURN_IF_ERROR(check_loadable(h, options));
  auto model = std::make_shared<std::string>(std::move(p.model));
  auto built = std::make_shared<std::string>(std::move(p.built));
  return make_engine(
      std::move(h), *built, built, [model]() -> StatusOr<std::string> { return *model; }, options);
}

StatusOr<std::shared_ptr<Engine>> Engine::load_file(const std::string& path,
                                                    const LoadOptions& options) {
  auto load = [&]() -> StatusOr<std::shared_ptr<Engine>> {
    TARMAC_ASSIGN_OR_RETURN(PlanFile f, open_plan_file(path));
    TARMAC_ASSIGN_OR_RETURN(PlanHeader h, read_header(f.format_version, f.flags, f.header));
    TARMAC_RETURN_IF_ERROR(check_loadable(h, options));
    auto file = std::make_shared<PlanFile>(std::move(f));
    return make_engine(
        std::move(h), file->built, file->mapping, [file]() { return read_plan_model(*file); },
        options);
  };
  auto e = load();
  if (!e.is_ok()) return e.status().with_context(fmt::format("cannot load '{}'", path));
  return e;
}

}  // namespace tarmac

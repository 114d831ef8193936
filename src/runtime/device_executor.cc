// DeviceExecutor over one engine and one context; the same in builds with and without CUDA
// (without it, DeviceEngine::create reports kUnavailable).
#include "runtime/device_executor.h"

namespace tarmac {

namespace {

class EngineExecutor final : public DeviceExecutor {
 public:
  EngineExecutor(std::shared_ptr<DeviceEngine> engine, std::unique_ptr<DeviceContext> context)
      : engine_(std::move(engine)), context_(std::move(context)) {}

  Status run(const std::vector<std::pair<std::string, Tensor>>& inputs,
             std::vector<Tensor>* outputs) override {
    return context_->run(inputs, outputs);
  }
  StatusOr<double> time_compute() override { return context_->time_compute(); }
  StatusOr<std::vector<double>> profile_layers(int iterations) override {
    return context_->profile_layers(iterations);
  }
  const DeviceMemoryReport& memory() const override { return context_->memory(); }
  const std::vector<DeviceLayer>& layers() const override { return context_->layers(); }
  std::string device_name() const override { return engine_->device_name(); }

 private:
  std::shared_ptr<DeviceEngine> engine_;
  std::unique_ptr<DeviceContext> context_;
};

}  // namespace

StatusOr<std::unique_ptr<DeviceExecutor>> DeviceExecutor::create(
    Model model, const DeviceExecutorOptions& options) {
  TARMAC_ASSIGN_OR_RETURN(std::shared_ptr<DeviceEngine> engine,
                          DeviceEngine::create(std::move(model), options));
  TARMAC_ASSIGN_OR_RETURN(std::unique_ptr<DeviceContext> context, engine->create_context());
  return std::unique_ptr<DeviceExecutor>(
      std::make_unique<EngineExecutor>(std::move(engine), std::move(context)));
}

}  // namespace tarmac

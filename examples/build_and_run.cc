// The public API end to end: parse an ONNX model, build a plan, save and load it, and run one
// inference through an execution context (TensorRT's flow).
//   build_and_run model.onnx [cpu|cuda] [model.plan]
// Inputs are filled with 0.5; the first values of every output are printed.
#include <cstdio>
#include <string>
#include <vector>

#include "tarmac/builder.h"
#include "tarmac/engine.h"

#ifdef TARMAC_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace {

int fail(const tarmac::Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return 1;
}

int64_t count(const tarmac::Dims& d) {
  int64_t n = 1;
  for (int64_t x : d) n *= x;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s model.onnx [cpu|cuda] [model.plan]\n", argv[0]);
    return 2;
  }
  const std::string device = argc > 2 ? argv[2] : "cpu";
  const std::string plan_path = argc > 3 ? argv[3] : "model.plan";
  auto network = tarmac::Network::parse_onnx_file(argv[1]);
  if (!network.is_ok()) return fail(network.status());

  tarmac::BuildConfig config;
  config.device = device == "cuda" ? tarmac::DeviceKind::kCuda : tarmac::DeviceKind::kCpu;
  // Dynamic dims (batch) get a one-shape profile at 1.
  tarmac::OptimizationProfile profile;
  for (const auto& in : network->inputs()) {
    tarmac::Dims d = in.shape;
    bool dynamic = false;
    for (int64_t& x : d)
      if (x < 0) x = 1, dynamic = true;
    if (dynamic) profile.inputs[in.name] = {d, d, d};
  }
  if (!profile.inputs.empty()) config.profiles.push_back(profile);
  auto plan = tarmac::build_serialized_engine(*network, config);
  if (!plan.is_ok()) return fail(plan.status());
  if (auto s = tarmac::write_plan_file(plan_path, *plan); !s.is_ok()) return fail(s);

  auto engine = tarmac::Engine::load_file(plan_path);
  if (!engine.is_ok()) return fail(engine.status());
  auto ctx = (*engine)->create_execution_context();
  if (!ctx.is_ok()) return fail(ctx.status());
  const tarmac::EngineInfo& info = (*engine)->info();

  // Host buffers; on CUDA the tensors live in device memory and are copied around the run.
  std::vector<std::vector<float>> host;
  std::vector<std::pair<std::string, void*>> bindings;
  for (const auto* list : {&info.inputs, &info.outputs}) {
    for (const auto& t : *list) {
      if (t.dtype != tarmac::DType::kFloat32) {
        std::fprintf(stderr, "error: this example handles float32 tensors only ('%s')\n",
                     t.name.c_str());
        return 1;
      }
      auto shape = (*ctx)->tensor_shape(t.name);
      if (!shape.is_ok()) return fail(shape.status());
      host.emplace_back(static_cast<size_t>(count(*shape)), list == &info.inputs ? 0.5f : 0.f);
      bindings.emplace_back(t.name, host.back().data());
    }
  }
#ifdef TARMAC_WITH_CUDA
  std::vector<void*> device_buffers;
  if (config.device == tarmac::DeviceKind::kCuda) {
    for (size_t i = 0; i < bindings.size(); ++i) {
      void* d = nullptr;
      const size_t bytes = host[i].size() * sizeof(float);
      if (cudaMalloc(&d, bytes) != cudaSuccess) return 1;
      cudaMemcpy(d, host[i].data(), bytes, cudaMemcpyHostToDevice);
      device_buffers.push_back(d);
      bindings[i].second = d;
    }
  }
#endif
  for (const auto& [name, ptr] : bindings)
    if (auto s = (*ctx)->set_tensor_address(name, ptr); !s.is_ok()) return fail(s);
  if (auto s = (*ctx)->execute(); !s.is_ok()) return fail(s);
#ifdef TARMAC_WITH_CUDA
  for (size_t i = 0; i < device_buffers.size(); ++i) {
    cudaMemcpy(host[i].data(), device_buffers[i], host[i].size() * sizeof(float),
               cudaMemcpyDeviceToHost);
    cudaFree(device_buffers[i]);
  }
#endif
  for (size_t i = info.inputs.size(); i < bindings.size(); ++i) {
    std::printf("%s:", bindings[i].first.c_str());
    for (size_t k = 0; k < host[i].size() && k < 5; ++k) std::printf(" %.5f", host[i][k]);
    std::printf(" ... (%zu values)\n", host[i].size());
  }
  return 0;
}

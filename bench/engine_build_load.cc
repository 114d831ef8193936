// Build and load times of a plan (the engine builder's numbers in bench/RESULTS.md):
//   tarmac_engine_build_load model.onnx [--fp16] [--level=3] [--work=DIR]
// 1. cold build: no timing cache (every tactic timed); 2. warm build: the cache the cold build
// wrote; 3. plan load until the first inference can start (load_file + execution context),
// side by side with the same plan without its built section (loading replays the build from the
// source model), alternating, three times each; 4. the first inference; 5. plan size against
// the model's weight bytes. Static-shaped models.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "api/network_impl.h"
#include "builder/plan_file.h"
#include "tarmac/builder.h"
#include "tarmac/engine.h"

#ifdef TARMAC_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

int fail(const tarmac::Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s model.onnx [--fp16] [--level=N] [--work=DIR]\n", argv[0]);
    return 2;
  }
  tarmac::BuildConfig c;
  c.device = tarmac::DeviceKind::kCuda;
  std::string work = "engine_build_load";
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--fp16") c.fp16 = true;
    if (a.rfind("--level=", 0) == 0) c.optimization_level = std::stoi(a.substr(8));
    if (a.rfind("--work=", 0) == 0) work = a.substr(7);
  }
  std::filesystem::create_directories(work);
  const std::string cache = work + "/timing.cache", plan_path = work + "/model.plan";
  std::filesystem::remove(cache);
  auto t = Clock::now();
  auto net = tarmac::Network::parse_onnx_file(argv[1]);
  if (!net.is_ok()) return fail(net.status());
  const double parse_ms = ms_since(t);
  c.timing_cache_file = cache;
  tarmac::BuildReport cold, warm;
  t = Clock::now();
  auto plan = tarmac::build_serialized_engine(*net, c, &cold);
  if (!plan.is_ok()) return fail(plan.status());
  const double cold_ms = ms_since(t);
  t = Clock::now();
  plan = tarmac::build_serialized_engine(*net, c, &warm);
  if (!plan.is_ok()) return fail(plan.status());
  const double warm_ms = ms_since(t);
  if (auto s = tarmac::write_plan_file(plan_path, *plan); !s.is_ok()) return fail(s);

  // The same plan without its built section: what every load did before plans stored one.
  const std::string replay_path = work + "/model_replay.plan";
  {
    auto p = tarmac::parse_plan(*plan);
    if (!p.is_ok()) return fail(p.status());
    const std::string replay = tarmac::serialize_plan(p->header, p->model, p->flags);
    if (auto s = tarmac::write_plan_file(replay_path, replay); !s.is_ok()) return fail(s);
  }
  auto load = [](const std::string& path, double* ms) -> tarmac::Status {
    const auto t0 = Clock::now();
    auto e = tarmac::Engine::load_file(path);
    if (!e.is_ok()) return e.status();
    auto x = (*e)->create_execution_context();
    if (!x.is_ok()) return x.status();
    *ms = ms_since(t0);
    return tarmac::Status::ok();
  };
  std::vector<double> built_ms(3), replay_ms(3);
  for (size_t i = 0; i < 3; ++i) {
    if (auto s = load(replay_path, &replay_ms[i]); !s.is_ok()) return fail(s);
    if (auto s = load(plan_path, &built_ms[i]); !s.is_ok()) return fail(s);
  }

  // Load until the first inference can start, then the first inference itself.
  t = Clock::now();
  auto engine = tarmac::Engine::load_file(plan_path);
  if (!engine.is_ok()) return fail(engine.status());
  auto ctx = (*engine)->create_execution_context();
  if (!ctx.is_ok()) return fail(ctx.status());
  const double load_ms = ms_since(t);
  double first_ms = 0;
#ifdef TARMAC_WITH_CUDA
  std::vector<void*> buffers;
  for (const auto* list : {&(*engine)->info().inputs, &(*engine)->info().outputs})
    for (const auto& ti : *list) {
      auto shape = (*ctx)->tensor_shape(ti.name);
      if (!shape.is_ok()) return fail(shape.status());
      size_t bytes = tarmac::dtype_size(ti.dtype);
      for (int64_t d : *shape) bytes *= static_cast<size_t>(d);
      void* p = nullptr;
      cudaMalloc(&p, bytes);
      cudaMemset(p, 0, bytes);
      buffers.push_back(p);
      if (auto s = (*ctx)->set_tensor_address(ti.name, p); !s.is_ok()) return fail(s);
    }
  cudaDeviceSynchronize();
  t = Clock::now();
  if (auto s = (*ctx)->execute(); !s.is_ok()) return fail(s);
  first_ms = ms_since(t);
  for (void* p : buffers) cudaFree(p);
#endif
  size_t weight_bytes = 0;
  for (const auto& v : net->impl().model.graph.values)
    if (v->constant) weight_bytes += v->constant->nbytes();
  std::printf("model: %s%s, optimization level %d, %d layers\n", argv[1], c.fp16 ? " fp16" : "",
              c.optimization_level, cold.layers);
  std::printf("parse_ms: %.1f\n", parse_ms);
  std::printf("cold_build_ms: %.1f (tactics timed %d)\n", cold_ms, cold.tactics_timed);
  std::printf("warm_build_ms: %.1f (tactics from cache %d, timed %d)\n", warm_ms,
              warm.tactics_from_cache, warm.tactics_timed);
  std::printf("load_until_ready_ms: %.1f\n", load_ms);
  std::printf("load_until_ready_ms as built, three loads: %.1f %.1f %.1f\n", built_ms[0],
              built_ms[1], built_ms[2]);
  std::printf(
      "load_until_ready_ms replaying the build (no built section), three loads: %.1f "
      "%.1f %.1f\n",
      replay_ms[0], replay_ms[1], replay_ms[2]);
  std::printf("first_inference_ms: %.1f\n", first_ms);
  std::printf("plan_bytes: %zu\nweight_bytes: %zu\nplan_over_weights: %.4f\n", plan->size(),
              weight_bytes, static_cast<double>(plan->size()) / static_cast<double>(weight_bytes));
  return 0;
}

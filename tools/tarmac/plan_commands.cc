// `tarmac inspect model.plan` (provenance and layer table of a plan) and
// `tarmac refit --loadEngine=old.plan --onnx=new.onnx --saveEngine=new.plan`.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "api/plan_header.h"
#include "builder/plan_file.h"
#include "cli_common.h"
#include "commands.h"
#include "tarmac/engine.h"

namespace tarmac::cli {

namespace {

std::string version_text(int v, int major_div, int minor_div) {
  return v ? fmt::format("{}.{}", v / major_div, v % major_div / minor_div) : "-";
}

}  // namespace

bool is_plan_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char magic[sizeof(kPlanMagic)] = {};
  const size_t n = std::fread(magic, 1, sizeof(magic), f);
  std::fclose(f);
  return n == sizeof(magic) && std::equal(magic, magic + sizeof(magic), kPlanMagic);
}

int inspect_plan(const std::string& path, bool json) {
  auto bytes = read_whole_file(path);
  if (!bytes.is_ok()) return fail(bytes.status().message());
  std::vector<LayerInfo> layers;
  auto info = Engine::read_info(*bytes, &layers);
  if (!info.is_ok())
    return fail(fmt::format("cannot read '{}': {}", path, info.status().message()));
  const EngineInfo& i = *info;
  if (json) {
    auto p = parse_plan(*bytes);
    if (!p.is_ok()) return fail(p.status().message());
    nlohmann::json j = p->header;
    j["format_version"] = p->format_version;
    j["plan_bytes"] = bytes->size();
    j["model_bytes"] = p->model.size();
    j["built_bytes"] = p->built.size();
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("Plan: %s (%zu bytes, format %u)\n", path.c_str(), bytes->size(), i.format_version);
  std::printf("Built by: tarmac %s on %s\n", i.tarmac_version.c_str(), i.created.c_str());
  if (i.device == DeviceKind::kCuda) {
    std::printf("Device: %s, compute capability %d.%d\n", i.device_name.c_str(),
                i.compute_capability / 10, i.compute_capability % 10);
    std::printf("Libraries: CUDA runtime %s, cuDNN %d, cuBLASLt %d\n",
                version_text(i.cuda_runtime_version, 1000, 10).c_str(), i.cudnn_version,
                i.cublaslt_version);
  } else {
    std::printf("Device: cpu\n");
  }
  std::printf("Build flags: %s\n", i.build_flags.c_str());
  std::string precisions;
  for (const std::string& p : i.precisions) precisions += (precisions.empty() ? "" : ", ") + p;
  std::printf("Precisions: %s\n", precisions.c_str());
  std::printf("Source ONNX hash: %s%s\n", i.onnx_hash.c_str(),
              i.weights_stripped ? " (weights stripped: refit from the ONNX at load)" : "");
  std::printf("Refittable: %s\n", i.refittable ? "yes" : "no");
  if (auto p = parse_plan(*bytes); p.is_ok())
    std::printf("Built engine: %s\n",
                p->built.empty()
                    ? "not stored (profile 0 is rebuilt from the source model at load)"
                    : fmt::format("{} bytes (profile 0 loads without rebuilding)", p->built.size())
                          .c_str());
  for (const TensorInfo& t : i.inputs)
    std::printf("Input: %s %s [%s]\n", t.name.c_str(), std::string(dtype_name(t.dtype)).c_str(),
                dims_text(t.shape).c_str());
  for (const TensorInfo& t : i.outputs)
    std::printf("Output: %s %s [%s]\n", t.name.c_str(), std::string(dtype_name(t.dtype)).c_str(),
                dims_text(t.shape).c_str());
  for (size_t p = 0; p < i.profiles.size(); ++p) {
    std::printf("Profile %zu:", p);
    if (i.profiles[p].inputs.empty()) std::printf(" static shapes");
    for (const auto& [name, r] : i.profiles[p].inputs)
      std::printf(" %s min %s opt %s max %s;", name.c_str(), dims_text(r.min).c_str(),
                  dims_text(r.opt).c_str(), dims_text(r.max).c_str());
    std::printf("\n");
  }
  std::printf("Layers (profile 0): %zu\n", layers.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    const LayerInfo& x = layers[l];
    std::printf("  [%3zu] %-28s %-10s %-22s %s\n", l, x.type.c_str(), x.precision.c_str(),
                x.tactic.empty() ? "-" : x.tactic.c_str(), x.name.c_str());
  }
  return 0;
}

namespace {

struct RefitOptions {
  std::string load, onnx, save;
};

int refit_command(const RefitOptions& o) {
  auto plan = read_whole_file(o.load);
  if (!plan.is_ok()) return fail(plan.status().message());
  auto net = Network::parse_onnx_file(o.onnx);
  if (!net.is_ok()) return fail(net.status().message());
  auto refitted = refit_serialized_engine(*plan, *net);
  if (!refitted.is_ok())
    return fail(fmt::format("cannot refit '{}' with '{}': {}", o.load, o.onnx,
                            refitted.status().message()));
  Status s = write_plan_file(o.save, *refitted);
  if (!s.is_ok()) return fail(s.message());
  std::printf("Refitted %s with the weights of %s into %s (%zu bytes)\n", o.load.c_str(),
              o.onnx.c_str(), o.save.c_str(), refitted->size());
  return 0;
}

}  // namespace

void add_refit_command(CLI::App& app, Action* action) {
  auto o = std::make_shared<RefitOptions>();
  CLI::App* sub = app.add_subcommand(
      "refit", "Swap the weights of a refittable plan for those of an architecture-identical ONNX");
  sub->add_option("--loadEngine", o->load, "Plan built with --refit")->required();
  sub->add_option("--onnx", o->onnx, "ONNX model with the new weights")->required();
  sub->add_option("--saveEngine", o->save, "Where to write the refitted plan")->required();
  sub->callback([o, action] { *action = [o] { return refit_command(*o); }; });
}

}  // namespace tarmac::cli

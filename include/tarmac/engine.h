// Engine: a deserialized plan, ready to make execution contexts (TensorRT's ICudaEngine).
//   auto engine = tarmac::Engine::load_file("model.plan");
//   std::printf("%s\n", (*engine)->info().device_name.c_str());
//   auto ctx = (*engine)->create_execution_context();
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tarmac/builder.h"
#include "tarmac/execution_context.h"
#include "tarmac/network.h"
#include "tarmac/status.h"

namespace tarmac {

/// A layer of the built engine and the ONNX nodes it computes.
struct LayerInfo {
  std::string name;       // ONNX node names joined with " + " for fused layers
  std::string type;       // op type, "+Relu" for fused epilogues, "Reformat(...)" for reformats
  std::string precision;  // "float32", "float16", ...
  std::string tactic;     // the implementation chosen at build time ("" = the only one)
  std::vector<std::string> inputs, outputs;  // "float16[1, 52, 52, 64]"
};

/// Everything a plan says about how and for what it was built.
struct EngineInfo {
  uint32_t format_version = 0;
  std::string tarmac_version;
  DeviceKind device = DeviceKind::kCuda;
  std::string device_name;       // "NVIDIA H100 80GB HBM3", or "cpu"
  int compute_capability = 0;    // 90 for sm_90; 0 on the CPU
  int cuda_runtime_version = 0;  // e.g. 13000
  int cudnn_version = 0;         // e.g. 91400
  int cublaslt_version = 0;
  std::string onnx_hash;                // of the source ONNX bytes
  std::string build_flags;              // "--fp16 --builderOptimizationLevel=3", as a command line
  std::vector<std::string> precisions;  // "float32", "tf32", "float16", ...
  std::vector<OptimizationProfile> profiles;
  bool refittable = false;
  bool weights_stripped = false;
  std::vector<TensorInfo> inputs, outputs;
  std::string created;  // UTC ISO-8601
};

struct LoadOptions {
  /// For plans written with strip_weights: the ONNX file whose weights refit it at load.
  std::string weights_onnx;
  /// Messages while loading (warnings).
  std::function<void(const std::string&)> log;
};

class Engine {
 public:
  virtual ~Engine() = default;
  /// Checks magic, version, checksum, device and library versions, then prepares profile 0.
  static StatusOr<std::shared_ptr<Engine>> deserialize(const std::string& plan,
                                                       const LoadOptions& options = {});
  static StatusOr<std::shared_ptr<Engine>> load_file(const std::string& path,
                                                     const LoadOptions& options = {});
  /// Reads only the provenance and layer table (no device needed): `tarmac inspect x.plan`.
  static StatusOr<EngineInfo> read_info(const std::string& plan,
                                        std::vector<LayerInfo>* layers = nullptr);

  virtual const EngineInfo& info() const = 0;
  /// The layers of profile `profile` as built (fused, with reformats and tactics).
  virtual const std::vector<LayerInfo>& layers(int profile = 0) const = 0;
  virtual int num_profiles() const = 0;
  /// A context on its own CUDA stream (or the CPU), bound to profile 0.
  virtual StatusOr<std::unique_ptr<ExecutionContext>> create_execution_context() = 0;
};

/// Swaps the weights of `plan` for those of `network` (same architecture: same initializer
/// names, types and shapes) and returns the new plan; the first mismatch is named otherwise.
StatusOr<std::string> refit_serialized_engine(const std::string& plan, const Network& network);

}  // namespace tarmac

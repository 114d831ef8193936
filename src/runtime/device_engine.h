// DeviceEngine and DeviceContext: one built model shared by several execution contexts, each
// with its own stream, so that several inferences of one engine run concurrently (TensorRT's
// ICudaEngine / IExecutionContext split).
//   DeviceExecutorOptions o;
//   o.input_shapes = {{"images", {1, 3, 416, 416}}};
//   o.use_cuda_graph = true;
//   auto engine = DeviceEngine::create(std::move(model), o);  // passes, weights upload
//   auto ctx = (*engine)->create_context();                   // stream, kernels, arena
//   std::vector<Tensor> outs;
//   Status s = (*ctx)->run({{"images", x}}, &outs);
//   s = (*ctx)->set_input_shapes({{"images", {4, 3, 416, 416}}});  // next run re-captures
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backends/backend.h"
#include "builder/layout.h"
#include "core/status.h"
#include "ir/graph.h"
#include "runtime/tensor_tap.h"

namespace tarmac {

struct DeviceExecutorOptions {
  /// Static shapes for inputs with symbolic dims (every input must end up static).
  std::map<std::string, Dims> input_shapes;
  /// Run the graph passes first (the builder's view, with internal fused nodes).
  bool optimize = true;
  KernelConfig config;
  /// kFloat32, or kFloat16 / kBFloat16 to compute in half precision (builder/precision.h);
  /// inputs and outputs keep their float32 interface.
  DType precision = DType::kFloat32;
  /// Layers kept in float32 when precision is half.
  std::set<std::string> keep_fp32;
  /// Convolution layout (builder/layout.h): auto = NHWC where they compute in half precision.
  LayoutMode layout = LayoutMode::kAuto;
  /// Run nodes without a CUDA kernel on the CPU reference (copies both ways, no CUDA graph).
  /// Off by default: such nodes are an error listing them.
  bool allow_cpu_fallback = false;
  /// Capture the enqueue sequence once per input shapes and replay it as a CUDA graph.
  bool use_cuda_graph = false;
  /// Input-shape sets whose device state (kernels, arena, CUDA graph) a context keeps, so that
  /// returning to recent shapes neither rebuilds nor re-captures. 1 keeps only the current one.
  int max_cached_shapes = 4;
  /// Node name -> tactic chosen by the builder (KernelConfig::tactic); others use defaults.
  std::map<std::string, std::string> tactics;
  /// Receives the passes' log while an engine builds for a set of input shapes.
  std::function<void(const std::string&)> log;
};

struct DeviceMemoryReport {
  size_t arena_bytes = 0;        // activations (graph inputs and outputs included)
  size_t lower_bound_bytes = 0;  // peak of simultaneously live activation bytes
  size_t weight_bytes = 0;       // constants uploaded once
  size_t workspace_bytes = 0;    // largest scratch any kernel asked for
};

struct DeviceLayer {
  std::string name;     // ONNX node names joined with " + " for fused layers
  std::string op_type;  // with "+Activation" for fused epilogues
  std::string device;   // "cuda" or "cpu" (fallback)
  /// Each input and output as stored, "float16[1, 52, 52, 64]" (NHWC layers list physical
  /// dims); weights are inputs too. Empty strings for absent optional tensors.
  std::vector<std::string> inputs, outputs;
};

/// One stream's worth of inference state. A context is used by one host thread at a time;
/// contexts of one engine may run at the same time on different threads.
class DeviceContext {
 public:
  virtual ~DeviceContext() = default;

  /// Static shapes for some inputs (name -> dims); inputs not named keep their shapes. New
  /// shapes bind the engine's build for them (made on first use by any context) and give the
  /// context kernels, arena and workspace for them; with CUDA graphs on, the next run()
  /// captures a graph for them. The shapes of the last `max_cached_shapes` sets stay bound, so
  /// switching back to them costs nothing. Same shapes: no-op. On error the shapes are unchanged.
  virtual Status set_input_shapes(const std::map<std::string, Dims>& shapes) = 0;
  /// The current static shape of every input.
  virtual const std::map<std::string, Dims>& input_shapes() const = 0;

  /// Host inputs in (shapes must be the current ones), host outputs out (synchronous).
  virtual Status run(const std::vector<std::pair<std::string, Tensor>>& inputs,
                     std::vector<Tensor>* outputs) = 0;
  /// run(), and after each layer its outputs are copied to the host for `tap` (`tarmac compare
  /// --mark-all`). The layers, kernels, tactics, arena and workspace are the context's own,
  /// unchanged: only the copies are added between layers, and this run replays no CUDA graph
  /// (graph or not, the same kernels run in the same order on the same memory).
  virtual Status run_with_taps(const std::vector<std::pair<std::string, Tensor>>& inputs,
                               std::vector<Tensor>* outputs, const TensorTap& tap) = 0;
  /// Device memory in and out: copies the inputs (name -> device address, current shapes) into
  /// the context, runs, and copies the outputs to their device addresses. Ordered after the
  /// work already on `stream` (a cudaStream_t) and before work enqueued there later; returns
  /// without waiting. Inputs not named keep the values last copied in.
  virtual Status enqueue(const std::map<std::string, const void*>& inputs,
                         const std::map<std::string, void*>& outputs, void* stream) = 0;
  /// Graph outputs with their current static shapes and dtypes, in model order.
  virtual std::vector<std::pair<std::string, std::pair<DType, Dims>>> output_types() const = 0;
  /// Replay runs as CUDA graphs (captured per input-shape set); starts as the engine's
  /// use_cuda_graph option. Contexts with CPU fallback steps never capture.
  virtual void set_use_cuda_graph(bool on) = 0;
  /// The tactic each layer's kernel uses, in layer order ("" for kernels without variants).
  virtual std::vector<std::string> layer_tactics() const = 0;
  /// Re-runs only the device work on the inputs last copied in for the current shapes and
  /// returns its GPU time in milliseconds (CUDA events), for benchmarks.
  virtual StatusOr<double> time_compute() = 0;
  /// Per-layer GPU time in milliseconds on the current inputs, in layer order: each layer alone,
  /// the median over `iterations` launches of a CUDA graph repeating it, without host gaps.
  virtual StatusOr<std::vector<double>> profile_layers(int iterations) = 0;
  /// For the current shapes.
  virtual const DeviceMemoryReport& memory() const = 0;
  virtual const std::vector<DeviceLayer>& layers() const = 0;

  /// CUDA graphs captured by this context so far (one per input-shape set bound, again after
  /// that set was dropped from the cache).
  virtual int graph_captures() const = 0;
  /// The context's cudaStream_t (non-blocking), to order other work after its runs.
  virtual void* stream() const = 0;
};

/// A timed tactic: what the timing cache stores per layer signature.
struct TimedTactic {
  std::string tactic;
  double ms = 0;
};

struct TacticTimingOptions {
  /// BuildConfig::optimization_level: 0 none, 1 the best 2 candidates, 2 the best 4, 3 all,
  /// 4-5 all over more iterations.
  int level = 3;
  /// Layer signature -> choice; read before timing a layer and filled after (may be null).
  std::map<std::string, TimedTactic>* cache = nullptr;
  std::function<void(double, const std::string&)> progress;
};

/// The builder's choice for one layer with variants.
struct TacticChoice {
  std::string node;       // the runtime node's name (DeviceExecutorOptions::tactics key)
  std::string signature;  // op, attributes, input types and layout: the timing cache key
  std::string tactic;
  double ms = 0;
  int candidates = 0;  // timed (0 when the cache answered)
  bool from_cache = false;
  std::string detail;  // every candidate with its time or why it was passed over
};

/// A model built for the GPU, shared (std::shared_ptr) by its contexts and by any thread. It
/// keeps the model as given and builds one instance per set of static input shapes — passes,
/// precision, node list, weights uploaded once, memory plan — cached by shapes, so contexts
/// with the same shapes share one copy of the weights.
class DeviceEngine {
 public:
  virtual ~DeviceEngine() = default;
  /// Builds the instance for `options.input_shapes`. Fails with kUnavailable without a CUDA
  /// device or in a build without CUDA, with kInvalidArgument for inputs left dynamic, and with
  /// kUnsupported listing the nodes that have no CUDA kernel (unless CPU fallback is on).
  static StatusOr<std::shared_ptr<DeviceEngine>> create(Model model,
                                                        const DeviceExecutorOptions& options);

  /// A new context on its own stream, bound to the shapes of `options.input_shapes`.
  virtual StatusOr<std::unique_ptr<DeviceContext>> create_context() = 0;
  /// Instances built so far (each uploaded its weights once).
  virtual int instances_built() const = 0;
  /// Device bytes of weights held by the instances alive now (an instance lives while the
  /// engine's first one or some context's cached shapes use it).
  virtual size_t weight_bytes() const = 0;
  virtual std::string device_name() const = 0;
  /// The model of the instance `create` built, as built (passes, precision and layouts
  /// applied): what a plan's built section stores.
  virtual const Model& built_model() const = 0;
  /// Times the variants (DeviceKernel::tactic_candidates) of every layer of the first instance
  /// that has several, on random inputs and the real weights; a candidate whose output differs
  /// from the default's beyond the precision's tolerance is not chosen.
  virtual StatusOr<std::vector<TacticChoice>> time_tactics(const TacticTimingOptions& options) = 0;
};

/// What the running device and libraries are: a plan or timing cache is bound to them.
struct DeviceIdentity {
  std::string name;            // "NVIDIA H100 80GB HBM3"
  int compute_capability = 0;  // 90
  int cuda_runtime_version = 0;
  int cudnn_version = 0;
  int cublaslt_version = 0;
};
/// kUnavailable without a CUDA device or in a build without CUDA.
StatusOr<DeviceIdentity> query_device_identity();

}  // namespace tarmac

// The timed inference loop of `tarmac exec`, with trtexec's semantics: after one untimed
// inference per context, contexts take turns (round robin) until at least --iterations loop
// rounds after the warm-up and --warmUp + --duration have passed. On CUDA each context has its
// own stream and keeps one inference in flight ahead of the one it waits for; H2D copies (from
// pinned host memory), the enqueued compute and D2H copies are timed with CUDA events and the
// enqueue call with the host clock. On the CPU every timestamp is a host time around execute().
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "runtime/perf_report.h"
#include "tarmac/execution_context.h"

namespace tarmac::cli {

struct BenchmarkOptions {
  int iterations = 10;
  double warmup_ms = 200;
  double duration_s = 3;
  bool data_transfers = true;  // false: --noDataTransfers
  bool spin_wait = false;      // --useSpinWait
};

/// One output: its name and host tensor of the dtype and shape the context reports.
using NamedTensor = std::pair<std::string, Tensor>;

struct BenchmarkResult {
  std::vector<InferenceTrace> trace;  // every inference, warm-up included
  std::vector<Tensor> outputs;        // the first context's outputs after its last inference
};

/// Runs the loop over `contexts` (their profile and input shapes already set), feeding every
/// context `inputs` and giving it buffers shaped like `outputs`.
StatusOr<BenchmarkResult> run_benchmark(bool on_cuda,
                                        const std::vector<ExecutionContext*>& contexts,
                                        const std::vector<NamedTensor>& inputs,
                                        const std::vector<NamedTensor>& outputs,
                                        const BenchmarkOptions& options);

}  // namespace tarmac::cli

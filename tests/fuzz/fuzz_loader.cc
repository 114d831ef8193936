// libFuzzer target: arbitrary bytes as an ONNX model through the importer, the verifier and
// shape inference with constant folding on the CPU reference kernels; models that pass go
// through the graph passes (sanitize mode and builder mode), the exporter and a re-import.
// Bad models must come back as a Status; any crash, hang, sanitizer report or abort is a bug.
// Run it with scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "backends/backend.h"
#include "core/parallel.h"
#include "core/tensor.h"
#include "ir/inference.h"
#include "ir/verifier.h"
#include "onnx/exporter.h"
#include "onnx/importer.h"
#include "passes/pass_manager.h"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // Keep every allocation far below libFuzzer's default -malloc_limit_mb (2 GiB): a model
  // that declares a larger tensor must be refused with kResourceExhausted, not attempted.
  tarmac::set_max_host_allocation_bytes(size_t{64} << 20);
  tarmac::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  tarmac::ImportOptions options;
  options.collect_unsupported = true;  // also exercises the `tarmac inspect` path
  // base_dir "" forbids external data: the fuzzer never touches the file system.
  auto imported = tarmac::import_onnx_bytes(bytes, "", options);
  if (!imported.is_ok() || !imported->unsupported.empty()) return 0;
  tarmac::Model& model = imported->model;
  tarmac::InferOptions infer;
  infer.evaluator = tarmac::evaluate_node_on_cpu;
  if (!tarmac::verify_and_infer(model.graph, model.onnx_opset(), infer).is_ok()) return 0;
  auto exported = tarmac::export_onnx_bytes(model);
  if (exported.is_ok()) {
    auto again = tarmac::import_onnx_bytes(*exported, "");
    (void)again;
  }
  for (bool internal : {false, true}) {
    auto copy = tarmac::import_onnx_bytes(bytes, "");
    if (!copy.is_ok()) return 0;
    tarmac::PassOptions passes;
    passes.evaluator = tarmac::evaluate_node_on_cpu;
    passes.allow_internal_ops = internal;
    if (!tarmac::default_pipeline().run(copy->model, passes, nullptr).is_ok()) continue;
    if (!internal) (void)tarmac::export_onnx_bytes(copy->model);
  }
  return 0;
}

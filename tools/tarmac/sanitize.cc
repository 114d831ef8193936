// `tarmac sanitize IN.onnx -o OUT.onnx`: simplify an exported graph into standard ONNX.
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "backends/backend.h"
#include "cli_common.h"
#include "commands.h"
#include "onnx/exporter.h"
#include "onnx/importer.h"
#include "passes/pass_manager.h"

namespace tarmac::cli {

namespace {

struct SanitizeOptions {
  std::string input;
  std::string output;
  bool fold_constants = false;
  std::string override_shapes;
  int64_t fold_size_limit = int64_t{16} << 20;
  bool external_data = false;
  std::string external_data_file;
  bool verbose = false;
};

/// Weights above this always go to an external file: protobuf cannot write 2 GiB messages.
constexpr int64_t kInlineWeightLimit = int64_t{1800} << 20;

std::map<std::string, int64_t> op_histogram(const Graph& g) {
  std::map<std::string, int64_t> h;
  for (const auto& n : g.nodes) h[n->op_type]++;
  return h;
}

int sanitize_command(const SanitizeOptions& o) {
  auto r = import_onnx_file(o.input);
  if (!r.is_ok()) return fail(r.status().message());
  Model& m = r->model;
  if (!o.override_shapes.empty()) {
    auto shapes = parse_shapes(o.override_shapes);
    if (!shapes.is_ok()) return fail(shapes.status().message());
    Status s = override_input_shapes(m.graph, *shapes);
    if (!s.is_ok()) return fail(s.message());
  }
  const auto before = op_histogram(m.graph);
  const size_t nodes_before = m.graph.nodes.size();

  PassOptions po;
  po.allow_internal_ops = false;
  po.fold_constants = o.fold_constants;
  po.fold_size_limit_bytes = o.fold_size_limit;
  po.evaluator = evaluate_node_on_cpu;
  if (o.verbose) po.log = [](const std::string& line) { std::printf("  %s\n", line.c_str()); };
  std::vector<PassReport> report;
  Status s = default_pipeline().run(m, po, &report);
  if (!s.is_ok()) return fail(s.message());

  std::printf("Passes:\n");
  for (const PassReport& p : report)
    std::printf("  %-24s %d rewrite%s\n", p.pass.c_str(), p.rewrites, p.rewrites == 1 ? "" : "s");
  const auto after = op_histogram(m.graph);
  std::printf("Nodes: %zu -> %zu\n", nodes_before, m.graph.nodes.size());
  std::map<std::string, std::pair<int64_t, int64_t>> diff;
  for (const auto& [op, n] : before) diff[op].first = n;
  for (const auto& [op, n] : after) diff[op].second = n;
  for (const auto& [op, counts] : diff)
    if (counts.first != counts.second)
      std::printf("  %-24s %lld -> %lld\n", op.c_str(), static_cast<long long>(counts.first),
                  static_cast<long long>(counts.second));

  int64_t weight_bytes = 0;
  for (const auto& v : m.graph.values)
    if (v->is_initializer && v->constant)
      weight_bytes += static_cast<int64_t>(v->constant->nbytes());
  ExportOptions eo;
  const std::string stem = std::filesystem::path(o.output).filename().string();
  if (!o.external_data_file.empty()) {
    eo.external_data_file = o.external_data_file;
  } else if (o.external_data || m.external_data || weight_bytes > kInlineWeightLimit) {
    eo.external_data_file = stem + ".data";
  }
  s = export_onnx_file(m, o.output, eo);
  if (!s.is_ok()) return fail(s.message());
  std::printf("Wrote %s", o.output.c_str());
  if (!eo.external_data_file.empty())
    std::printf(" (weights in %s)", eo.external_data_file.c_str());
  std::printf("\n");
  return 0;
}

}  // namespace

void add_sanitize_command(CLI::App& app, Action* action) {
  auto o = std::make_shared<SanitizeOptions>();
  CLI::App* sub = app.add_subcommand(
      "sanitize", "Fold constants and simplify an ONNX graph into a standard ONNX file");
  sub->add_option("model", o->input, "Input ONNX model")->required();
  sub->add_option("-o,--output", o->output, "Output ONNX model")->required();
  sub->add_flag("--fold-constants", o->fold_constants,
                "Replace constant subgraphs (including shape arithmetic) by initializers");
  sub->add_option("--override-input-shapes", o->override_shapes,
                  "Static input shapes, e.g. images:1x3x640x640,mask:1x1");
  sub->add_option("--fold-size-limit", o->fold_size_limit,
                  "Largest folded constant in bytes (default 16 MiB)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--external-data", o->external_data,
                "Write weights to OUTPUT.data beside the output (automatic when the input used "
                "external data or the weights exceed 1.8 GB)");
  sub->add_option("--external-data-file", o->external_data_file,
                  "Name of the external weights file (a bare file name beside the output)");
  sub->add_flag("-v,--verbose", o->verbose, "Log every rewrite and every candidate left alone");
  sub->callback([o, action] { *action = [o] { return sanitize_command(*o); }; });
}

}  // namespace tarmac::cli

#include "compare/compare.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <set>

#include "compare/bisect.h"
#include "compare/layer_compare.h"
#include "compare/report.h"
#include "compare/tensor_files.h"
#include "core/npy.h"
#include "core/random.h"
#include "core/strings.h"
#include "onnx/importer.h"

namespace tarmac::compare {

namespace {

/// The non-empty items of a comma-separated list.
std::vector<std::string> list_items(const std::string& spec) {
  std::vector<std::string> items;
  for (std::string& item : split(spec, ','))
    if (!item.empty()) items.push_back(std::move(item));
  return items;
}

using InputTypes = std::vector<std::pair<std::string, std::pair<DType, Dims>>>;

/// A loaded tensor as the input expects it: same dims, converted to the input's dtype.
StatusOr<Tensor> fit_input(const std::string& name, const Tensor& t, DType dtype, const Dims& dims,
                           const std::string& source) {
  if (t.dims() != dims)
    return invalid_argument("{}: input '{}' has shape {}, the engine expects {}", source, name,
                            dims_to_string(t.dims()), dims_to_string(dims));
  return t.dtype() == dtype ? t : t.cast(dtype);
}

/// Every sample's inputs: --loadInputs files, random values for the rest.
StatusOr<std::vector<NamedTensors>> make_samples(const CompareOptions& o, const InputTypes& types,
                                                 std::vector<std::string>* lines) {
  std::vector<std::string> archives;
  std::map<std::string, std::string> files;  // name -> .npy / raw file
  for (const std::string& item : list_items(o.load_inputs)) {
    const size_t colon = item.find(':');
    if (colon == std::string::npos) {
      if (!item.ends_with(".npz"))
        return invalid_argument("--loadInputs: '{}' is neither name:file nor an .npz file", item);
      archives.push_back(item);
    } else {
      const std::string name = item.substr(0, colon);
      bool known = false;
      for (const auto& [n, t] : types) known |= n == name;
      if (!known) return invalid_argument("--loadInputs names '{}', which is not an input", name);
      if (!files.emplace(name, item.substr(colon + 1)).second)
        return invalid_argument("--loadInputs names input '{}' twice", name);
    }
  }
  const int n = archives.empty() ? o.samples : static_cast<int>(archives.size());
  if (n < 1) return invalid_argument("--samples must be at least 1, got {}", n);
  std::vector<NamedTensors> samples(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    std::map<std::string, Tensor> from_archive;
    if (!archives.empty()) {
      TARMAC_ASSIGN_OR_RETURN(auto arrays, read_npz_file(archives[static_cast<size_t>(i)]));
      for (auto& [name, t] : arrays) from_archive[name] = std::move(t);
    }
    uint64_t k = 0;
    for (const auto& [name, type] : types) {
      const auto& [dtype, dims] = type;
      const std::string desc = fmt::format("{} [{}]", dtype_name(dtype), fmt::join(dims, ", "));
      Tensor t;
      std::string source;
      if (auto it = files.find(name); it != files.end()) {
        source = it->second;
        if (source.ends_with(".npy")) {
          TARMAC_ASSIGN_OR_RETURN(Tensor raw, read_npy_file(source));
          TARMAC_ASSIGN_OR_RETURN(t, fit_input(name, raw, dtype, dims, source));
        } else {
          TARMAC_ASSIGN_OR_RETURN(t, read_raw_tensor(source, dtype, dims));
        }
      } else if (auto a = from_archive.find(name); a != from_archive.end()) {
        source = archives[static_cast<size_t>(i)];
        TARMAC_ASSIGN_OR_RETURN(t, fit_input(name, a->second, dtype, dims, source));
      } else {
        const uint64_t seed = o.seed + 1000003ULL * static_cast<uint64_t>(i) + k;
        TARMAC_ASSIGN_OR_RETURN(Tensor probe, Tensor::create(dtype, dims));  // refuses huge sizes
        (void)probe;
        t = random_tensor(dtype, dims, seed, o.low, o.high);
        source = fmt::format("random in [{}, {}], seed {}", o.low, o.high, seed);
      }
      ++k;
      if (i == 0 || !archives.empty())
        lines->push_back(fmt::format("Sample {}: input '{}' {} from {}", i, name, desc, source));
      samples[static_cast<size_t>(i)].emplace_back(name, std::move(t));
    }
    for (const auto& [name, t] : from_archive) {
      bool used = false;
      for (const auto& [n2, t2] : types) used |= n2 == name;
      if (!used)
        return invalid_argument("{}: '{}' is not an input of the model",
                                archives[static_cast<size_t>(i)], name);
    }
  }
  if (archives.empty() && n > 1)
    lines->push_back(fmt::format("Samples 1..{}: the same inputs with other seeds", n - 1));
  return samples;
}

/// Golden outputs, one file per sample.
StatusOr<std::vector<NamedTensors>> load_golden(const std::string& spec, size_t samples) {
  const auto files = list_items(spec);
  if (files.size() != samples)
    return invalid_argument("--load-outputs gives {} file{} for {} sample{}: give one per sample",
                            files.size(), files.size() == 1 ? "" : "s", samples,
                            samples == 1 ? "" : "s");
  std::vector<NamedTensors> r;
  for (const std::string& f : files) {
    TARMAC_ASSIGN_OR_RETURN(NamedTensors t, read_tensor_set(f));
    r.push_back(std::move(t));
  }
  return r;
}

Status save_samples(const std::string& path, const std::vector<NamedTensors>& sets) {
  const int n = static_cast<int>(sets.size());
  for (int i = 0; i < n; ++i)
    TARMAC_RETURN_IF_ERROR(write_tensor_set(sample_path(path, i, n), sets[static_cast<size_t>(i)]));
  return Status::ok();
}

/// Compares every output of every sample; prints the blocks and returns whether all passed.
StatusOr<bool> compare_outputs(const std::vector<NamedTensors>& test,
                               const std::vector<NamedTensors>& ref, const CheckOptions& check,
                               const std::string& test_label, const std::string& ref_label,
                               const LineSink& out) {
  int failed_outputs = 0, failed_samples = 0;
  std::set<std::string> failed_names;
  for (size_t s = 0; s < test.size(); ++s) {
    bool sample_ok = true;
    if (test.size() > 1) out(fmt::format("Sample {}:", s));
    for (const auto& [name, t] : test[s]) {
      const Tensor* r = find_named(ref[s], name);
      if (!r) return invalid_argument("the reference has no output '{}' (sample {})", name, s);
      TARMAC_ASSIGN_OR_RETURN(TensorComparison c, compare_tensors(name, t, *r, check));
      for (const std::string& line : format_comparison(c, check, test_label, ref_label)) out(line);
      if (!c.passed) {
        sample_ok = false;
        ++failed_outputs;
        failed_names.insert(name);
      }
    }
    if (!sample_ok) ++failed_samples;
  }
  std::string names;
  for (const auto& [name, t] : test.front()) names += (names.empty() ? "" : ", ") + name;
  if (failed_outputs == 0) {
    out(fmt::format("PASSED | all outputs matched on {} sample{} | outputs: {}", test.size(),
                    test.size() == 1 ? "" : "s", names));
  } else {
    std::string bad;
    for (const std::string& n : failed_names) bad += (bad.empty() ? "" : ", ") + n;
    out(fmt::format("FAILED | {} comparison{} failed on {} of {} sample{} | failing: {}",
                    failed_outputs, failed_outputs == 1 ? "" : "s", failed_samples, test.size(),
                    test.size() == 1 ? "" : "s", bad));
  }
  return failed_outputs == 0;
}

}  // namespace

std::string sample_path(const std::string& path, int i, int n) {
  if (n <= 1) return path;
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    return fmt::format("{}_{}", path, i);
  return fmt::format("{}_{}{}", path.substr(0, dot), i, path.substr(dot));
}

StatusOr<bool> run_compare(const CompareOptions& o, const LineSink& out) {
  if (o.onnx.empty() && o.load_engine.empty())
    return invalid_argument("give the model: --onnx=model.onnx (and/or --loadEngine=model.plan)");
  if (o.reference != "auto" && o.reference != "fp32" && o.reference != "fp64")
    return invalid_argument("--reference-precision must be fp32, fp64 or auto, not '{}'",
                            o.reference);
  if (!(o.low <= o.high)) return invalid_argument("--val-range: {} > {}", o.low, o.high);
  if (o.check.tol.atol < 0 || o.check.tol.rtol < 0)
    return invalid_argument("--atol and --rtol must not be negative");
  if (o.bisect && !o.load_engine.empty())
    return invalid_argument(
        "--bisect-precision rebuilds the engine: give --onnx and --fp16 or "
        "--bf16 instead of --loadEngine");
  if (o.bisect && o.engine.precision != DType::kFloat16 && o.engine.precision != DType::kBFloat16)
    return invalid_argument(
        "--bisect-precision searches float32 layers of a --fp16 or --bf16 "
        "engine; give one of them");

  // The engine under test, and the model as imported (the reference's graph).
  Model model;
  std::unique_ptr<Target> engine;
  if (!o.load_engine.empty()) {
    TARMAC_ASSIGN_OR_RETURN(engine,
                            load_plan_target(o.load_engine, o.onnx, o.engine.shapes, &model));
  } else {
    TARMAC_ASSIGN_OR_RETURN(ImportResult imported, import_onnx_file(o.onnx));
    model = std::move(imported.model);
    TARMAC_ASSIGN_OR_RETURN(engine, make_target(model, o.engine));
  }
  const bool cpu_fp32 =
      o.load_engine.empty() && o.engine.device == "cpu" && o.engine.precision == DType::kFloat32;
  const bool fp64 = o.reference == "fp64" || (o.reference == "auto" && cpu_fp32);
  out(fmt::format("Model: {} (ai.onnx opset {}, {} nodes)", o.onnx.empty() ? o.load_engine : o.onnx,
                  model.onnx_opset(), model.graph.nodes.size()));
  out(fmt::format("Engine under test: {}, {} layers", engine->label(), engine->layers().size()));

  std::vector<std::string> input_lines;
  TARMAC_ASSIGN_OR_RETURN(auto samples, make_samples(o, engine->inputs(), &input_lines));
  for (const std::string& l : input_lines) out(l);
  if (!o.save_inputs.empty()) {
    if (!o.save_inputs.ends_with(".npz"))
      return invalid_argument("--save-inputs writes .npz files: '{}'", o.save_inputs);
    TARMAC_RETURN_IF_ERROR(save_samples(o.save_inputs, samples));
  }

  // The reference: the ONNX graph as given on the reference kernels, or golden outputs.
  std::unique_ptr<Target> reference;
  const bool need_reference_run = o.load_outputs.empty() || o.mark_all || o.bisect;
  if (need_reference_run) {
    TargetOptions ro;
    ro.device = "cpu";
    ro.optimize = false;
    ro.precision = fp64 ? DType::kFloat64 : DType::kFloat32;
    for (const auto& [name, t] : engine->inputs()) ro.shapes[name] = t.second;
    TARMAC_ASSIGN_OR_RETURN(reference, make_target(model, ro));
  }
  std::vector<NamedTensors> ref_outputs, test_outputs;
  std::string ref_label;
  if (!o.load_outputs.empty()) {
    TARMAC_ASSIGN_OR_RETURN(ref_outputs, load_golden(o.load_outputs, samples.size()));
    ref_label = "golden";
    out(fmt::format("Reference: golden outputs from {}", o.load_outputs));
  } else {
    ref_label = reference->label();
    out(fmt::format("Reference: {} (the ONNX graph as given{})", ref_label,
                    fp64 ? ", every float32 tensor computed in float64" : ""));
    for (const NamedTensors& in : samples) {
      NamedTensors r;
      TARMAC_RETURN_IF_ERROR(reference->run(in, &r, nullptr).with_context("reference run"));
      ref_outputs.push_back(std::move(r));
    }
  }
  for (const NamedTensors& in : samples) {
    NamedTensors t;
    TARMAC_RETURN_IF_ERROR(engine->run(in, &t, nullptr).with_context("engine run"));
    test_outputs.push_back(std::move(t));
  }
  if (!o.save_outputs.empty()) TARMAC_RETURN_IF_ERROR(save_samples(o.save_outputs, test_outputs));
  if (!o.save_reference.empty())
    TARMAC_RETURN_IF_ERROR(save_samples(o.save_reference, ref_outputs));

  TARMAC_ASSIGN_OR_RETURN(bool passed, compare_outputs(test_outputs, ref_outputs, o.check,
                                                       engine->label(), ref_label, out));
  if (o.mark_all) {
    out("");
    TARMAC_ASSIGN_OR_RETURN(bool layers_ok,
                            compare_layers(*engine, *reference, model, samples, o.check, out));
    passed = passed && layers_ok;
  }
  if (!o.bisect) return passed;
  out("");
  if (passed) {
    out("Precision bisection: the engine already passes; no layer needs float32.");
    return true;
  }
  engine.reset();  // one engine on the device at a time while bisecting
  TARMAC_ASSIGN_OR_RETURN(BisectResult b,
                          bisect_precision(model, o.engine, samples, ref_outputs, o.check, out));
  if (!b.found) return false;
  // Confirmation: a fresh build with the flags printed, compared in full.
  TargetOptions confirmed = o.engine;
  confirmed.keep_fp32.insert(b.keep.begin(), b.keep.end());
  TARMAC_ASSIGN_OR_RETURN(auto rebuilt, make_target(model, confirmed));
  out(fmt::format("Rebuilt with --layerPrecisions={}: {}", layer_precisions_arg(b.keep),
                  rebuilt->label()));
  std::vector<NamedTensors> again;
  for (const NamedTensors& in : samples) {
    NamedTensors t;
    TARMAC_RETURN_IF_ERROR(rebuilt->run(in, &t, nullptr).with_context("rebuilt engine run"));
    again.push_back(std::move(t));
  }
  return compare_outputs(again, ref_outputs, o.check, rebuilt->label(), ref_label, out);
}

}  // namespace tarmac::compare

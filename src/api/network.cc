// tarmac::Network: the importer behind the public API.
#include <filesystem>
#include <memory>

#include "api/network_impl.h"
#include "builder/plan_file.h"
#include "onnx/exporter.h"
#include "onnx/importer.h"

namespace tarmac {

std::vector<TensorInfo> describe_values(const std::vector<Value*>& values) {
  std::vector<TensorInfo> out;
  for (const Value* v : values) {
    TensorInfo t{v->name, v->type.dtype, {}};
    for (const Dim& d : v->type.shape) t.shape.push_back(d.is_static() ? d.value : -1);
    out.push_back(std::move(t));
  }
  return out;
}

namespace {

StatusOr<Network::Impl> make_impl(std::string bytes, const std::string& base_dir) {
  TARMAC_ASSIGN_OR_RETURN(ImportResult r, import_onnx_bytes(bytes, base_dir));
  Network::Impl impl;
  impl.inputs = describe_values(r.model.graph.inputs);
  impl.outputs = describe_values(r.model.graph.outputs);
  // A plan embeds the model: weights kept in external files are brought inline.
  if (r.model.external_data) {
    TARMAC_ASSIGN_OR_RETURN(impl.onnx, export_onnx_bytes(r.model));
  } else {
    impl.onnx = std::move(bytes);
  }
  impl.model = std::move(r.model);
  return impl;
}

}  // namespace

StatusOr<Network> Network::parse_onnx_file(const std::string& path) {
  TARMAC_ASSIGN_OR_RETURN(std::string bytes, read_whole_file(path, (size_t{2} << 30) - 1));
  const std::filesystem::path p(path);
  auto impl = make_impl(std::move(bytes), p.has_parent_path() ? p.parent_path().string() : ".");
  if (!impl.is_ok()) return impl.status().with_context(fmt::format("while importing '{}'", path));
  Network n;
  n.impl_ = std::make_shared<const Impl>(std::move(impl).value());
  return n;
}

StatusOr<Network> Network::parse_onnx_bytes(const std::string& bytes, const std::string& base_dir) {
  TARMAC_ASSIGN_OR_RETURN(Impl impl, make_impl(bytes, base_dir));
  Network n;
  n.impl_ = std::make_shared<const Impl>(std::move(impl));
  return n;
}

const std::vector<TensorInfo>& Network::inputs() const { return impl_->inputs; }
const std::vector<TensorInfo>& Network::outputs() const { return impl_->outputs; }
const std::string& Network::onnx_bytes() const { return impl_->onnx; }

}  // namespace tarmac

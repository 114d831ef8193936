// Weights without rebuilding: --stripWeights, the architecture check, and refit of a plan with
// the weights of an architecture-identical ONNX model.
#include <google/protobuf/io/coded_stream.h>

#include "api/engine_build.h"
#include "builder/plan_file.h"
#include "onnx/onnx.pb.h"
#include "tarmac/engine.h"

namespace tarmac {

namespace {

bool is_float_type(int t) {
  return t == onnx::TensorProto::FLOAT || t == onnx::TensorProto::FLOAT16 ||
         t == onnx::TensorProto::BFLOAT16 || t == onnx::TensorProto::DOUBLE;
}

StatusOr<onnx::ModelProto> parse_model(const std::string& bytes, const char* what) {
  onnx::ModelProto m;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(static_cast<int>(std::min<size_t>(bytes.size() + 1, INT32_MAX)));
  if (!m.ParseFromCodedStream(&in)) return invalid_argument("{} is not a valid ONNX model", what);
  return m;
}

std::string shape_text(const onnx::TensorProto& t) {
  std::string s = "[";
  for (int i = 0; i < t.dims_size(); ++i) s += (i ? ", " : "") + std::to_string(t.dims(i));
  return s + "]";
}

/// A tensor's values, whichever field holds them (raw or typed).
std::string tensor_values(const onnx::TensorProto& t) {
  onnx::TensorProto v = t;
  v.clear_name();
  v.clear_doc_string();
  return v.SerializeAsString();
}

/// A node without its float-valued tensor attributes (Constant weights may differ in a refit).
std::string node_structure(const onnx::NodeProto& n) {
  onnx::NodeProto c = n;
  c.clear_doc_string();
  for (auto& a : *c.mutable_attribute())
    if (a.has_t() && is_float_type(a.t().data_type())) {
      onnx::TensorProto shape_only;
      shape_only.set_data_type(a.t().data_type());
      *shape_only.mutable_dims() = a.t().dims();
      *a.mutable_t() = shape_only;
    }
  return c.SerializeAsString();
}

std::string value_info_text(const onnx::ValueInfoProto& v) {
  onnx::ValueInfoProto c = v;
  c.clear_doc_string();
  return c.SerializeAsString();
}

}  // namespace

StatusOr<std::string> strip_onnx_weights(const std::string& bytes) {
  TARMAC_ASSIGN_OR_RETURN(onnx::ModelProto m, parse_model(bytes, "the model"));
  for (auto& t : *m.mutable_graph()->mutable_initializer()) {
    if (!is_float_type(t.data_type())) continue;
    t.clear_raw_data();
    t.clear_float_data();
    t.clear_double_data();
    t.clear_int32_data();  // float16/bfloat16 typed storage
  }
  std::string out;
  if (!m.SerializeToString(&out)) return internal_error("cannot serialize the stripped model");
  return out;
}

Status check_same_architecture(const std::string& reference, const std::string& candidate) {
  TARMAC_ASSIGN_OR_RETURN(onnx::ModelProto a, parse_model(reference, "the plan's model"));
  TARMAC_ASSIGN_OR_RETURN(onnx::ModelProto b, parse_model(candidate, "the new model"));
  const onnx::GraphProto& ga = a.graph();
  const onnx::GraphProto& gb = b.graph();
  auto io = [](const char* what, const auto& x, const auto& y) -> Status {
    if (x.size() != y.size())
      return invalid_argument("the models differ: {} {} vs {} graph {}s", x.size(), what, y.size(),
                              what);
    for (int i = 0; i < x.size(); ++i)
      if (value_info_text(x[i]) != value_info_text(y[i]))
        return invalid_argument("the models differ at graph {} {}: '{}' vs '{}'", what, i,
                                x[i].name(), y[i].name());
    return Status::ok();
  };
  TARMAC_RETURN_IF_ERROR(io("input", ga.input(), gb.input()));
  TARMAC_RETURN_IF_ERROR(io("output", ga.output(), gb.output()));
  if (ga.node_size() != gb.node_size())
    return invalid_argument("the models differ: {} nodes vs {}", ga.node_size(), gb.node_size());
  for (int i = 0; i < ga.node_size(); ++i)
    if (node_structure(ga.node(i)) != node_structure(gb.node(i)))
      return invalid_argument("the models differ at node {} ('{}' {} vs '{}' {})", i,
                              ga.node(i).name(), ga.node(i).op_type(), gb.node(i).name(),
                              gb.node(i).op_type());
  std::map<std::string, const onnx::TensorProto*> by_name;
  for (const auto& t : gb.initializer()) by_name[t.name()] = &t;
  if (ga.initializer_size() != gb.initializer_size())
    return invalid_argument("the models differ: {} initializers vs {}", ga.initializer_size(),
                            gb.initializer_size());
  for (const auto& t : ga.initializer()) {
    auto it = by_name.find(t.name());
    if (it == by_name.end())
      return invalid_argument("weight '{}' is missing from the new model", t.name());
    const onnx::TensorProto& u = *it->second;
    if (t.data_type() != u.data_type())
      return invalid_argument("weight '{}' has type {} in the new model, {} in the plan", t.name(),
                              u.data_type(), t.data_type());
    if (shape_text(t) != shape_text(u))
      return invalid_argument("weight '{}' has shape {} in the new model, {} in the plan", t.name(),
                              shape_text(u), shape_text(t));
    if (!is_float_type(t.data_type()) && tensor_values(t) != tensor_values(u))
      return invalid_argument(
          "weight '{}' ({}) has different values; integer weights shape the graph and must match",
          t.name(), shape_text(t));
  }
  return Status::ok();
}

StatusOr<std::string> refit_serialized_engine(const std::string& plan, const Network& network) {
  TARMAC_ASSIGN_OR_RETURN(PlanContents p, parse_plan(plan));
  TARMAC_ASSIGN_OR_RETURN(PlanHeader h, header_from_json(p.header));
  if (!h.info.refittable)
    return invalid_argument("the plan was not built refittable (build it with --refit)");
  TARMAC_RETURN_IF_ERROR(check_same_architecture(p.model, network.onnx_bytes()));
  // A plan written without weights comes out of a refit with them.
  h.info.onnx_hash = fnv1a64_hex(network.onnx_bytes());
  h.info.weights_stripped = false;
  return serialize_plan(header_to_json(h), network.onnx_bytes(), p.flags & ~kPlanWeightsStripped);
}

}  // namespace tarmac

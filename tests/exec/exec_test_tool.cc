// Helpers of the `tarmac exec` tests, so no binary test files live in the repository:
//   tarmac_exec_test_tool models OUT_DIR      writes the test models and raw input files
//   tarmac_exec_test_tool check KIND FILE     checks a JSON export has trtexec's layout
//                                             (KIND: times, profile, layers, names, output)
//   tarmac_exec_test_tool same FILE1 FILE2    the two JSON documents are equal
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "onnx/onnx.pb.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void set_type(onnx::ValueInfoProto* vi, const std::string& name, const std::vector<int64_t>& dims) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) {
    if (d >= 0) {
      shape->add_dim()->set_dim_value(d);
    } else {
      shape->add_dim()->set_dim_param("N");
    }
  }
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, const std::string& name,
                          const std::vector<std::string>& inputs, const std::string& output) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& i : inputs) n->add_input(i);
  n->add_output(output);
  return n;
}

void add_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void add_weights(onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  size_t n = 1;
  for (int64_t d : dims) {
    t->add_dims(d);
    n *= static_cast<size_t>(d);
  }
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<float>(static_cast<int>(i * 7 % 13) - 6) / 10.0f;
  t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), n * sizeof(float)));
}

onnx::ModelProto new_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("tarmac_exec_test_tool");
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(17);
  m.mutable_graph()->set_name("exec_test");
  return m;
}

/// y = Relu(x @ w + b), x [batch, 4] (batch < 0: dynamic), y [batch, 3].
onnx::ModelProto mlp(int64_t batch) {
  onnx::ModelProto m = new_model();
  auto* g = m.mutable_graph();
  set_type(g->add_input(), "x", {batch, 4});
  set_type(g->add_output(), "y", {batch, 3});
  add_weights(g, "w", {4, 3});
  add_weights(g, "b", {3});
  add_node(g, "MatMul", "fc", {"x", "w"}, "xw");
  add_node(g, "Add", "bias", {"xw", "b"}, "xwb");
  add_node(g, "Relu", "relu", {"xwb"}, "y");
  return m;
}

/// y = MaxPool(Relu(Conv(x))), x [1, 2, 6, 6], y [1, 4, 3, 3].
onnx::ModelProto conv() {
  onnx::ModelProto m = new_model();
  auto* g = m.mutable_graph();
  set_type(g->add_input(), "x", {1, 2, 6, 6});
  set_type(g->add_output(), "y", {1, 4, 3, 3});
  add_weights(g, "w", {4, 2, 3, 3});
  add_weights(g, "b", {4});
  add_ints(add_node(g, "Conv", "conv", {"x", "w", "b"}, "c"), "pads", {1, 1, 1, 1});
  add_node(g, "Relu", "relu", {"c"}, "r");
  auto* pool = add_node(g, "MaxPool", "pool", {"r"}, "y");
  add_ints(pool, "kernel_shape", {2, 2});
  add_ints(pool, "strides", {2, 2});
  return m;
}

bool write(const fs::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) std::fprintf(stderr, "cannot write '%s'\n", path.c_str());
  return static_cast<bool>(f);
}

std::string floats(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 5) - 2.0f;
  return std::string(reinterpret_cast<const char*>(v.data()), n * sizeof(float));
}

int make_models(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "cannot create '%s': %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  bool ok = write(dir / "mlp.onnx", mlp(2).SerializeAsString());
  ok &= write(dir / "mlp_dynamic.onnx", mlp(-1).SerializeAsString());
  ok &= write(dir / "conv.onnx", conv().SerializeAsString());
  ok &= write(dir / "mlp_x.bin", floats(2 * 4));
  ok &= write(dir / "conv_x.bin", floats(2 * 6 * 6));
  ok &= write(dir / "wrong_size.bin", std::string(3, '\0'));
  return ok ? 0 : 1;
}

bool read_json(const std::string& path, json* out) {
  std::ifstream f(path);
  if (!f) {
    std::printf("FAIL: cannot read '%s'\n", path.c_str());
    return false;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  try {
    *out = json::parse(ss.str());
  } catch (const std::exception& e) {
    std::printf("FAIL: '%s' is not JSON: %s\n", path.c_str(), e.what());
    return false;
  }
  return true;
}

bool has_keys(const json& j, const std::vector<const char*>& keys, const char* what) {
  for (const char* k : keys) {
    if (!j.is_object() || !j.contains(k)) {
      std::printf("FAIL: %s lacks \"%s\": %s\n", what, k, j.dump().c_str());
      return false;
    }
  }
  return true;
}

int check(const std::string& kind, const std::string& path) {
  json j;
  if (!read_json(path, &j)) return 1;
  bool ok = true;
  if (kind == "times") {
    ok = j.is_array() && !j.empty();
    for (const json& r : j)
      ok = ok && has_keys(r,
                          {"startEnqMs", "endEnqMs", "startH2dMs", "endH2dMs", "startComputeMs",
                           "endComputeMs", "startD2hMs", "endD2hMs", "h2dMs", "computeMs", "d2hMs",
                           "latencyMs"},
                          "timing record");
  } else if (kind == "profile") {
    ok = j.is_array() && j.size() >= 2 && has_keys(j[0], {"count"}, "first profile record");
    for (size_t i = 1; ok && i < j.size(); ++i)
      ok = has_keys(j[i], {"name", "timeMs", "averageMs", "medianMs", "percentage"}, "layer") &&
           j[i].size() == 5;
  } else if (kind == "layers" || kind == "names") {
    ok = has_keys(j, {"Layers", "Bindings"}, "layer information") && j["Layers"].is_array() &&
         !j["Layers"].empty() && j["Bindings"].is_array() && !j["Bindings"].empty();
    for (const json& l : ok ? j["Layers"] : json::array()) {
      if (kind == "names") {
        ok = ok && l.is_string();
      } else {
        ok = ok && has_keys(l, {"Name", "LayerType", "Inputs", "Outputs", "TacticValue"}, "layer");
        for (const json& t : l.value("Outputs", json::array()))
          ok = ok && has_keys(t, {"Name", "Location", "Dimensions", "Format/Datatype"}, "tensor");
      }
    }
  } else if (kind == "output") {
    ok = j.is_array() && !j.empty();
    for (const json& o : j) ok = ok && has_keys(o, {"name", "dimensions", "values"}, "output");
  } else {
    std::printf("FAIL: unknown kind '%s'\n", kind.c_str());
    return 2;
  }
  if (!ok) {
    std::printf("FAIL: '%s' does not have trtexec's %s layout\n", path.c_str(), kind.c_str());
    return 1;
  }
  std::printf("ok: %s has trtexec's %s layout\n", path.c_str(), kind.c_str());
  return 0;
}

int same(const std::string& a, const std::string& b) {
  json ja, jb;
  if (!read_json(a, &ja) || !read_json(b, &jb)) return 1;
  if (ja != jb) {
    std::printf("FAIL: '%s' and '%s' differ\n", a.c_str(), b.c_str());
    return 1;
  }
  std::printf("ok: '%s' and '%s' are equal\n", a.c_str(), b.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "models" && argc == 3) return make_models(argv[2]);
  if (mode == "check" && argc == 4) return check(argv[2], argv[3]);
  if (mode == "same" && argc == 4) return same(argv[2], argv[3]);
  std::fprintf(stderr, "usage: %s models DIR | check KIND FILE | same FILE1 FILE2\n", argv[0]);
  return 2;
}

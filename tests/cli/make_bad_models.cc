// Writes the model and input files the CLI robustness tests run `tarmac` on (and a few valid
// models that seed the fuzzer), so no binary test files live in the repository:
//   tarmac_make_bad_models OUT_DIR
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "onnx/onnx.pb.h"

namespace tarmac {
namespace {

namespace fs = std::filesystem;

onnx::ModelProto make_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("tarmac_make_bad_models");
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(17);
  m.mutable_graph()->set_name("cli_test");
  return m;
}

/// A float tensor value; a negative dim becomes a symbolic one named after its position.
void set_type(onnx::ValueInfoProto* vi, const std::string& name, const std::vector<int64_t>& dims) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tt->mutable_shape();
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] >= 0) {
      shape->add_dim()->set_dim_value(dims[i]);
    } else {
      shape->add_dim()->set_dim_param(std::string(1, static_cast<char>('a' + i)));
    }
  }
}

void add_node(onnx::ModelProto* m, const std::string& op, const std::vector<std::string>& inputs,
              const std::vector<std::string>& outputs) {
  auto* n = m->mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + std::to_string(m->graph().node_size()));
  for (const auto& i : inputs) n->add_input(i);
  for (const auto& o : outputs) n->add_output(o);
}

/// Input x of `dims` returned unchanged as the graph output: runs without any op kernel.
onnx::ModelProto passthrough(const std::vector<int64_t>& dims) {
  onnx::ModelProto m = make_model();
  set_type(m.mutable_graph()->add_input(), "x", dims);
  set_type(m.mutable_graph()->add_output(), "x", dims);
  return m;
}

std::string serialize(const onnx::ModelProto& m) {
  std::string s;
  if (!m.SerializeToString(&s)) {
    std::fprintf(stderr, "make_bad_models: cannot serialize a model\n");
    std::exit(1);
  }
  return s;
}

bool write(const fs::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) std::fprintf(stderr, "make_bad_models: cannot write '%s'\n", path.c_str());
  return static_cast<bool>(f);
}

onnx::TensorProto* add_initializer(onnx::ModelProto* m, const std::string& name, int32_t data_type,
                                   const std::vector<int64_t>& dims, const std::string& raw) {
  auto* t = m->mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(data_type);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(raw);
  return t;
}

template <typename T>
std::string raw_bytes(const std::vector<T>& v) {
  std::string s(v.size() * sizeof(T), '\0');
  if (!v.empty()) std::memcpy(s.data(), v.data(), s.size());
  return s;
}

/// Small valid models with initializers, Constant nodes and shape arithmetic: seeds for the
/// fuzzer (tests/fuzz), which the single-node ONNX test models do not cover.
void add_good_models(const fs::path& dir, bool* ok) {
  // y = Relu(x @ w + b)
  onnx::ModelProto mlp = passthrough({2, 4});
  mlp.mutable_graph()->mutable_output(0)->set_name("y");
  add_initializer(&mlp, "w", onnx::TensorProto::FLOAT, {4, 3},
                  raw_bytes(std::vector<float>(12, 0.25f)));
  add_initializer(&mlp, "b", onnx::TensorProto::FLOAT, {3},
                  raw_bytes(std::vector<float>{1, -1, 0}));
  add_node(&mlp, "MatMul", {"x", "w"}, {"xw"});
  add_node(&mlp, "Add", {"xw", "b"}, {"xwb"});
  add_node(&mlp, "Relu", {"xwb"}, {"y"});
  mlp.mutable_graph()
      ->mutable_output(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(1)
      ->set_dim_value(3);
  *ok &= write(dir / "good_mlp.onnx", serialize(mlp));

  // y = Reshape(x, concat(shape(x)[0], -1)): the shape arithmetic folds during inference.
  onnx::ModelProto chain = passthrough({2, 3, 4});
  chain.mutable_graph()->mutable_output(0)->set_name("y");
  chain.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  add_initializer(&chain, "zero", onnx::TensorProto::INT64, {}, raw_bytes(std::vector<int64_t>{0}));
  add_initializer(&chain, "axes", onnx::TensorProto::INT64, {1},
                  raw_bytes(std::vector<int64_t>{0}));
  add_node(&chain, "Shape", {"x"}, {"shape"});
  add_node(&chain, "Gather", {"shape", "zero"}, {"batch"});
  add_node(&chain, "Unsqueeze", {"batch", "axes"}, {"batch1"});
  auto* c = chain.mutable_graph()->add_node();
  c->set_op_type("Constant");
  c->set_name("minus_one");
  c->add_output("rest");
  auto* value = c->add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  value->mutable_t()->set_data_type(onnx::TensorProto::INT64);
  value->mutable_t()->add_dims(1);
  value->mutable_t()->add_int64_data(-1);
  auto* concat = chain.mutable_graph()->add_node();
  concat->set_op_type("Concat");
  concat->set_name("concat");
  concat->add_input("batch1");
  concat->add_input("rest");
  concat->add_output("target");
  auto* axis = concat->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(0);
  add_node(&chain, "Reshape", {"x", "target"}, {"y"});
  *ok &= write(dir / "good_reshape_chain.onnx", serialize(chain));

  // y = Softmax(Conv(x, w)) over a 1x2x5x5 image.
  onnx::ModelProto conv = passthrough({1, 2, 5, 5});
  conv.mutable_graph()->mutable_output(0)->set_name("y");
  conv.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  add_initializer(&conv, "w", onnx::TensorProto::FLOAT, {3, 2, 3, 3},
                  raw_bytes(std::vector<float>(54, 0.1f)));
  add_node(&conv, "Conv", {"x", "w"}, {"c"});
  auto* pads = conv.mutable_graph()->mutable_node(0)->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(1);
  add_node(&conv, "Softmax", {"c"}, {"y"});
  *ok &= write(dir / "good_conv.onnx", serialize(conv));
}

int make_all(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir / "model", ec);
  if (ec) {
    std::fprintf(stderr, "make_bad_models: cannot create '%s': %s\n", dir.c_str(),
                 ec.message().c_str());
    return 1;
  }
  bool ok = true;
  ok &= write(dir / "empty.onnx", "");

  std::mt19937 rng(20240611);
  std::string random(4096, '\0');
  for (char& c : random) c = static_cast<char>(rng() & 0xff);
  ok &= write(dir / "random.onnx", random);

  // Half of a model whose graph holds a 1 KiB initializer: the cut lands inside the graph.
  onnx::ModelProto big = passthrough({1, 4});
  auto* w = big.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(256);
  w->set_raw_data(std::string(1024, '\1'));
  const std::string big_bytes = serialize(big);
  ok &= write(dir / "truncated.onnx", big_bytes.substr(0, big_bytes.size() / 2));

  ok &= write(dir / "passthrough.onnx", serialize(passthrough({1, 4})));
  ok &= write(dir / "dynamic.onnx", serialize(passthrough({-1, -1, -1})));

  onnx::ModelProto unsupported = passthrough({1, 4});
  unsupported.mutable_graph()->mutable_output(0)->set_name("y");
  add_node(&unsupported, "NoSuchOp", {"x"}, {"y"});
  ok &= write(dir / "unsupported_op.onnx", serialize(unsupported));

  onnx::ModelProto cycle = passthrough({1, 4});
  cycle.mutable_graph()->mutable_output(0)->set_name("b");
  add_node(&cycle, "Add", {"x", "b"}, {"a"});
  add_node(&cycle, "Relu", {"a"}, {"b"});
  ok &= write(dir / "cycle.onnx", serialize(cycle));

  // model/escape.onnx keeps its weights in ../outside.bin, outside its folder.
  onnx::ModelProto escape = passthrough({1, 4});
  auto* e = escape.mutable_graph()->add_initializer();
  e->set_name("w");
  e->set_data_type(onnx::TensorProto::FLOAT);
  e->add_dims(4);
  e->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* kv = e->add_external_data();
  kv->set_key("location");
  kv->set_value("../outside.bin");
  ok &= write(dir / "model" / "escape.onnx", serialize(escape));
  ok &= write(dir / "outside.bin", std::string(16, '\0'));

  ok &= write(dir / "wrong_size.bin", std::string(3, '\0'));  // x is 1x4 floats: 16 bytes
  const float x[4] = {1, -2, 3, -4};
  std::string right(sizeof(x), '\0');
  std::memcpy(right.data(), x, sizeof(x));
  ok &= write(dir / "right_size.bin", right);
  add_good_models(dir, &ok);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace tarmac

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  return tarmac::make_all(argv[1]);
}

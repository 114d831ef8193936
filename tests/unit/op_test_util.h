// OpTester: builds one node, runs its shape inference and CPU kernel, and checks they agree.
//   auto out = OpTester("Relu").input(x).run();  // StatusOr<std::vector<Tensor>>
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "backends/cpu/kernel.h"
#include "ir/graph.h"
#include "ir/op_registry.h"

namespace tarmac::testing {

class OpTester {
 public:
  explicit OpTester(std::string op_type, int64_t opset = 17) : opset_(opset) {
    node_.op_type = std::move(op_type);
    node_.name = "test_node";
  }
  OpTester& attr_int(const std::string& n, int64_t v) {
    return set(n, Attribute::Kind::kInt, [&](Attribute& a) { a.i = v; });
  }
  OpTester& attr_float(const std::string& n, float v) {
    return set(n, Attribute::Kind::kFloat, [&](Attribute& a) { a.f = v; });
  }
  OpTester& attr_string(const std::string& n, std::string v) {
    return set(n, Attribute::Kind::kString, [&](Attribute& a) { a.s = v; });
  }
  OpTester& attr_ints(const std::string& n, std::vector<int64_t> v) {
    return set(n, Attribute::Kind::kInts, [&](Attribute& a) { a.ints = v; });
  }
  OpTester& attr_floats(const std::string& n, std::vector<float> v) {
    return set(n, Attribute::Kind::kFloats, [&](Attribute& a) { a.floats = v; });
  }
  OpTester& attr_tensor(const std::string& n, Tensor v) {
    return set(n, Attribute::Kind::kTensor,
               [&](Attribute& a) { a.tensor = std::make_shared<const Tensor>(v); });
  }
  /// A runtime input; `constant` also exposes its contents to shape inference.
  OpTester& input(Tensor t, bool constant = false) {
    inputs_.push_back(std::move(t));
    constant_.push_back(constant);
    present_.push_back(true);
    return *this;
  }
  OpTester& absent_input() {
    inputs_.emplace_back();
    constant_.push_back(false);
    present_.push_back(false);
    return *this;
  }
  OpTester& outputs(size_t n) {
    num_outputs_ = n;
    return *this;
  }

  /// Runs inference then the kernel; fails if a statically inferred output shape or dtype
  /// disagrees with what the kernel produced.
  StatusOr<std::vector<Tensor>> run() {
    std::vector<ValueType> in_types(inputs_.size());
    InferContext ictx{node_, opset_, &graph_, {}, {}, std::vector<ValueType>(num_outputs_)};
    KernelContext kctx{node_, opset_, {}, std::vector<Tensor>(num_outputs_)};
    for (size_t i = 0; i < inputs_.size(); ++i) {
      if (!present_[i]) {
        ictx.inputs.push_back(nullptr);
        ictx.values.push_back(nullptr);
        kctx.inputs.push_back(nullptr);
        continue;
      }
      in_types[i].dtype = inputs_[i].dtype();
      in_types[i].has_shape = true;
      in_types[i].shape = shape_from_dims(inputs_[i].dims());
      ictx.inputs.push_back(&in_types[i]);
      ictx.values.push_back(constant_[i] ? &inputs_[i] : nullptr);
      kctx.inputs.push_back(&inputs_[i]);
    }
    const OpInfo* info = find_op(node_.op_type);
    if (!info) return not_found("op {} is not in ops.def", node_.op_type);
    TARMAC_RETURN_IF_ERROR(info->infer(ictx));
    CpuKernelFn fn = find_cpu_kernel(node_.op_type);
    if (!fn) return not_found("no CPU kernel for {}", node_.op_type);
    TARMAC_RETURN_IF_ERROR(fn(kctx));
    for (size_t i = 0; i < num_outputs_; ++i) {
      const Tensor& t = kctx.outputs[i];
      const ValueType& vt = ictx.outputs[i];
      if (!t.defined()) return internal_error("kernel left output {} unset", i);
      if (vt.dtype != t.dtype()) {
        return internal_error("output {}: inferred dtype {} but kernel produced {}", i,
                              dtype_name(vt.dtype), dtype_name(t.dtype()));
      }
      if (vt.has_shape) {
        if (vt.shape.size() != t.dims().size()) {
          return internal_error("output {}: inferred rank {} but kernel produced {}", i,
                                vt.shape.size(), dims_to_string(t.dims()));
        }
        for (size_t k = 0; k < vt.shape.size(); ++k) {
          if (vt.shape[k].is_static() && vt.shape[k].value != t.dims()[k]) {
            return internal_error("output {}: inferred shape {} but kernel produced {}", i,
                                  shape_to_string(vt.shape), dims_to_string(t.dims()));
          }
        }
      }
    }
    return std::move(kctx.outputs);
  }

 private:
  template <typename F>
  OpTester& set(const std::string& n, Attribute::Kind k, F&& f) {
    Attribute a;
    a.kind = k;
    f(a);
    node_.attrs[n] = std::move(a);
    return *this;
  }

  Node node_;
  Graph graph_;
  int64_t opset_;
  size_t num_outputs_ = 1;
  std::vector<Tensor> inputs_;
  std::vector<bool> constant_;
  std::vector<bool> present_;
};

/// Asserts two tensors have equal dtype and dims and close values (|a-b| <= atol + rtol*|b|).
inline void expect_close(const Tensor& actual, const Tensor& expected, double rtol = 1e-5,
                         double atol = 1e-6) {
  ASSERT_EQ(actual.dtype(), expected.dtype());
  ASSERT_EQ(actual.dims(), expected.dims());
  for (int64_t i = 0; i < actual.numel(); ++i) {
    const double a = actual.as_double(i), b = expected.as_double(i);
    if (std::isnan(b)) {
      EXPECT_TRUE(std::isnan(a)) << "at " << i;
      continue;
    }
    ASSERT_LE(std::abs(a - b), atol + rtol * std::abs(b))
        << "at flat index " << i << ": " << a << " vs " << b;
  }
}

}  // namespace tarmac::testing

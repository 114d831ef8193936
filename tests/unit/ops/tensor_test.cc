// Unit tests of the tensor family: hand-computed examples, opset differences, symbolic shape
// inference and error cases; the fast copy paths are checked against plain index formulas.
#include <functional>
#include <limits>
#include <numeric>

#include "op_test_util.h"

namespace tarmac {
namespace {

using testing::OpTester;

template <typename T>
Tensor make(std::vector<T> v, Dims d) {
  return Tensor::from_vector<T>(v, std::move(d));
}
Tensor F(std::vector<float> v, Dims d) { return make<float>(std::move(v), std::move(d)); }
Tensor I64(std::vector<int64_t> v) {
  const auto n = static_cast<int64_t>(v.size());
  return make<int64_t>(std::move(v), {n});
}
/// 0, 1, 2, ... as float32 in the given shape.
Tensor iota(Dims d) {
  std::vector<float> v(static_cast<size_t>(num_elements(d)));
  std::iota(v.begin(), v.end(), 0.0f);
  return F(v, std::move(d));
}
template <typename T>
std::vector<T> vals(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}
std::vector<float> fv(const Tensor& t) { return vals<float>(t); }

/// Runs an op and returns output 0, failing the test on error.
Tensor run1(OpTester& t) {
  auto r = t.run();
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? (*r)[0] : Tensor();
}

// ---- inference-only helper for symbolic shapes ----

ValueType vt(DType d, Shape s) {
  ValueType v;
  v.dtype = d;
  v.has_shape = true;
  v.shape = std::move(s);
  return v;
}
ValueType vt_unranked(DType d) {
  ValueType v;
  v.dtype = d;
  return v;
}

StatusOr<std::vector<ValueType>> infer(const std::string& op, int64_t opset,
                                       std::vector<ValueType> ins,
                                       std::vector<const Tensor*> values = {},
                                       const std::function<void(Node&)>& attrs = {},
                                       size_t outs = 1) {
  Node n;
  n.op_type = op;
  if (attrs) attrs(n);
  Graph g;
  values.resize(ins.size(), nullptr);
  InferContext ctx{n, opset, &g, {}, values, std::vector<ValueType>(outs)};
  for (auto& v : ins) ctx.inputs.push_back(&v);
  TARMAC_RETURN_IF_ERROR(find_op(op)->infer(ctx));
  return ctx.outputs;
}
void set_ints(Node& n, const std::string& name, std::vector<int64_t> v) {
  n.attrs[name].kind = Attribute::Kind::kInts;
  n.attrs[name].ints = std::move(v);
}
void set_int(Node& n, const std::string& name, int64_t v) {
  n.attrs[name].kind = Attribute::Kind::kInt;
  n.attrs[name].i = v;
}

// ---- shape ops ----

TEST(TensorReshape, ZeroCopiesAndMinusOneInfers) {
  OpTester t("Reshape", 14);
  t.input(iota({2, 3, 4})).input(I64({4, 0, -1}), true);
  Tensor out = run1(t);
  EXPECT_EQ(out.dims(), (Dims{4, 3, 2}));
  EXPECT_EQ(fv(out), fv(iota({24})));
}

TEST(TensorReshape, AllowZeroKeepsZero) {
  OpTester t("Reshape", 14);
  t.attr_int("allowzero", 1).input(F({}, {0, 3})).input(I64({3, 0}), true);
  EXPECT_EQ(run1(t).dims(), (Dims{3, 0}));
  // Without allowzero the 0 copies dim 1 (3), giving 9 elements from 0.
  OpTester u("Reshape", 14);
  u.input(F({}, {0, 3})).input(I64({3, 0}), true);
  EXPECT_FALSE(u.run().is_ok());
}

TEST(TensorReshape, Opset1ShapeAttributeAndErrors) {
  OpTester t("Reshape", 4);
  t.attr_ints("shape", {-1, 2}).input(iota({3, 2, 1}));
  EXPECT_EQ(run1(t).dims(), (Dims{3, 2}));
  OpTester two("Reshape", 13);
  two.input(iota({6})).input(I64({-1, -1}), true);
  EXPECT_FALSE(two.run().is_ok());
  OpTester bad("Reshape", 13);
  bad.input(iota({6})).input(I64({4, 2}), false);
  EXPECT_FALSE(bad.run().is_ok());
}

TEST(TensorReshape, SymbolicInference) {
  const Shape x{Dim::sym("N"), 3, 4};
  auto r = infer("Reshape", 13, {vt(DType::kFloat32, x), vt(DType::kInt64, {4})});
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE((*r)[0].has_shape);
  EXPECT_EQ((*r)[0].rank(), 4);
  Tensor s = I64({0, -1});
  r = infer("Reshape", 13, {vt(DType::kFloat32, x), vt(DType::kInt64, {2})}, {nullptr, &s});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(shape_to_string((*r)[0].shape), shape_to_string({Dim::sym("N"), 12}));
  Tensor s2 = I64({-1, 12});
  r = infer("Reshape", 13, {vt(DType::kFloat32, x), vt(DType::kInt64, {2})}, {nullptr, &s2});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ((*r)[0].shape[0].symbol, "N");
  r = infer("Reshape", 13, {vt(DType::kFloat32, x), vt_unranked(DType::kInt64)});
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE((*r)[0].has_shape);
}

TEST(TensorFlatten, Axes) {
  for (auto [axis, d0, d1] : {std::tuple{0, 1, 24}, {2, 6, 4}, {-1, 6, 4}, {3, 24, 1}}) {
    OpTester t("Flatten", 13);
    t.attr_int("axis", axis).input(iota({2, 3, 4}));
    Tensor out = run1(t);
    EXPECT_EQ(out.dims(), (Dims{d0, d1})) << axis;
    EXPECT_EQ(fv(out)[5], 5.0f);
  }
  OpTester bad("Flatten", 13);
  bad.attr_int("axis", 4).input(iota({2, 3, 4}));
  EXPECT_FALSE(bad.run().is_ok());
}

TEST(TensorSqueeze, AxesAsAttributeInputOrNone) {
  OpTester a("Squeeze", 11);
  a.attr_ints("axes", {-1}).input(iota({2, 3, 1}));
  EXPECT_EQ(run1(a).dims(), (Dims{2, 3}));
  OpTester b("Squeeze", 13);
  b.input(iota({1, 3, 1})).input(I64({0}), true);
  EXPECT_EQ(run1(b).dims(), (Dims{3, 1}));
  OpTester c("Squeeze", 13);
  c.input(iota({1, 3, 1}));
  EXPECT_EQ(run1(c).dims(), (Dims{3}));
  OpTester bad("Squeeze", 13);
  bad.input(iota({2, 3})).input(I64({1}), true);
  EXPECT_FALSE(bad.run().is_ok());
  auto r = infer("Squeeze", 13, {vt(DType::kFloat32, {Dim::sym("N"), 3})});
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE((*r)[0].has_shape);  // whether N is 1 decides the rank
}

TEST(TensorUnsqueeze, AxesRelativeToOutput) {
  OpTester a("Unsqueeze", 13);
  a.input(iota({3, 4})).input(I64({-1, 0}), true);
  EXPECT_EQ(run1(a).dims(), (Dims{1, 3, 4, 1}));
  OpTester b("Unsqueeze", 1);
  b.attr_ints("axes", {1, 3}).input(iota({3, 4}));
  EXPECT_EQ(run1(b).dims(), (Dims{3, 1, 4, 1}));
  OpTester dup("Unsqueeze", 13);
  dup.input(iota({3})).input(I64({0, -3}), true);
  EXPECT_FALSE(dup.run().is_ok());
  auto r = infer("Unsqueeze", 13, {vt(DType::kFloat32, {2}), vt(DType::kInt64, {2})});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ((*r)[0].rank(), 3);
}

TEST(TensorShape, StartEndAndSize) {
  OpTester t("Shape", 15);
  t.attr_int("start", -2).attr_int("end", 10).input(iota({2, 3, 4}));
  EXPECT_EQ(vals<int64_t>(run1(t)), (std::vector<int64_t>{3, 4}));
  OpTester old("Shape", 13);
  old.attr_int("start", 1).input(iota({2, 3, 4}));  // start did not exist before opset 15
  EXPECT_EQ(vals<int64_t>(run1(old)), (std::vector<int64_t>{2, 3, 4}));
  OpTester s("Size", 13);
  s.input(iota({2, 3, 4}));
  Tensor n = run1(s);
  EXPECT_EQ(n.rank(), 0);
  EXPECT_EQ(vals<int64_t>(n)[0], 24);
  auto r = infer("Shape", 15, {vt(DType::kFloat32, {Dim::sym("N"), 3, 4})}, {},
                 [](Node& n) { set_int(n, "start", 1); });
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(shape_to_string((*r)[0].shape), "[2]");
}

TEST(TensorConstant, AttributeKinds) {
  OpTester a("Constant", 13);
  a.attr_tensor("value", make<int32_t>({7, -8}, {2}));
  Tensor out = run1(a);
  EXPECT_EQ(out.dtype(), DType::kInt32);
  EXPECT_EQ(vals<int32_t>(out), (std::vector<int32_t>{7, -8}));
  OpTester b("Constant", 13);
  b.attr_ints("value_ints", {3, 1, 4});
  EXPECT_EQ(vals<int64_t>(run1(b)), (std::vector<int64_t>{3, 1, 4}));
  OpTester c("Constant", 13);
  c.attr_float("value_float", 2.5f);
  Tensor f = run1(c);
  EXPECT_EQ(f.rank(), 0);
  EXPECT_EQ(fv(f)[0], 2.5f);
  OpTester both("Constant", 13);
  both.attr_float("value_float", 1).attr_int("value_int", 2);
  EXPECT_FALSE(both.run().is_ok());
  OpTester str("Constant", 13);
  str.attr_string("value_string", "x");
  EXPECT_EQ(str.run().status().code(), StatusCode::kUnsupported);
}

TEST(TensorConstantOfShape, ValueAndDefault) {
  OpTester a("ConstantOfShape", 9);
  a.attr_tensor("value", make<int32_t>({-3}, {1})).input(I64({2, 2}), true);
  Tensor out = run1(a);
  EXPECT_EQ(out.dtype(), DType::kInt32);
  EXPECT_EQ(vals<int32_t>(out), (std::vector<int32_t>{-3, -3, -3, -3}));
  OpTester b("ConstantOfShape", 9);
  b.input(I64({}), false);
  Tensor s = run1(b);
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.dtype(), DType::kFloat32);
  OpTester bad("ConstantOfShape", 9);
  bad.input(I64({2, -1}), true);
  EXPECT_FALSE(bad.run().is_ok());
  auto r = infer("ConstantOfShape", 9, {vt(DType::kInt64, {3})});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ((*r)[0].rank(), 3);
}

TEST(TensorRange, CountsAndTypes) {
  OpTester a("Range", 11);
  a.input(Tensor::scalar<int32_t>(10))
      .input(Tensor::scalar<int32_t>(4))
      .input(Tensor::scalar<int32_t>(-2));
  EXPECT_EQ(vals<int32_t>(run1(a)), (std::vector<int32_t>{10, 8, 6}));
  OpTester b("Range", 11);
  b.input(Tensor::scalar<float>(1), true)
      .input(Tensor::scalar<float>(5.5f), true)
      .input(Tensor::scalar<float>(1.5f), true);
  EXPECT_EQ(fv(run1(b)), (std::vector<float>{1, 2.5f, 4}));
  OpTester c("Range", 11);
  c.input(Tensor::scalar<int64_t>(3))
      .input(Tensor::scalar<int64_t>(3))
      .input(Tensor::scalar<int64_t>(1));
  EXPECT_EQ(run1(c).numel(), 0);
  OpTester z("Range", 11);
  z.input(Tensor::scalar<int64_t>(0))
      .input(Tensor::scalar<int64_t>(3))
      .input(Tensor::scalar<int64_t>(0));
  EXPECT_FALSE(z.run().is_ok());
}

TEST(TensorNonZero, RowMajorAndScalar) {
  OpTester a("NonZero", 13);
  a.input(make<bool>({true, false, true, true}, {2, 2}));
  Tensor out = run1(a);
  EXPECT_EQ(out.dims(), (Dims{2, 3}));
  EXPECT_EQ(vals<int64_t>(out), (std::vector<int64_t>{0, 1, 1, 0, 0, 1}));
  OpTester s("NonZero", 13);
  s.input(Tensor::scalar<float>(3));
  EXPECT_EQ(run1(s).dims(), (Dims{0, 1}));
}

TEST(TensorExpand, BidirectionalBroadcast) {
  OpTester a("Expand", 13);
  a.input(F({1, 2, 3}, {3, 1})).input(I64({2, 1, 4}), true);
  Tensor out = run1(a);
  ASSERT_EQ(out.dims(), (Dims{2, 3, 4}));
  for (int64_t i = 0; i < 24; ++i) EXPECT_EQ(fv(out)[static_cast<size_t>(i)], 1 + (i / 4) % 3);
  OpTester bad("Expand", 13);
  bad.input(F({1, 2, 3}, {3})).input(I64({2}), true);
  EXPECT_FALSE(bad.run().is_ok());
  auto r = infer("Expand", 13, {vt(DType::kFloat32, {3, 1}), vt(DType::kInt64, {3})});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ((*r)[0].rank(), 3);
  EXPECT_EQ((*r)[0].shape[1].value, 3);
}

TEST(TensorTile, RepeatsAndOpset1Axis) {
  OpTester a("Tile", 13);
  a.input(make<int8_t>({1, 2, 3, 4}, {2, 2})).input(I64({2, 3}), true);
  Tensor out = run1(a);
  ASSERT_EQ(out.dims(), (Dims{4, 6}));
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 6; ++c)
      EXPECT_EQ(vals<int8_t>(out)[static_cast<size_t>(r * 6 + c)], 1 + (r % 2) * 2 + c % 2);
  OpTester b("Tile", 1);
  b.input(F({1, 2}, {1, 2}))
      .input(Tensor::scalar<int64_t>(3), true)
      .input(Tensor::scalar<int64_t>(0), true);
  Tensor v1 = run1(b);
  EXPECT_EQ(v1.dims(), (Dims{3, 2}));
  EXPECT_EQ(fv(v1), (std::vector<float>{1, 2, 1, 2, 1, 2}));
  OpTester bad("Tile", 13);
  bad.input(F({1, 2}, {2})).input(I64({1, 1}), true);
  EXPECT_FALSE(bad.run().is_ok());
}

// ---- data movement ----

TEST(TensorConcat, AxesTypesAndEmpty) {
  OpTester a("Concat", 13);
  a.attr_int("axis", -1)
      .input(make<int64_t>({1, 2}, {2, 1}))
      .input(make<int64_t>({3, 4, 5, 6}, {2, 2}))
      .input(make<int64_t>({}, {2, 0}));
  Tensor out = run1(a);
  ASSERT_EQ(out.dims(), (Dims{2, 3}));
  EXPECT_EQ(vals<int64_t>(out), (std::vector<int64_t>{1, 3, 4, 2, 5, 6}));
  OpTester b("Concat", 13);
  b.attr_int("axis", 0).input(make<bool>({true}, {1})).input(make<bool>({false, true}, {2}));
  EXPECT_EQ(vals<bool>(run1(b)), (std::vector<bool>{true, false, true}));
  OpTester old("Concat", 1);  // axis defaulted to 1 in opset 1
  old.input(iota({1, 2})).input(iota({1, 1}));
  EXPECT_EQ(run1(old).dims(), (Dims{1, 3}));
  OpTester noaxis("Concat", 4);
  noaxis.input(iota({1, 2})).input(iota({1, 1}));
  EXPECT_FALSE(noaxis.run().is_ok());
  OpTester bad("Concat", 13);
  bad.attr_int("axis", 0).input(iota({1, 2})).input(iota({1, 3}));
  EXPECT_FALSE(bad.run().is_ok());
  auto r = infer("Concat", 13,
                 {vt(DType::kFloat32, {Dim::sym("N"), 2}), vt(DType::kFloat32, {Dim::sym("N"), 3})},
                 {}, [](Node& n) { set_int(n, "axis", 1); });
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(shape_to_string((*r)[0].shape), shape_to_string({Dim::sym("N"), 5}));
}

TEST(TensorConcat, ManyRowsMatchesFormula) {
  OpTester a("Concat", 13);
  a.attr_int("axis", 1).input(iota({300, 5, 7})).input(iota({300, 2, 7}));
  Tensor out = run1(a);
  ASSERT_EQ(out.dims(), (Dims{300, 7, 7}));
  const auto v = fv(out);
  for (int64_t o = 0; o < 300; ++o)
    for (int64_t c = 0; c < 7; ++c)
      for (int64_t k = 0; k < 7; ++k) {
        const float want = c < 5 ? static_cast<float>((o * 5 + c) * 7 + k)
                                 : static_cast<float>((o * 2 + c - 5) * 7 + k);
        ASSERT_EQ(v[static_cast<size_t>((o * 7 + c) * 7 + k)], want);
      }
}

TEST(TensorSplit, OpsetVariants) {
  OpTester a("Split", 13);
  a.attr_int("axis", 1).input(iota({2, 5})).input(I64({2, 3}), true).outputs(2);
  auto r = a.run();
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(fv((*r)[0]), (std::vector<float>{0, 1, 5, 6}));
  EXPECT_EQ(fv((*r)[1]), (std::vector<float>{2, 3, 4, 7, 8, 9}));
  OpTester b("Split", 11);
  b.attr_ints("split", {1, 3}).input(iota({4})).outputs(2);
  ASSERT_TRUE(b.run().is_ok());
  OpTester c("Split", 18);
  c.attr_int("num_outputs", 3).input(iota({7})).outputs(3);
  r = c.run();
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ((*r)[0].numel(), 3);
  EXPECT_EQ(fv((*r)[2]), (std::vector<float>{6}));
  OpTester uneven("Split", 13);
  uneven.input(iota({7})).outputs(3);
  EXPECT_FALSE(uneven.run().is_ok());
  OpTester badsum("Split", 13);
  badsum.input(iota({7})).input(I64({3, 3}), true).outputs(2);
  EXPECT_FALSE(badsum.run().is_ok());
}

TEST(TensorSlice, NegativeStepsAndClamping) {
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  OpTester a("Slice", 13);
  a.input(iota({4, 5}))
      .input(I64({-1, 4}), true)
      .input(I64({kMin, 0}), true)
      .input(I64({0, 1}), true)
      .input(I64({-2, -3}), true);
  Tensor out = run1(a);
  ASSERT_EQ(out.dims(), (Dims{2, 2}));
  EXPECT_EQ(fv(out), (std::vector<float>{19, 16, 9, 6}));
  OpTester b("Slice", 13);
  b.input(iota({4, 5}))
      .input(I64({1}), true)
      .input(I64({kMax}), true)
      .input(I64({-1}), true)
      .input(I64({2}), true);
  Tensor o2 = run1(b);
  ASSERT_EQ(o2.dims(), (Dims{4, 2}));
  EXPECT_EQ(fv(o2)[6], 16.0f);
  OpTester c("Slice", 1);  // attributes before opset 10
  c.attr_ints("starts", {0, 1})
      .attr_ints("ends", {-1, 1000})
      .input(F({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4}));
  Tensor o3 = run1(c);
  EXPECT_EQ(o3.dims(), (Dims{1, 3}));
  EXPECT_EQ(fv(o3), (std::vector<float>{2, 3, 4}));
  OpTester zero("Slice", 13);
  zero.input(iota({4}))
      .input(I64({0}), true)
      .input(I64({4}), true)
      .input(I64({0}), true)
      .input(I64({0}), true);
  EXPECT_FALSE(zero.run().is_ok());
  auto r = infer("Slice", 13,
                 {vt(DType::kFloat32, {Dim::sym("N"), 8}), vt(DType::kInt64, {1}),
                  vt(DType::kInt64, {1}), vt(DType::kInt64, {1})},
                 {nullptr, nullptr, nullptr, nullptr});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ((*r)[0].rank(), 2);
}

TEST(TensorTranspose, DefaultPermAndFastPath) {
  OpTester a("Transpose", 13);
  a.input(make<Half>({Half(1), Half(2), Half(3), Half(4), Half(5), Half(6)}, {2, 3}));
  Tensor out = run1(a);
  ASSERT_EQ(out.dims(), (Dims{3, 2}));
  EXPECT_EQ(out.as_double(1), 4.0);
  // NCHW -> NHWC on sizes that are not tile multiples exercises the blocked path.
  const Dims d{2, 37, 9, 11};
  OpTester b("Transpose", 13);
  b.attr_ints("perm", {0, 2, 3, 1}).input(iota(d));
  Tensor o = run1(b);
  ASSERT_EQ(o.dims(), (Dims{2, 9, 11, 37}));
  const auto v = fv(o);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t h = 0; h < 9; ++h)
      for (int64_t w = 0; w < 11; ++w)
        for (int64_t c = 0; c < 37; ++c)
          ASSERT_EQ(v[static_cast<size_t>(((n * 9 + h) * 11 + w) * 37 + c)],
                    static_cast<float>(((n * 37 + c) * 9 + h) * 11 + w));
  OpTester bad("Transpose", 13);
  bad.attr_ints("perm", {0, 0}).input(iota({2, 2}));
  EXPECT_FALSE(bad.run().is_ok());
}

TEST(TensorDepthToSpace, DcrCrdAndInverse) {
  const std::vector<float> dcr = {0,  12, 1,  13, 2,  14, 24, 36, 25, 37, 26, 38, 3,  15, 4,  16,
                                  5,  17, 27, 39, 28, 40, 29, 41, 6,  18, 7,  19, 8,  20, 30, 42,
                                  31, 43, 32, 44, 9,  21, 10, 22, 11, 23, 33, 45, 34, 46, 35, 47};
  OpTester a("DepthToSpace", 13);
  a.attr_int("blocksize", 2).input(iota({1, 8, 2, 3}));
  Tensor out = run1(a);
  ASSERT_EQ(out.dims(), (Dims{1, 2, 4, 6}));
  EXPECT_EQ(fv(out), dcr);
  OpTester c("DepthToSpace", 13);
  c.attr_int("blocksize", 2).attr_string("mode", "CRD").input(iota({1, 8, 2, 3}));
  Tensor crd = run1(c);
  // CRD reads channel c*4 + row*2 + col: output (0, 0, 1, 0) is channel 2 at (0, 0).
  EXPECT_EQ(fv(crd)[6], 12.0f);
  EXPECT_EQ(fv(crd)[1], 6.0f);
  OpTester s("SpaceToDepth", 13);
  s.attr_int("blocksize", 2).input(out);
  EXPECT_EQ(fv(run1(s)), fv(iota({1, 8, 2, 3})));
  OpTester bad("DepthToSpace", 13);
  bad.attr_int("blocksize", 3).input(iota({1, 8, 2, 3}));
  EXPECT_FALSE(bad.run().is_ok());
}

TEST(TensorPad, ModesAndOpsets) {
  OpTester a("Pad", 11);
  a.input(F({1, 2, 3, 4}, {2, 2}))
      .input(I64({0, 1, 1, 0}), true)
      .input(Tensor::scalar<float>(2.5f));
  EXPECT_EQ(fv(run1(a)), (std::vector<float>{2.5f, 1, 2, 2.5f, 3, 4, 2.5f, 2.5f, 2.5f}));
  OpTester r("Pad", 13);
  r.attr_string("mode", "reflect").input(F({1, 2, 3}, {1, 3})).input(I64({0, 2, 0, 2}), true);
  EXPECT_EQ(fv(run1(r)), (std::vector<float>{3, 2, 1, 2, 3, 2, 1}));
  OpTester e("Pad", 13);
  e.attr_string("mode", "edge").input(F({1, 2, 3}, {1, 3})).input(I64({1, 1, 0, 1}), true);
  EXPECT_EQ(fv(run1(e)), (std::vector<float>{1, 1, 2, 3, 3, 1, 1, 2, 3, 3}));
  OpTester w("Pad", 19);
  w.attr_string("mode", "wrap").input(F({1, 2, 3, 4, 5, 6}, {3, 2})).input(I64({2, 1, 1, 1}), true);
  Tensor wo = run1(w);
  ASSERT_EQ(wo.dims(), (Dims{6, 4}));
  EXPECT_EQ(fv(wo), (std::vector<float>{4, 3, 4, 3, 6, 5, 6, 5, 2, 1, 2, 1,
                                        4, 3, 4, 3, 6, 5, 6, 5, 2, 1, 2, 1}));
  OpTester ax("Pad", 18);
  ax.input(make<int32_t>({1, 2, 3, 4, 5, 6}, {2, 3}))
      .input(I64({1, 1}), true)
      .absent_input()
      .input(I64({-1}), true);
  EXPECT_EQ(vals<int32_t>(run1(ax)), (std::vector<int32_t>{0, 1, 2, 3, 0, 0, 4, 5, 6, 0}));
  OpTester crop("Pad", 13);
  crop.input(F({1, 2, 3, 4, 5}, {1, 5})).input(I64({0, -1, 0, -2}), true);
  EXPECT_EQ(fv(run1(crop)), (std::vector<float>{2, 3}));
  OpTester v2("Pad", 2);
  v2.attr_ints("pads", {1, 0}).attr_float("value", 7).input(F({1}, {1}));
  EXPECT_EQ(fv(run1(v2)), (std::vector<float>{7, 1}));
  OpTester v1("Pad", 1);
  v1.attr_ints("paddings", {0, 1}).input(F({1}, {1}));
  EXPECT_EQ(fv(run1(v1)), (std::vector<float>{1, 0}));
  OpTester wrap18("Pad", 18);
  wrap18.attr_string("mode", "wrap").input(F({1}, {1})).input(I64({1, 1}), true);
  EXPECT_FALSE(wrap18.run().is_ok());
  OpTester len("Pad", 13);
  len.input(F({1}, {1})).input(I64({1, 1, 1}), true);
  EXPECT_FALSE(len.run().is_ok());
}

// ---- indexing ----

TEST(TensorGather, AxesNegativeIndicesAndErrors) {
  OpTester a("Gather", 13);
  a.attr_int("axis", 1).input(iota({2, 3})).input(make<int32_t>({-1, 0, 2, 2}, {2, 2}));
  Tensor out = run1(a);
  ASSERT_EQ(out.dims(), (Dims{2, 2, 2}));
  EXPECT_EQ(fv(out), (std::vector<float>{2, 0, 2, 2, 5, 3, 5, 5}));
  OpTester s("Gather", 13);
  s.input(make<bool>({true, false, true}, {3})).input(Tensor::scalar<int64_t>(1));
  Tensor so = run1(s);
  EXPECT_EQ(so.rank(), 0);
  EXPECT_FALSE(vals<bool>(so)[0]);
  OpTester oob("Gather", 13);
  oob.input(iota({3})).input(I64({3}));
  EXPECT_FALSE(oob.run().is_ok());
  OpTester ft("Gather", 13);
  ft.input(iota({3})).input(F({1}, {1}));
  EXPECT_FALSE(ft.run().is_ok());
}

TEST(TensorGatherElements, Axis1AndNegative) {
  OpTester a("GatherElements", 13);
  a.attr_int("axis", 1).input(F({1, 2, 3, 4}, {2, 2})).input(make<int64_t>({0, 0, -1, 0}, {2, 2}));
  EXPECT_EQ(fv(run1(a)), (std::vector<float>{1, 1, 4, 3}));
  OpTester oob("GatherElements", 13);
  oob.input(F({1, 2, 3, 4}, {2, 2})).input(make<int64_t>({2, 0}, {1, 2}));
  EXPECT_FALSE(oob.run().is_ok());
}

TEST(TensorGatherND, BatchDims) {
  const Tensor data = make<int32_t>({0, 1, 2, 3, 4, 5, 6, 7}, {2, 2, 2});
  OpTester a("GatherND", 13);
  a.input(data).input(make<int64_t>({0, 1, 1, 0}, {2, 2}));
  EXPECT_EQ(vals<int32_t>(run1(a)), (std::vector<int32_t>{2, 3, 4, 5}));
  OpTester b("GatherND", 12);
  b.attr_int("batch_dims", 1).input(data).input(make<int64_t>({1, 0}, {2, 1}));
  Tensor bo = run1(b);
  EXPECT_EQ(bo.dims(), (Dims{2, 2}));
  EXPECT_EQ(vals<int32_t>(bo), (std::vector<int32_t>{2, 3, 4, 5}));
  OpTester bad("GatherND", 13);
  bad.input(data).input(make<int64_t>({0, 2}, {1, 2}));
  EXPECT_FALSE(bad.run().is_ok());
}

TEST(TensorScatterElements, Reductions) {
  const Tensor data = F({1, 2, 3, 4, 5}, {1, 5});
  OpTester a("ScatterElements", 13);
  a.attr_int("axis", 1)
      .input(data)
      .input(make<int64_t>({1, -2}, {1, 2}))
      .input(F({1.5f, 2.5f}, {1, 2}));
  EXPECT_EQ(fv(run1(a)), (std::vector<float>{1, 1.5f, 3, 2.5f, 5}));
  OpTester add("ScatterElements", 16);
  add.attr_int("axis", 1)
      .attr_string("reduction", "add")
      .input(data)
      .input(make<int64_t>({1, 1}, {1, 2}))
      .input(F({1.5f, 2.5f}, {1, 2}));
  EXPECT_EQ(fv(run1(add)), (std::vector<float>{1, 6, 3, 4, 5}));
  OpTester mx("ScatterElements", 18);
  mx.attr_int("axis", 1)
      .attr_string("reduction", "max")
      .input(data)
      .input(make<int64_t>({1, 1}, {1, 2}))
      .input(F({1.5f, 2.5f}, {1, 2}));
  EXPECT_EQ(fv(run1(mx)), (std::vector<float>{1, 2.5f, 3, 4, 5}));
  OpTester old("ScatterElements", 16);
  old.attr_string("reduction", "max")
      .input(data)
      .input(make<int64_t>({0}, {1, 1}))
      .input(F({1}, {1, 1}));
  EXPECT_FALSE(old.run().is_ok());
}

TEST(TensorScatterND, NoneAddMul) {
  const Tensor data = make<int64_t>({1, 2, 3, 4, 5, 6, 7, 8}, {8});
  OpTester a("ScatterND", 13);
  a.input(data).input(make<int64_t>({4, 3, 1, 7}, {4, 1})).input(I64({9, 10, 11, 12}));
  EXPECT_EQ(vals<int64_t>(run1(a)), (std::vector<int64_t>{1, 11, 3, 10, 9, 6, 7, 12}));
  OpTester add("ScatterND", 16);
  add.attr_string("reduction", "add")
      .input(data)
      .input(make<int64_t>({0, 0}, {2, 1}))
      .input(I64({5, 6}));
  EXPECT_EQ(vals<int64_t>(run1(add))[0], 12);
  OpTester mul("ScatterND", 16);
  mul.attr_string("reduction", "mul")
      .input(data)
      .input(make<int64_t>({0, 0}, {2, 1}))
      .input(I64({5, 6}));
  EXPECT_EQ(vals<int64_t>(run1(mul))[0], 30);
  OpTester bad("ScatterND", 16);
  bad.input(data).input(make<int64_t>({8}, {1, 1})).input(I64({1}));
  EXPECT_FALSE(bad.run().is_ok());
  OpTester shape("ScatterND", 16);
  shape.input(data).input(make<int64_t>({0}, {1, 1})).input(I64({1, 2}));
  EXPECT_FALSE(shape.run().is_ok());
}

TEST(TensorErrors, AbsurdSizesFailCleanly) {
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  OpTester tile("Tile", 13);
  tile.input(iota({2, 3})).input(I64({kMax, 1}), true);
  EXPECT_FALSE(tile.run().is_ok());
  OpTester pad("Pad", 13);
  pad.input(iota({2})).input(I64({kMax, 1}), true);
  EXPECT_FALSE(pad.run().is_ok());
  OpTester range("Range", 11);
  range.input(Tensor::scalar<int64_t>(-kMax))
      .input(Tensor::scalar<int64_t>(kMax))
      .input(Tensor::scalar<int64_t>(1));
  EXPECT_FALSE(range.run().is_ok());
  auto r = infer("SpaceToDepth", 13, {vt(DType::kFloat32, {1, int64_t{1} << 40, 4, 4})}, {},
                 [](Node& n) { set_int(n, "blocksize", int64_t{1} << 20); });
  EXPECT_FALSE(r.is_ok());
}

TEST(TensorPad, ReflectAndWrapBeyondTheDim) {
  // Repeated reflection (numpy.pad 'reflect'): period 2 * (n - 1).
  OpTester r("Pad", 13);
  r.attr_string("mode", "reflect").input(F({1, 2, 3}, {3})).input(I64({5, 4}), true);
  EXPECT_EQ(fv(run1(r)), (std::vector<float>{2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3}));
  OpTester w("Pad", 19);
  w.attr_string("mode", "wrap").input(F({1, 2}, {2})).input(I64({3, 2}), true);
  EXPECT_EQ(fv(run1(w)), (std::vector<float>{2, 1, 2, 1, 2, 1, 2}));
}

TEST(TensorSlice, StridedFastPathMatchesFormula) {
  OpTester t("Slice", 13);
  t.input(iota({3, 40, 50}))
      .input(I64({1, 45, 0}), true)
      .input(I64({40, 2, 3}), true)
      .input(I64({1, 2, 0}), true)
      .input(I64({3, -2, 1}), true);
  Tensor out = run1(t);
  ASSERT_EQ(out.dims(), (Dims{3, 13, 22}));
  const auto v = fv(out);
  for (int64_t a = 0; a < 3; ++a)
    for (int64_t b = 0; b < 13; ++b)
      for (int64_t c = 0; c < 22; ++c)
        ASSERT_EQ(v[static_cast<size_t>((a * 13 + b) * 22 + c)],
                  static_cast<float>((a * 40 + 1 + 3 * b) * 50 + 45 - 2 * c));
}

TEST(TensorInference, UnknownRankNeverFails) {
  for (const char* op : {"Transpose", "Flatten", "Squeeze", "NonZero", "Shape", "Size"}) {
    auto r = infer(op, 13, {vt_unranked(DType::kFloat32)});
    EXPECT_TRUE(r.is_ok()) << op << ": " << r.status().message();
  }
  auto g = infer("Gather", 13, {vt_unranked(DType::kFloat32), vt_unranked(DType::kInt64)});
  EXPECT_TRUE(g.is_ok());
  auto nz = infer("NonZero", 13, {vt(DType::kFloat32, {2, 3})});
  ASSERT_TRUE(nz.is_ok());
  EXPECT_EQ((*nz)[0].shape[0].value, 2);
  EXPECT_FALSE((*nz)[0].shape[1].is_static());
  auto sp = infer(
      "Split", 18, {vt(DType::kFloat32, {7})}, {}, [](Node& n) { set_int(n, "num_outputs", 3); },
      3);
  ASSERT_TRUE(sp.is_ok());
  EXPECT_EQ((*sp)[2].shape[0].value, 1);
  auto rg =
      infer("Range", 11, {vt(DType::kInt64, {}), vt(DType::kInt64, {}), vt(DType::kInt64, {})});
  ASSERT_TRUE(rg.is_ok());
  EXPECT_EQ((*rg)[0].rank(), 1);
  auto tr = infer("Transpose", 13, {vt_unranked(DType::kFloat32)}, {}, [](Node& n) {
    set_ints(n, "perm", {1, 0});
  });
  ASSERT_TRUE(tr.is_ok());
  EXPECT_EQ((*tr)[0].rank(), 2);
}

}  // namespace
}  // namespace tarmac

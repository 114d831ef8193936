// CUDA tensor family against the CPU reference: reshape-like ops, Transpose, Concat, Split,
// Slice, Expand, Tile, Pad, DepthToSpace, SpaceToDepth, ConstantOfShape, Range, Shape, Size.
// Data movement is exact, so every comparison uses tolerance 0.
#include <limits>

#include "gpu_test_util.h"

namespace tarmac::testing {
namespace {

const DType kMoveTypes[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16,
                            DType::kInt64,   DType::kBool,    DType::kUint8};

/// Random contents; half types are drawn as float32 and converted.
Tensor rnd(DType t, const Dims& d, uint64_t seed) {
  if (t == DType::kFloat16 || t == DType::kBFloat16) {
    return random_tensor(DType::kFloat32, d, seed).cast(t);
  }
  return random_tensor(t, d, seed);
}

Tensor ints(const std::vector<int64_t>& v) {
  return Tensor::from_vector<int64_t>(v, {static_cast<int64_t>(v.size())});
}

void expect_exact(const GpuCase& c) { expect_gpu_matches_cpu(c, 0.0); }

// ---- Reshape, Flatten, Squeeze, Unsqueeze ----

TEST(CudaTensorReshape, ReshapeKeepsBytes) {
  TARMAC_REQUIRE_GPU();
  for (DType t : kMoveTypes) {
    GpuCase c("Reshape", 14);
    c.input(rnd(t, {2, 3, 17}, 1)).input(ints({0, -1}), true);
    expect_exact(c);
  }
  GpuCase big("Reshape", 13);
  big.input(rnd(DType::kFloat32, {1000003}, 2)).input(ints({1, 1000003, 1}), true);
  expect_exact(big);
  GpuCase zero("Reshape", 14);
  zero.attr_int("allowzero", 1);
  zero.input(rnd(DType::kFloat32, {0, 4}, 3)).input(ints({4, 0}), true);
  expect_exact(zero);
}

TEST(CudaTensorReshape, FlattenSqueezeUnsqueeze) {
  TARMAC_REQUIRE_GPU();
  for (int64_t axis : {0, 2, -1}) {
    GpuCase c("Flatten", 13);
    c.attr_int("axis", axis);
    c.input(rnd(DType::kInt64, {3, 1, 5, 7}, 4));
    expect_exact(c);
  }
  GpuCase sq11("Squeeze", 11);
  sq11.attr_ints("axes", {1, -1});
  sq11.input(rnd(DType::kBool, {3, 1, 5, 1}, 5));
  expect_exact(sq11);
  GpuCase sq13("Squeeze", 13);
  sq13.input(rnd(DType::kFloat16, {1, 3, 1}, 6)).input(ints({0}), true);
  expect_exact(sq13);
  GpuCase all("Squeeze", 13);
  all.input(rnd(DType::kUint8, {1, 3, 1, 1}, 7));
  expect_exact(all);
  GpuCase un11("Unsqueeze", 11);
  un11.attr_ints("axes", {0, -1});
  un11.input(rnd(DType::kFloat32, {3, 5}, 8));
  expect_exact(un11);
  GpuCase un13("Unsqueeze", 13);
  un13.input(rnd(DType::kBFloat16, {17}, 9)).input(ints({-2, 2}), true);
  expect_exact(un13);
}

// ---- Transpose ----

TEST(CudaTensorTranspose, EveryTypeAndPermutation) {
  TARMAC_REQUIRE_GPU();
  struct Case {
    Dims dims;
    std::vector<int64_t> perm;  // empty: default (reversed)
  };
  const Case cases[] = {
      {{3, 5, 7}, {}},                   // default perm
      {{4, 33, 65}, {0, 2, 1}},          // batched, tiled
      {{2, 37, 129, 5}, {0, 3, 1, 2}},   // NCHW-like -> channels first, short rows
      {{2, 37, 129, 50}, {0, 3, 1, 2}},  // same, tiled
      {{2, 3, 4, 5, 6, 7}, {5, 3, 1, 0, 2, 4}},
      {{5, 1, 7}, {2, 1, 0}},
      {{17}, {0}},
      {{0, 5}, {1, 0}},
  };
  uint64_t seed = 10;
  for (DType t : kMoveTypes) {
    for (const Case& k : cases) {
      GpuCase c("Transpose");
      if (!k.perm.empty()) c.attr_ints("perm", k.perm);
      c.input(rnd(t, k.dims, seed++));
      expect_exact(c);
    }
  }
}

TEST(CudaTensorTranspose, LargeAndOddShapes) {
  TARMAC_REQUIRE_GPU();
  const std::pair<Dims, std::vector<int64_t>> cases[] = {
      {{3, 1000003}, {1, 0}},         {{1000003, 3}, {1, 0}},
      {{1000, 1001}, {1, 0}},         {{2, 3, 4, 5, 2, 3, 2, 2}, {7, 6, 5, 4, 3, 2, 1, 0}},
      {{8, 16, 9, 31}, {1, 0, 3, 2}}, {{1, 64, 40, 40}, {0, 2, 3, 1}},
  };
  uint64_t seed = 100;
  for (DType t : {DType::kFloat32, DType::kFloat16, DType::kInt64, DType::kUint8}) {
    for (const auto& [dims, perm] : cases) {
      GpuCase c("Transpose");
      c.attr_ints("perm", perm);
      c.input(rnd(t, dims, seed++));
      expect_exact(c);
    }
  }
}

// ---- Concat, Split ----

TEST(CudaTensorConcat, AxesAndTypes) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 200;
  for (DType t : kMoveTypes) {
    for (int64_t axis : {0, 1, 2, -1}) {
      GpuCase c("Concat", 13);
      c.attr_int("axis", axis);
      for (int64_t s : {1, 3, 17}) {
        Dims d{2, 3, 5};
        d[static_cast<size_t>(axis < 0 ? axis + 3 : axis)] = s;
        c.input(rnd(t, d, seed++));
      }
      expect_exact(c);
    }
  }
}

TEST(CudaTensorConcat, ManyEmptyAndLargeInputs) {
  TARMAC_REQUIRE_GPU();
  GpuCase many("Concat", 13);
  many.attr_int("axis", 1);
  for (int64_t i = 0; i < 12; ++i) many.input(rnd(DType::kFloat32, {3, i % 4, 7}, 300 + i));
  expect_exact(many);
  GpuCase one("Concat", 13);
  one.attr_int("axis", 0);
  one.input(rnd(DType::kInt64, {5, 2}, 320));
  expect_exact(one);
  GpuCase big("Concat", 13);
  big.attr_int("axis", 0);
  big.input(rnd(DType::kFloat32, {1000003}, 321)).input(rnd(DType::kFloat32, {3}, 322));
  expect_exact(big);
  GpuCase odd("Concat", 13);  // rows of 1 byte: no wide units
  odd.attr_int("axis", -1);
  odd.input(rnd(DType::kUint8, {1001, 1}, 323)).input(rnd(DType::kUint8, {1001, 2}, 324));
  expect_exact(odd);
  GpuCase old("Concat", 1);  // axis defaults to 1 before opset 4
  old.input(rnd(DType::kFloat32, {2, 3}, 325)).input(rnd(DType::kFloat32, {2, 5}, 326));
  expect_exact(old);
}

TEST(CudaTensorSplit, AttributeInputAndNumOutputs) {
  TARMAC_REQUIRE_GPU();
  for (DType t : kMoveTypes) {
    GpuCase attr("Split", 11);  // split as an attribute
    attr.attr_int("axis", 1);
    attr.attr_ints("split", {1, 0, 16});
    attr.num_outputs = 3;
    attr.input(rnd(t, {3, 17, 5}, 400));
    expect_exact(attr);
    GpuCase input("Split", 13);  // split as an input
    input.attr_int("axis", -1);
    input.num_outputs = 2;
    input.input(rnd(t, {3, 2, 7}, 401)).input(ints({4, 3}), true);
    expect_exact(input);
  }
  GpuCase equal("Split", 13);
  equal.num_outputs = 3;
  equal.input(rnd(DType::kFloat32, {999999, 2}, 402));
  expect_exact(equal);
  GpuCase chunks("Split", 18);  // ceil-sized chunks, last one smaller
  chunks.attr_int("axis", 1);
  chunks.attr_int("num_outputs", 3);
  chunks.num_outputs = 3;
  chunks.input(rnd(DType::kInt64, {2, 10, 3}, 403));
  expect_exact(chunks);
}

// ---- Slice ----

TEST(CudaTensorSlice, StepsClampingAndTypes) {
  TARMAC_REQUIRE_GPU();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  struct Case {
    std::vector<int64_t> starts, ends, axes, steps;
  };
  const Case cases[] = {
      {{1, 0}, {3, kMax}, {0, 2}, {1, 2}},
      {{-1}, {kMin}, {1}, {-1}},              // reverse an axis
      {{10, -2}, {0, 1}, {2, -3}, {-3, -1}},  // negative steps, negative axes, clamping
      {{2}, {2}, {0}, {1}},                   // empty
      {{5}, {1}, {2}, {1}},                   // empty: start after end
      {{0, 0, 0}, {kMax, kMax, kMax}, {0, 1, 2}, {1, 1, 1}},
      {{1, 1}, {-1, -1}, {-1, -2}, {2, 3}},
  };
  uint64_t seed = 500;
  for (DType t : kMoveTypes) {
    for (const Case& k : cases) {
      GpuCase c("Slice", 13);
      c.input(rnd(t, {4, 9, 13}, seed++));
      c.input(ints(k.starts), true).input(ints(k.ends), true);
      c.input(ints(k.axes), true).input(ints(k.steps), true);
      expect_exact(c);
    }
  }
}

TEST(CudaTensorSlice, AttributesDefaultsAndLarge) {
  TARMAC_REQUIRE_GPU();
  GpuCase v9("Slice", 9);  // starts/ends/axes as attributes
  v9.attr_ints("starts", {1, -3});
  v9.attr_ints("ends", {std::numeric_limits<int64_t>::max(), -1});
  v9.attr_ints("axes", {0, -1});
  v9.input(rnd(DType::kFloat32, {3, 4, 10}, 600));
  expect_exact(v9);
  GpuCase no_axes("Slice", 13);  // axes and steps absent
  no_axes.input(rnd(DType::kInt64, {6, 5}, 601));
  no_axes.input(ints({1, 2}), true).input(ints({5, 4}), true);
  expect_exact(no_axes);
  GpuCase big("Slice", 13);
  big.input(rnd(DType::kFloat32, {1100, 1001}, 602));
  big.input(ints({3, 1}), true).input(ints({1098, 1000}), true);
  big.input(ints({0, 1}), true).input(ints({1, 1}), true);
  expect_exact(big);
  GpuCase rev("Slice", 13);
  rev.input(rnd(DType::kFloat16, {1000003}, 603));
  rev.input(ints({-1}), true).input(ints({-1000004}), true);
  rev.input(ints({0}), true).input(ints({-7}), true);
  expect_exact(rev);
}

TEST(CudaTensorSlice, RefusesRunTimeStarts) {
  TARMAC_REQUIRE_GPU();
  GpuCase c("Slice", 13);
  c.input(rnd(DType::kFloat32, {4, 5}, 700)).input(ints({1})).input(ints({3}), true);
  EXPECT_FALSE(run_gpu_case(c).is_ok());
}

// ---- Expand, Tile ----

TEST(CudaTensorExpand, Broadcasts) {
  TARMAC_REQUIRE_GPU();
  const std::pair<Dims, std::vector<int64_t>> cases[] = {
      {{3, 1}, {2, 3, 4}}, {{1}, {1000003}}, {{2, 1, 5}, {3, 2, 1, 1}},
      {{1, 17}, {17, 1}},  {{4, 5}, {1}},    {{2, 1, 3, 1}, {2, 7, 3, 16}},
      {{3}, {0, 3}},
  };
  uint64_t seed = 800;
  for (DType t : kMoveTypes) {
    for (const auto& [dims, shape] : cases) {
      GpuCase c("Expand", 13);
      c.input(rnd(t, dims, seed++)).input(ints(shape), true);
      expect_exact(c);
    }
  }
}

TEST(CudaTensorTile, Repeats) {
  TARMAC_REQUIRE_GPU();
  const std::pair<Dims, std::vector<int64_t>> cases[] = {
      {{2, 3}, {2, 3}},       {{3, 1, 5}, {1, 4, 1}}, {{17}, {3}},
      {{2, 3, 4}, {2, 0, 1}}, {{1000003}, {2}},       {{2, 3, 2, 3}, {2, 1, 3, 2}},
  };
  uint64_t seed = 900;
  for (DType t : kMoveTypes) {
    for (const auto& [dims, reps] : cases) {
      GpuCase c("Tile", 13);
      c.input(rnd(t, dims, seed++)).input(ints(reps), true);
      expect_exact(c);
    }
  }
}

// ---- Pad ----

TEST(CudaTensorPad, ModesAndTypes) {
  TARMAC_REQUIRE_GPU();
  const std::vector<int64_t> pads[] = {
      {1, 2, 0, 3, 1, 2},    // grow
      {0, -1, 2, 1, 0, -2},  // crop some, grow others
      {0, 0, 0, 0, 0, 0},
  };
  uint64_t seed = 1000;
  for (DType t : kMoveTypes) {
    for (const char* mode : {"constant", "reflect", "edge", "wrap"}) {
      for (const auto& p : pads) {
        GpuCase c("Pad", 19);
        c.attr_string("mode", mode);
        c.input(rnd(t, {2, 5, 4}, seed++)).input(ints(p), true);
        if (std::string(mode) == "constant") c.input(rnd(t, {}, seed++), true);
        expect_exact(c);
      }
    }
  }
}

TEST(CudaTensorPad, ValueSourcesAxesAndLarge) {
  TARMAC_REQUIRE_GPU();
  GpuCase v2("Pad", 2);  // pads and value as attributes
  v2.attr_ints("pads", {1, 0, 2, 3});
  v2.attr_float("value", 1.5f);
  v2.input(rnd(DType::kFloat32, {3, 4}, 1100));
  expect_exact(v2);
  GpuCase runtime_value("Pad", 13);  // constant_value computed at run time
  runtime_value.input(rnd(DType::kFloat16, {3, 4}, 1101)).input(ints({2, 1, 0, 3}), true);
  runtime_value.input(rnd(DType::kFloat16, {}, 1102));
  expect_exact(runtime_value);
  GpuCase no_value("Pad", 13);  // default 0
  no_value.input(rnd(DType::kInt64, {3, 4}, 1103)).input(ints({1, 1, 1, 1}), true);
  expect_exact(no_value);
  GpuCase axes("Pad", 18);
  axes.attr_string("mode", "reflect");
  axes.input(rnd(DType::kFloat32, {2, 6, 7}, 1104)).input(ints({3, 2, 5, 4}), true);
  axes.absent_input().input(ints({-1, 1}), true);
  expect_exact(axes);
  GpuCase big("Pad", 13);
  big.attr_string("mode", "edge");
  big.input(rnd(DType::kFloat32, {1, 3, 640, 640}, 1105))
      .input(ints({0, 0, 2, 3, 0, 0, 5, 1}), true);
  expect_exact(big);
  GpuCase empty_axis("Pad", 13);  // constant mode fills an empty axis
  empty_axis.input(rnd(DType::kFloat32, {0, 3}, 1106)).input(ints({1, 0, 2, 0}), true);
  expect_exact(empty_axis);
}

TEST(CudaTensorPad, RefusesRunTimePads) {
  TARMAC_REQUIRE_GPU();
  GpuCase c("Pad", 13);
  c.input(rnd(DType::kFloat32, {3, 4}, 1200)).input(ints({1, 1, 1, 1}));
  EXPECT_FALSE(run_gpu_case(c).is_ok());
}

// ---- DepthToSpace, SpaceToDepth ----

TEST(CudaTensorDepthToSpace, ModesAndBlockSizes) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 1300;
  for (DType t : kMoveTypes) {
    for (const char* mode : {"DCR", "CRD"}) {
      for (int64_t b : {2, 3}) {
        GpuCase c("DepthToSpace", 13);
        c.attr_int("blocksize", b);
        c.attr_string("mode", mode);
        c.input(rnd(t, {2, 2 * b * b, 5, 7}, seed++));
        expect_exact(c);
      }
    }
    GpuCase s2d("SpaceToDepth", 13);
    s2d.attr_int("blocksize", 2);
    s2d.input(rnd(t, {2, 3, 6, 10}, seed++));
    expect_exact(s2d);
  }
  GpuCase big("DepthToSpace", 13);
  big.attr_int("blocksize", 4);
  big.input(rnd(DType::kFloat32, {1, 64, 128, 130}, seed++));
  expect_exact(big);
}

// ---- ConstantOfShape, Range, Shape, Size, NonZero ----

TEST(CudaTensorFill, ConstantOfShape) {
  TARMAC_REQUIRE_GPU();
  GpuCase dflt("ConstantOfShape", 13);  // float32 0
  dflt.input(ints({3, 17}), true);
  expect_exact(dflt);
  const Tensor values[] = {
      Tensor::scalar<int64_t>(-7), Tensor::from_vector<float>({2.5f}, {1}).cast(DType::kFloat16),
      Tensor::from_vector<bool>({true}, {1}), Tensor::from_vector<uint8_t>({200}, {1}),
      Tensor::from_vector<float>({-3.25f}, {1})};
  for (const Tensor& v : values) {
    GpuCase c("ConstantOfShape", 13);
    Attribute a;
    a.kind = Attribute::Kind::kTensor;
    a.tensor = std::make_shared<const Tensor>(v);
    c.attrs["value"] = a;
    c.input(ints({1000003}), true);
    expect_exact(c);
  }
  GpuCase empty("ConstantOfShape", 13);
  empty.input(ints({4, 0}), true);
  expect_exact(empty);
}

TEST(CudaTensorFill, Range) {
  TARMAC_REQUIRE_GPU();
  GpuCase f("Range", 13);
  f.input(Tensor::scalar<float>(-1.5f), true).input(Tensor::scalar<float>(1e5f), true);
  f.input(Tensor::scalar<float>(0.1f), true);
  expect_gpu_matches_cpu(f, 1e-6);
  GpuCase d("Range", 13);
  d.input(Tensor::scalar<double>(3.0), true).input(Tensor::scalar<double>(-2.0), true);
  d.input(Tensor::scalar<double>(-0.3), true);
  expect_gpu_matches_cpu(d, 1e-12);
  GpuCase i32("Range", 13);
  i32.input(Tensor::scalar<int32_t>(5), true).input(Tensor::scalar<int32_t>(-30), true);
  i32.input(Tensor::scalar<int32_t>(-3), true);
  expect_exact(i32);
  GpuCase i64("Range", 13);
  i64.input(Tensor::scalar<int64_t>(-4), true).input(Tensor::scalar<int64_t>(2000000), true);
  i64.input(Tensor::scalar<int64_t>(1), true);
  expect_exact(i64);
  GpuCase empty("Range", 13);
  empty.input(Tensor::scalar<int64_t>(4), true).input(Tensor::scalar<int64_t>(4), true);
  empty.input(Tensor::scalar<int64_t>(1), true);
  expect_exact(empty);
}

TEST(CudaTensorFill, ShapeAndSize) {
  TARMAC_REQUIRE_GPU();
  GpuCase shape("Shape", 13);
  shape.input(rnd(DType::kFloat32, {2, 3, 5, 7}, 1400));
  expect_exact(shape);
  for (auto [start, end] : {std::pair<int64_t, int64_t>{1, -1}, {-2, 100}, {3, 1}}) {
    GpuCase c("Shape", 15);
    c.attr_int("start", start);
    c.attr_int("end", end);
    c.input(rnd(DType::kUint8, {2, 3, 5, 7}, 1401));
    expect_exact(c);
  }
  GpuCase scalar("Shape", 13);
  scalar.input(rnd(DType::kFloat32, {}, 1402));
  expect_exact(scalar);
  GpuCase size("Size", 13);
  size.input(rnd(DType::kBool, {4, 0, 3}, 1403));
  expect_exact(size);
  GpuCase size2("Size", 13);
  size2.input(rnd(DType::kInt64, {1000003}, 1404));
  expect_exact(size2);
}

TEST(CudaTensorFill, NonZeroIsRefused) {
  TARMAC_REQUIRE_GPU();
  GpuCase c("NonZero", 13);
  c.input(rnd(DType::kFloat32, {3, 4}, 1500));
  EXPECT_FALSE(run_gpu_case(c).is_ok());
}

}  // namespace
}  // namespace tarmac::testing

// CUDA indexing ops against the CPU reference: Gather, GatherElements, GatherND, ScatterND,
// ScatterElements, with int32/int64 indices (negative ones included, repeated ones for the
// scatters) and every reduction. Gathers and reduction-free scatters are exact.
#include <random>

#include "gpu_test_util.h"

namespace tarmac::testing {
namespace {

const DType kMoveTypes[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16,
                            DType::kInt64,   DType::kBool,    DType::kUint8};

Tensor rnd(DType t, const Dims& d, uint64_t seed) {
  if (t == DType::kFloat16 || t == DType::kBFloat16) {
    return random_tensor(DType::kFloat32, d, seed).cast(t);
  }
  return random_tensor(t, d, seed);
}

/// Indices of dtype t and dims d, uniform in [lo, hi).
Tensor indices(DType t, const Dims& d, int64_t lo, int64_t hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> u(lo, hi - 1);
  Tensor x = Tensor::zeros(DType::kInt64, d);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<int64_t>()[i] = u(rng);
  return t == DType::kInt64 ? x : x.cast(t);
}

/// GatherND/ScatterND index tuples: dims lead + [sizes.size()], component m uniform in
/// [-sizes[m], sizes[m]).
Tensor tuples(DType t, Dims lead, const std::vector<int64_t>& sizes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto k = static_cast<int64_t>(sizes.size());
  lead.push_back(k);
  Tensor x = Tensor::zeros(DType::kInt64, lead);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t s = sizes[static_cast<size_t>(i % k)];
    x.data<int64_t>()[i] = std::uniform_int_distribution<int64_t>(-s, s - 1)(rng);
  }
  return t == DType::kInt64 ? x : x.cast(t);
}

double tol_for(DType t) {
  if (t == DType::kFloat16 || t == DType::kBFloat16) return 1e-2;
  return t == DType::kFloat32 || t == DType::kFloat64 ? 1e-6 : 0.0;
}

// ---- Gather ----

TEST(CudaTensorGather, AxesTypesAndIndexTypes) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 1;
  for (DType t : kMoveTypes) {
    for (DType it : {DType::kInt32, DType::kInt64}) {
      for (int64_t axis : {0, 1, 2, -1}) {
        const Dims data{5, 7, 3};
        const int64_t n = data[static_cast<size_t>(axis < 0 ? axis + 3 : axis)];
        GpuCase c("Gather", 13);
        c.attr_int("axis", axis);
        c.input(rnd(t, data, seed++));
        c.input(indices(it, {2, 9}, -n, n, seed++));
        expect_gpu_matches_cpu(c, 0.0);
      }
    }
  }
}

TEST(CudaTensorGather, ScalarConstantAndLarge) {
  TARMAC_REQUIRE_GPU();
  GpuCase scalar("Gather", 13);  // rank-0 indices drop the axis
  scalar.attr_int("axis", 1);
  scalar.input(rnd(DType::kFloat32, {3, 4, 5}, 100)).input(Tensor::scalar<int64_t>(-2), true);
  expect_gpu_matches_cpu(scalar, 0.0);
  GpuCase embed("Gather", 13);  // embedding lookup: 256-byte rows
  embed.input(rnd(DType::kFloat32, {30000, 64}, 101));
  embed.input(indices(DType::kInt64, {4, 129}, -30000, 30000, 102));
  expect_gpu_matches_cpu(embed, 0.0);
  GpuCase big("Gather", 13);
  big.input(rnd(DType::kFloat16, {1000003}, 103));
  big.input(indices(DType::kInt32, {1000003}, -1000003, 1000003, 104));
  expect_gpu_matches_cpu(big, 0.0);
  GpuCase empty("Gather", 13);
  empty.input(rnd(DType::kFloat32, {4, 3}, 105)).input(indices(DType::kInt64, {0}, 0, 4, 106));
  expect_gpu_matches_cpu(empty, 0.0);
}

TEST(CudaTensorGather, RefusesOutOfRangeConstantIndex) {
  TARMAC_REQUIRE_GPU();
  GpuCase c("Gather", 13);
  c.input(rnd(DType::kFloat32, {4, 3}, 150)).input(Tensor::from_vector<int64_t>({1, 4}, {2}), true);
  EXPECT_FALSE(run_gpu_case(c).is_ok());
}

// ---- GatherElements ----

TEST(CudaTensorGatherElements, Axes) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 200;
  for (DType t : kMoveTypes) {
    for (int64_t axis : {0, 1, -1}) {
      const Dims data{4, 6, 5};
      const int64_t n = data[static_cast<size_t>(axis < 0 ? axis + 3 : axis)];
      Dims idx{3, 4, 5};
      idx[static_cast<size_t>(axis < 0 ? axis + 3 : axis)] = 9;  // longer than data there
      GpuCase c("GatherElements", 13);
      c.attr_int("axis", axis);
      c.input(rnd(t, data, seed++));
      c.input(indices(axis == 1 ? DType::kInt32 : DType::kInt64, idx, -n, n, seed++));
      expect_gpu_matches_cpu(c, 0.0);
    }
  }
  GpuCase big("GatherElements", 13);
  big.attr_int("axis", 1);
  big.input(rnd(DType::kFloat32, {1000, 1001}, 250));
  big.input(indices(DType::kInt64, {1000, 1001}, -1001, 1001, 251));
  expect_gpu_matches_cpu(big, 0.0);
}

// ---- GatherND ----

TEST(CudaTensorGatherND, BatchDimsAndTupleLengths) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 300;
  for (DType t : kMoveTypes) {
    for (DType it : {DType::kInt32, DType::kInt64}) {
      GpuCase k1("GatherND", 13);  // slices of [5, 6]
      k1.input(rnd(t, {4, 5, 6}, seed++));
      k1.input(tuples(it, {7}, {4}, seed++));
      expect_gpu_matches_cpu(k1, 0.0);
      GpuCase k2("GatherND", 13);
      k2.input(rnd(t, {4, 5, 6}, seed++));
      k2.input(tuples(it, {2, 3}, {4, 5}, seed++));
      expect_gpu_matches_cpu(k2, 0.0);
      GpuCase full("GatherND", 13);  // single elements
      full.input(rnd(t, {4, 5, 6}, seed++));
      full.input(tuples(it, {9}, {4, 5, 6}, seed++));
      expect_gpu_matches_cpu(full, 0.0);
      GpuCase batch("GatherND", 13);  // batch_dims 1: indices [3, 4, 1] index axis 1
      batch.attr_int("batch_dims", 1);
      Tensor per_batch = tuples(it, {3, 4}, {5}, seed++);
      batch.input(rnd(t, {3, 5, 6}, seed++)).input(per_batch);
      expect_gpu_matches_cpu(batch, 0.0);
      GpuCase batch2("GatherND", 13);  // batch_dims 2, tuples of 2
      batch2.attr_int("batch_dims", 2);
      batch2.input(rnd(t, {2, 3, 4, 5, 3}, seed++));
      batch2.input(tuples(it, {2, 3, 6}, {4, 5}, seed++));
      expect_gpu_matches_cpu(batch2, 0.0);
    }
  }
  GpuCase big("GatherND", 13);
  big.input(rnd(DType::kFloat32, {1000, 1003}, 390))
      .input(tuples(DType::kInt64, {1200}, {1000}, 391));
  expect_gpu_matches_cpu(big, 0.0);
}

// ---- ScatterND ----

TEST(CudaTensorScatterND, ReductionsAndTypes) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 400;
  const DType types[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kInt64,
                         DType::kInt32,   DType::kInt8,    DType::kUint8,    DType::kBool};
  for (DType t : types) {
    for (const char* red : {"none", "add", "mul", "max", "min"}) {
      // Slices: 6 tuples into 8 rows, so rows repeat.
      GpuCase rows("ScatterND", 18);
      rows.attr_string("reduction", red);
      rows.input(rnd(t, {8, 5, 3}, seed++));
      rows.input(tuples(DType::kInt64, {6}, {8}, seed++));
      rows.input(rnd(t, {6, 5, 3}, seed++));
      expect_gpu_matches_cpu(rows, tol_for(t));
      // Single elements: 40 tuples into 20 cells.
      GpuCase cells("ScatterND", 18);
      cells.attr_string("reduction", red);
      cells.input(rnd(t, {4, 5}, seed++));
      cells.input(tuples(DType::kInt32, {5, 8}, {4, 5}, seed++));
      cells.input(rnd(t, {5, 8}, seed++));
      expect_gpu_matches_cpu(cells, tol_for(t));
    }
  }
}

TEST(CudaTensorScatterND, LastWriteWinsAndLarge) {
  TARMAC_REQUIRE_GPU();
  GpuCase heavy("ScatterND", 13);  // 50000 tuples into 2000 rows: every row written many times
  heavy.input(rnd(DType::kFloat32, {2000, 16}, 500));
  heavy.input(tuples(DType::kInt64, {50000}, {2000}, 501));
  heavy.input(rnd(DType::kFloat32, {50000, 16}, 502));
  expect_gpu_matches_cpu(heavy, 0.0);
  GpuCase pillars("ScatterND", 13);  // PointPillars-style scatter into a BEV grid
  pillars.input(rnd(DType::kFloat16, {216 * 248, 64}, 503));
  pillars.input(tuples(DType::kInt32, {12000, 1}, {216 * 248}, 504));
  pillars.input(rnd(DType::kFloat16, {12000, 1, 64}, 505));
  expect_gpu_matches_cpu(pillars, 0.0);
  GpuCase add("ScatterND", 16);
  add.attr_string("reduction", "add");
  add.input(rnd(DType::kFloat32, {1000003}, 506));
  add.input(tuples(DType::kInt64, {300000}, {1000003}, 507));
  add.input(rnd(DType::kFloat32, {300000}, 508));
  expect_gpu_matches_cpu(add, 1e-6);
}

TEST(CudaTensorScatterND, RefusesUnknownReduction) {
  TARMAC_REQUIRE_GPU();
  GpuCase c("ScatterND", 16);  // max arrived in opset 18
  c.attr_string("reduction", "max");
  c.input(rnd(DType::kFloat32, {4}, 550)).input(tuples(DType::kInt64, {2}, {4}, 551));
  c.input(rnd(DType::kFloat32, {2}, 552));
  EXPECT_FALSE(run_gpu_case(c).is_ok());
}

// ---- ScatterElements ----

TEST(CudaTensorScatterElements, AxesReductionsAndTypes) {
  TARMAC_REQUIRE_GPU();
  uint64_t seed = 600;
  const DType types[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kInt64,
                         DType::kInt8,    DType::kUint8,   DType::kBool};
  for (DType t : types) {
    for (const char* red : {"none", "add", "mul", "max", "min"}) {
      for (int64_t axis : {0, 1, -1}) {
        const Dims data{5, 6, 4};
        const int64_t n = data[static_cast<size_t>(axis < 0 ? axis + 3 : axis)];
        Dims idx{3, 4, 4};
        idx[static_cast<size_t>(axis < 0 ? axis + 3 : axis)] = 7;  // repeats along the axis
        GpuCase c("ScatterElements", 18);
        c.attr_string("reduction", red);
        c.attr_int("axis", axis);
        c.input(rnd(t, data, seed++));
        c.input(indices(axis == 0 ? DType::kInt32 : DType::kInt64, idx, -n, n, seed++));
        c.input(rnd(t, idx, seed++));
        expect_gpu_matches_cpu(c, tol_for(t));
      }
    }
  }
}

TEST(CudaTensorScatterElements, LargeAndOld) {
  TARMAC_REQUIRE_GPU();
  GpuCase none("ScatterElements", 11);
  none.input(rnd(DType::kFloat32, {1000003}, 700));
  none.input(indices(DType::kInt64, {400000}, -1000003, 1000003, 701));
  none.input(rnd(DType::kFloat32, {400000}, 702));
  expect_gpu_matches_cpu(none, 0.0);
  GpuCase add("ScatterElements", 16);
  add.attr_string("reduction", "add");
  add.attr_int("axis", 1);
  add.input(rnd(DType::kInt64, {300, 17}, 703));
  add.input(indices(DType::kInt32, {300, 4000}, -17, 17, 704));
  add.input(rnd(DType::kInt64, {300, 4000}, 705));
  expect_gpu_matches_cpu(add, 0.0);
  GpuCase empty("ScatterElements", 13);
  empty.input(rnd(DType::kFloat32, {3, 4}, 706));
  empty.input(indices(DType::kInt64, {0, 4}, 0, 3, 707)).input(rnd(DType::kFloat32, {0, 4}, 708));
  expect_gpu_matches_cpu(empty, 0.0);
}

}  // namespace
}  // namespace tarmac::testing

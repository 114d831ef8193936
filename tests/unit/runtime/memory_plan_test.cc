#include "runtime/memory_plan.h"

#include <gtest/gtest.h>

#include <random>

namespace tarmac {
namespace {

/// No two buffers alive at the same step may overlap.
void expect_valid(const std::vector<BufferRequest>& req, const MemoryPlan& p, size_t align) {
  ASSERT_EQ(p.offsets.size(), req.size());
  for (size_t i = 0; i < req.size(); ++i) {
    EXPECT_EQ(p.offsets[i] % align, 0u);
    EXPECT_LE(p.offsets[i] + req[i].bytes, p.arena_bytes);
    for (size_t j = i + 1; j < req.size(); ++j) {
      const bool time = req[i].first <= req[j].last && req[j].first <= req[i].last;
      const bool space =
          p.offsets[i] < p.offsets[j] + req[j].bytes && p.offsets[j] < p.offsets[i] + req[i].bytes;
      EXPECT_FALSE(time && space) << "buffers " << i << " and " << j << " overlap";
    }
  }
  EXPECT_GE(p.arena_bytes, p.lower_bound_bytes);
}

TEST(MemoryPlan, ChainReusesMemory) {
  // a -> b -> c -> d, each alive for two steps: two buffers suffice.
  std::vector<BufferRequest> req = {{1024, 0, 1}, {1024, 1, 2}, {1024, 2, 3}, {1024, 3, 4}};
  MemoryPlan p = plan_memory(req, 256);
  expect_valid(req, p, 256);
  EXPECT_EQ(p.lower_bound_bytes, 2048u);
  EXPECT_EQ(p.arena_bytes, 2048u);
}

TEST(MemoryPlan, DisjointLifetimesShareOneSlot) {
  std::vector<BufferRequest> req = {{100, 0, 0}, {300, 1, 1}, {200, 2, 2}};
  MemoryPlan p = plan_memory(req, 256);
  expect_valid(req, p, 256);
  EXPECT_EQ(p.arena_bytes, 512u);  // 300 rounded up to 512
  EXPECT_EQ(p.lower_bound_bytes, 512u);
}

TEST(MemoryPlan, EmptyAndZeroSized) {
  EXPECT_EQ(plan_memory({}).arena_bytes, 0u);
  std::vector<BufferRequest> req = {{0, 0, 3}, {10, 1, 2}};
  MemoryPlan p = plan_memory(req, 64);
  expect_valid(req, p, 64);
}

TEST(MemoryPlan, RandomLifetimesAreValidAndNearTheBound) {
  std::mt19937 rng(3);
  double worst = 1;
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<BufferRequest> req;
    const int steps = 200;
    for (int s = 0; s < steps; ++s) {
      // Network-like: mostly short-lived activations, a few long skip connections.
      const int len = rng() % 10 == 0 ? 1 + static_cast<int>(rng() % 60) : 1 + rng() % 3;
      req.push_back({size_t{1} << (10 + rng() % 8), s, std::min(steps, s + len)});
    }
    MemoryPlan p = plan_memory(req, 256);
    expect_valid(req, p, 256);
    worst = std::max(worst, static_cast<double>(p.arena_bytes) / p.lower_bound_bytes);
  }
  std::printf("worst arena / lower bound over 50 random plans: %.3f\n", worst);
  EXPECT_LE(worst, 1.5);
}

}  // namespace
}  // namespace tarmac

// Memory planner: places buffers with known lifetimes in one arena so that buffers alive at
// the same step never overlap, reusing space of buffers that died.
//   std::vector<BufferRequest> req = {{bytes, first_step, last_step}, ...};
//   MemoryPlan p = plan_memory(req);  // p.offsets[i], p.arena_bytes, p.lower_bound_bytes
#pragma once

#include <cstddef>
#include <vector>

namespace tarmac {

/// One buffer: its size and the steps (inclusive) during which it must hold its contents.
struct BufferRequest {
  size_t bytes = 0;
  int first = 0;
  int last = 0;
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // per request, aligned
  size_t arena_bytes = 0;
  /// Peak over steps of the (aligned) bytes alive at once: no plan can use less.
  size_t lower_bound_bytes = 0;
};

/// Greedy best-fit: each buffer goes into the smallest gap between buffers whose lifetimes
/// overlap its own, or on top. The greedy result depends on the placement order, so several
/// orders (by size, size x lifetime, lifetime, first use, and seeded perturbations of the size
/// order) are tried and the smallest arena is kept. Deterministic.
MemoryPlan plan_memory(const std::vector<BufferRequest>& requests, size_t alignment = 256);

}  // namespace tarmac

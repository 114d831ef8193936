#include "runtime/memory_plan.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>

namespace tarmac {

namespace {

size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

}  // namespace

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests, size_t alignment) {
  MemoryPlan plan;
  plan.offsets.assign(requests.size(), 0);
  if (requests.empty()) return plan;
  if (alignment == 0) alignment = 1;

  // Lower bound: sweep over steps with +size at first and -size after last.
  std::map<int, long long> delta;
  for (const BufferRequest& r : requests) {
    const auto b = static_cast<long long>(align_up(r.bytes, alignment));
    delta[r.first] += b;
    delta[r.last + 1] -= b;
  }
  long long live = 0, peak = 0;
  for (const auto& [step, d] : delta) {
    live += d;
    peak = std::max(peak, live);
  }
  plan.lower_bound_bytes = static_cast<size_t>(peak);

  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (requests[a].bytes != requests[b].bytes) return requests[a].bytes > requests[b].bytes;
    return requests[a].first < requests[b].first;
  });
  struct Placed {
    size_t offset, size;
    int first, last;
  };
  std::vector<Placed> placed;
  placed.reserve(requests.size());
  for (size_t i : order) {
    const BufferRequest& r = requests[i];
    const size_t size = align_up(std::max<size_t>(r.bytes, 1), alignment);
    // Buffers whose lifetimes overlap this one, by offset.
    std::vector<const Placed*> conflicts;
    for (const Placed& p : placed)
      if (p.first <= r.last && r.first <= p.last) conflicts.push_back(&p);
    std::sort(conflicts.begin(), conflicts.end(),
              [](const Placed* a, const Placed* b) { return a->offset < b->offset; });
    size_t best = SIZE_MAX, best_gap = SIZE_MAX, cursor = 0;
    for (const Placed* p : conflicts) {
      if (p->offset > cursor) {
        const size_t gap = p->offset - cursor;
        if (gap >= size && gap < best_gap) {
          best = cursor;
          best_gap = gap;
        }
      }
      cursor = std::max(cursor, p->offset + p->size);
    }
    if (best == SIZE_MAX) best = cursor;  // on top of everything it overlaps
    plan.offsets[i] = best;
    plan.arena_bytes = std::max(plan.arena_bytes, best + size);
    placed.push_back({best, size, r.first, r.last});
  }
  return plan;
}

}  // namespace tarmac

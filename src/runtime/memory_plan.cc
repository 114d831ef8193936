#include "runtime/memory_plan.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>

namespace tarmac {

namespace {

size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

}  // namespace

/// Places the requests in `order` (best-fit into gaps between lifetime-overlapping buffers);
/// returns offsets and the arena size.
size_t place(const std::vector<BufferRequest>& requests, const std::vector<size_t>& order,
             size_t alignment, std::vector<size_t>* offsets) {
  struct Placed {
    size_t offset, size;
    int first, last;
  };
  std::vector<Placed> placed;
  placed.reserve(requests.size());
  size_t arena = 0;
  std::vector<const Placed*> conflicts;
  for (size_t i : order) {
    const BufferRequest& r = requests[i];
    const size_t size = align_up(std::max<size_t>(r.bytes, 1), alignment);
    conflicts.clear();
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
    (*offsets)[i] = best;
    arena = std::max(arena, best + size);
    placed.push_back({best, size, r.first, r.last});
  }
  return arena;
}

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

  // Greedy placement depends on the order; try a few classic orders and keep the best.
  std::vector<std::vector<size_t>> orders;
  std::vector<size_t> base(requests.size());
  std::iota(base.begin(), base.end(), 0);
  auto by = [&](auto key) {
    std::vector<size_t> o = base;
    std::stable_sort(o.begin(), o.end(), [&](size_t a, size_t b) { return key(a) > key(b); });
    orders.push_back(std::move(o));
  };
  auto len = [&](size_t i) {
    return static_cast<double>(requests[i].last - requests[i].first + 1);
  };
  by([&](size_t i) { return static_cast<double>(requests[i].bytes); });
  by([&](size_t i) { return static_cast<double>(requests[i].bytes) * len(i); });
  by([&](size_t i) { return len(i); });
  by([&](size_t i) { return -static_cast<double>(requests[i].first); });
  // A few seeded perturbations of the size order (deterministic) escape its worst cases.
  std::mt19937 rng(12345);
  for (int k = 0; k < 32; ++k) {
    std::uniform_real_distribution<double> jitter(0.5, 1.5);
    std::vector<double> key(requests.size());
    for (size_t i = 0; i < key.size(); ++i)
      key[i] = static_cast<double>(requests[i].bytes) * jitter(rng);
    by([&](size_t i) { return key[i]; });
  }
  std::vector<size_t> offsets(requests.size());
  plan.arena_bytes = SIZE_MAX;
  for (const auto& order : orders) {
    const size_t arena = place(requests, order, alignment, &offsets);
    if (arena < plan.arena_bytes) {
      plan.arena_bytes = arena;
      plan.offsets = offsets;
    }
  }
  return plan;
}

}  // namespace tarmac

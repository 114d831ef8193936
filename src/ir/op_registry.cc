#include "ir/op_registry.h"

#include <algorithm>
#include <unordered_map>

namespace tarmac {

#define TARMAC_OP(name, family, since) Status infer_##name(InferContext&);
#include "ir/ops.def"
#undef TARMAC_OP

const std::vector<OpInfo>& all_ops() {
  static const std::vector<OpInfo> ops = {
#define TARMAC_OP(name, family, since) {#name, #family, since, &infer_##name},
#include "ir/ops.def"
#undef TARMAC_OP
  };
  return ops;
}

const OpInfo* find_op(std::string_view op_type) {
  static const auto* index = [] {
    auto* m = new std::unordered_map<std::string_view, const OpInfo*>();
    for (const OpInfo& op : all_ops()) (*m)[op.name] = &op;
    return m;
  }();
  auto it = index->find(op_type);
  return it == index->end() ? nullptr : it->second;
}

StatusOr<int64_t> normalize_axis(const Node& n, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1)) {
    return node_error(n, "axis {} is out of range for rank {}", axis, rank);
  }
  return axis < 0 ? axis + rank : axis;
}

StatusOr<Shape> broadcast_shapes(const Node& n, const std::vector<const ValueType*>& ins) {
  size_t rank = 0;
  for (const ValueType* t : ins) rank = std::max(rank, t->shape.size());
  Shape out(rank, Dim(1));
  for (size_t k = 0; k < rank; ++k) {
    Dim result(1);
    bool have_unknown = false;
    Dim unknown;
    for (const ValueType* t : ins) {
      const size_t r = t->shape.size();
      if (k + r < rank) continue;  // this input is shorter: implicit 1
      const Dim& d = t->shape[k + r - rank];
      if (d.is_static()) {
        if (d.value == 1) continue;
        if (result.is_static() && result.value != 1 && result.value != d.value) {
          return node_error(n, "cannot broadcast dimension {} of size {} with {}", k, result.value,
                            d.value);
        }
        result = d;
      } else if (!have_unknown) {
        have_unknown = true;
        unknown = d;
      } else if (!(unknown == d)) {
        unknown = Dim();
      }
    }
    if (result.is_static() && result.value == 1 && have_unknown) result = unknown;
    out[k] = result;
  }
  return out;
}

StatusOr<Dims> broadcast_dims(const Node& n, const std::vector<Dims>& ins) {
  size_t rank = 0;
  for (const Dims& d : ins) rank = std::max(rank, d.size());
  Dims out(rank, 1);
  for (const Dims& d : ins) {
    for (size_t k = 0; k < d.size(); ++k) {
      const size_t o = rank - d.size() + k;
      if (d[k] == 1) continue;
      if (out[o] != 1 && out[o] != d[k]) {
        return node_error(
            n, "cannot broadcast shapes: dimension {} is {} in one input and {} in another", o,
            out[o], d[k]);
      }
      out[o] = d[k];
    }
  }
  return out;
}

}  // namespace tarmac

// Private helpers for the elementwise CPU kernels: dtype classes, integer arithmetic without
// undefined behaviour, and the broadcasting loop shared by the unary, binary and variadic ops.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "backends/cpu/kernel.h"

namespace tarmac::elementwise {

/// Minimum elements per thread: cheap ops (add, compare) need big chunks to beat the fork cost,
/// transcendental ones pay off sooner.
inline constexpr int64_t kGrainCheap = int64_t{1} << 15;
inline constexpr int64_t kGrainCostly = int64_t{1} << 12;

template <typename T>
inline constexpr bool kIsFloat =
    std::is_floating_point_v<T> || std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;
template <typename T>
inline constexpr bool kIsInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;
template <typename T>
inline constexpr bool kIsNumeric = kIsFloat<T> || kIsInt<T>;

inline bool is_numeric(DType t) { return is_floating(t) || is_integer(t); }
inline bool is_signed_numeric(DType t) {
  return is_floating(t) || t == DType::kInt8 || t == DType::kInt32 || t == DType::kInt64;
}

// Signed overflow is undefined in C++; ONNX runtimes wrap, so compute in the unsigned type.
template <typename T>
inline T wrap_add(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
}
template <typename T>
inline T wrap_sub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
}
template <typename T>
inline T wrap_mul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
}
template <typename T>
inline T wrap_neg(T a) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(U{0} - static_cast<U>(a)));
}

/// Integer division truncating toward zero. x / 0 is defined as 0 (numpy's result) instead of
/// trapping, and MIN / -1 wraps to MIN.
template <typename T>
inline T int_div(T a, T b) {
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return wrap_neg(a);
  }
  return static_cast<T>(a / b);
}
/// C remainder (sign of the dividend); x % 0 is defined as 0.
template <typename T>
inline T int_rem(T a, T b) {
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return 0;
  }
  return static_cast<T>(a % b);
}
/// Python-style modulo (sign of the divisor); x mod 0 is defined as 0.
template <typename T>
inline T int_mod(T a, T b) {
  T r = int_rem(a, b);
  if constexpr (std::is_signed_v<T>) {
    if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
  }
  return r;
}

/// numpy.maximum / numpy.minimum: NaN in either operand gives NaN (a NaN b falls through
/// to b because every comparison with NaN is false).
template <typename C>
inline C nan_max(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    if (std::isnan(a)) return a;
  }
  return a > b ? a : b;
}
template <typename C>
inline C nan_min(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    if (std::isnan(a)) return a;
  }
  return a < b ? a : b;
}

/// Output dims collapsed so that each input walks them with fixed strides (0 = broadcast).
/// Adjacent dims merge when every input is contiguous across them, so same-shape operands
/// collapse to one dim and a [N,C,H,W] + [1,C,1,1] add walks [N, C, H*W].
template <size_t N>
struct BroadcastLayout {
  std::vector<int64_t> dims;
  std::array<std::vector<int64_t>, N> strides;
};

template <size_t N>
BroadcastLayout<N> make_layout(const Dims& out, const std::array<const Dims*, N>& ins) {
  const size_t r = out.size();
  std::array<std::vector<int64_t>, N> full;
  for (size_t k = 0; k < N; ++k) {
    const Dims& d = *ins[k];
    full[k].assign(r, 0);
    const size_t off = r - d.size();
    int64_t s = 1;
    for (size_t i = d.size(); i-- > 0;) {
      full[k][off + i] = d[i] == 1 ? 0 : s;
      s *= d[i];
    }
  }
  BroadcastLayout<N> l;
  for (size_t i = 0; i < r; ++i) {
    if (out[i] == 1) continue;
    if (!l.dims.empty()) {
      bool merge = true;
      for (size_t k = 0; k < N; ++k)
        if (l.strides[k].back() != full[k][i] * out[i]) merge = false;
      if (merge) {
        l.dims.back() *= out[i];
        for (size_t k = 0; k < N; ++k) l.strides[k].back() = full[k][i];
        continue;
      }
    }
    l.dims.push_back(out[i]);
    for (size_t k = 0; k < N; ++k) l.strides[k].push_back(full[k][i]);
  }
  if (l.dims.empty()) {
    l.dims.push_back(1);
    for (size_t k = 0; k < N; ++k) l.strides[k].push_back(0);
  }
  return l;
}

/// Calls inner(out_offset, in_offsets, in_inner_strides, count) over runs of consecutive output
/// elements; each input advances by its inner stride (0 or 1) along a run. Runs are split across
/// threads in chunks of at least `grain` elements.
template <size_t N, typename Inner>
void for_each_broadcast(const Dims& out, const std::array<const Dims*, N>& ins, int64_t grain,
                        Inner&& inner) {
  const int64_t total = num_elements(out);
  if (total == 0) return;
  bool same = true;
  for (size_t k = 0; k < N; ++k)
    if (num_elements(*ins[k]) != total) same = false;
  if (same) {  // same element count as the output means no broadcasting at all
    std::array<int64_t, N> ones;
    ones.fill(1);
    parallel_for(total, grain, [&](int64_t b, int64_t e) {
      std::array<int64_t, N> off;
      off.fill(b);
      inner(b, off, ones, e - b);
    });
    return;
  }
  const BroadcastLayout<N> l = make_layout<N>(out, ins);
  const size_t rank = l.dims.size();
  const int64_t row = l.dims.back();
  std::array<int64_t, N> ist;
  for (size_t k = 0; k < N; ++k) ist[k] = l.strides[k].back();
  parallel_for(total, grain, [&](int64_t b, int64_t e) {
    std::vector<int64_t> idx(rank);
    std::array<int64_t, N> off{};
    int64_t rem = b;
    for (size_t i = rank; i-- > 0;) {
      idx[i] = rem % l.dims[i];
      rem /= l.dims[i];
      for (size_t k = 0; k < N; ++k) off[k] += idx[i] * l.strides[k][i];
    }
    int64_t pos = b;
    while (pos < e) {
      const int64_t n = std::min(row - idx[rank - 1], e - pos);
      inner(pos, off, ist, n);
      pos += n;
      idx[rank - 1] += n;
      for (size_t k = 0; k < N; ++k) off[k] += n * ist[k];
      if (idx[rank - 1] < row || pos >= e) continue;
      idx[rank - 1] = 0;
      for (size_t k = 0; k < N; ++k) off[k] -= row * ist[k];
      for (size_t i = rank - 1; i-- > 0;) {
        ++idx[i];
        for (size_t k = 0; k < N; ++k) off[k] += l.strides[k][i];
        if (idx[i] < l.dims[i]) break;
        for (size_t k = 0; k < N; ++k) off[k] -= l.dims[i] * l.strides[k][i];
        idx[i] = 0;
      }
    }
  });
}

/// out[i] = f(in[i]) over same-shaped tensors.
template <typename I, typename O, typename F>
void unary_map(const Tensor& in, Tensor* out, int64_t grain, F&& f) {
  const I* x = in.data<I>();
  O* y = out->data<O>();
  parallel_for(in.numel(), grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = f(x[i]);
  });
}

/// out = f(a, b) with numpy broadcasting; out is already allocated with the broadcast dims.
/// The inner loops are specialised on which operand is broadcast so they vectorise.
template <typename A, typename B, typename O, typename F>
void binary_map(const Tensor& a, const Tensor& b, Tensor* out, int64_t grain, F&& f) {
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  O* po = out->data<O>();
  for_each_broadcast<2>(out->dims(), {&a.dims(), &b.dims()}, grain,
                        [&](int64_t o, const std::array<int64_t, 2>& off,
                            const std::array<int64_t, 2>& st, int64_t n) {
                          const A* x = pa + off[0];
                          const B* y = pb + off[1];
                          O* z = po + o;
                          if (st[0] && st[1]) {
                            for (int64_t i = 0; i < n; ++i) z[i] = f(x[i], y[i]);
                          } else if (st[0]) {
                            const B yv = *y;
                            for (int64_t i = 0; i < n; ++i) z[i] = f(x[i], yv);
                          } else if (st[1]) {
                            const A xv = *x;
                            for (int64_t i = 0; i < n; ++i) z[i] = f(xv, y[i]);
                          } else {
                            const O v = f(*x, *y);
                            for (int64_t i = 0; i < n; ++i) z[i] = v;
                          }
                        });
}

/// Numpy broadcast of the given input dims; error names the node.
inline StatusOr<Dims> broadcast_of(const Node& node, const std::vector<const Tensor*>& ins) {
  std::vector<Dims> dims;
  dims.reserve(ins.size());
  for (const Tensor* t : ins) dims.push_back(t->dims());
  return broadcast_dims(node, dims);
}

/// Opset < 7 binary ops broadcast B onto A only, and only with attribute broadcast=1, aligning
/// B at `axis` (default: trailing dims). Returns B's dims padded to A's rank so that the numpy
/// broadcast loop does the rest.
inline StatusOr<Dims> legacy_broadcast_dims(const Node& node, const Dims& a, const Dims& b) {
  const bool bcast = node.attr_int("broadcast", 0) != 0;
  if (!bcast) {
    if (a != b) {
      return node_error(node,
                        "inputs have shapes {} and {}, which differ, and attribute broadcast is 0",
                        dims_to_string(a), dims_to_string(b));
    }
    return b;
  }
  const int64_t ra = static_cast<int64_t>(a.size());
  const int64_t rb = static_cast<int64_t>(b.size());
  if (num_elements(b) == 1 && rb <= ra) return Dims(a.size(), 1);
  if (rb > ra) {
    return node_error(node, "input B of shape {} has more dims than input A of shape {}",
                      dims_to_string(b), dims_to_string(a));
  }
  int64_t axis = node.has_attr("axis") ? node.attr_int("axis", 0) : ra - rb;
  if (axis < 0) axis += ra;
  if (axis < 0 || axis + rb > ra) {
    return node_error(node, "axis {} does not fit B of shape {} into A of shape {}",
                      node.attr_int("axis", 0), dims_to_string(b), dims_to_string(a));
  }
  Dims out(a.size(), 1);
  for (int64_t i = 0; i < rb; ++i) {
    const int64_t d = b[static_cast<size_t>(i)];
    if (d != 1 && d != a[static_cast<size_t>(axis + i)]) {
      return node_error(node, "input B of shape {} does not match A of shape {} at axis {}",
                        dims_to_string(b), dims_to_string(a), axis);
    }
    out[static_cast<size_t>(axis + i)] = d;
  }
  return out;
}

/// The two operands of a binary op as views ready for numpy broadcasting (B reshaped for the
/// legacy opset < 7 rule), plus the output dims.
struct BinaryOperands {
  Tensor a, b;
  Dims out;
};
inline StatusOr<BinaryOperands> binary_operands(const KernelContext& ctx, bool legacy_rule) {
  if (ctx.num_inputs() < 2 || !ctx.has_input(0) || !ctx.has_input(1))
    return node_error(ctx.node, "expects 2 inputs");
  BinaryOperands r{ctx.input(0), ctx.input(1), {}};
  if (legacy_rule && ctx.opset < 7) {
    TARMAC_ASSIGN_OR_RETURN(Dims bd, legacy_broadcast_dims(ctx.node, r.a.dims(), r.b.dims()));
    r.b = r.b.reshaped(bd);
    r.out = r.a.dims();
    return r;
  }
  TARMAC_ASSIGN_OR_RETURN(r.out, broadcast_dims(ctx.node, {r.a.dims(), r.b.dims()}));
  return r;
}

}  // namespace tarmac::elementwise

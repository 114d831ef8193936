// CPU kernel for Einsum. Each operand is first reduced on its own (diagonals of repeated
// subscripts taken, subscripts no one else needs summed), then operands are contracted left to
// right as batched GEMMs, and the result is permuted into the output order.
#include <algorithm>
#include <numeric>
#include <type_traits>

#include "backends/cpu/nn_util.h"

namespace tarmac {

namespace {

/// A dense operand whose dims carry Einsum labels (distinct after reduce()).
template <typename T>
struct Operand {
  std::vector<T> data;
  Dims dims;
  std::vector<int> labels;
};

bool contains(const std::vector<int>& v, int x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

/// out[labels = keep] = sum over the other labels of in, where dims sharing a label are read
/// along their diagonal. `keep` gives the output dim order.
template <typename T>
Operand<T> reduce(const Operand<T>& in, const std::vector<int>& keep,
                  const std::vector<int64_t>& label_size) {
  const Dims strides = row_major_strides(in.dims);
  auto label_stride = [&](int l) {
    int64_t s = 0;
    for (size_t d = 0; d < in.labels.size(); ++d)
      if (in.labels[d] == l) s += strides[d];
    return s;
  };
  std::vector<int> summed;
  for (int l : in.labels)
    if (!contains(keep, l) && !contains(summed, l)) summed.push_back(l);
  Operand<T> out;
  out.labels = keep;
  Dims out_stride, sum_dims, sum_stride;
  for (int l : keep) {
    out.dims.push_back(label_size[static_cast<size_t>(l)]);
    out_stride.push_back(label_stride(l));
  }
  for (int l : summed) {
    sum_dims.push_back(label_size[static_cast<size_t>(l)]);
    sum_stride.push_back(label_stride(l));
  }
  const int64_t n_out = num_elements(out.dims);
  const int64_t n_sum = num_elements(sum_dims);
  out.data.assign(static_cast<size_t>(n_out), T(0));
  parallel_for(n_out, std::max<int64_t>(1, 16384 / std::max<int64_t>(n_sum, 1)),
               [&](int64_t begin, int64_t end) {
                 Dims oi(out.dims.size()), si(sum_dims.size());
                 for (int64_t o = begin; o < end; ++o) {
                   int64_t rem = o, base = 0;
                   for (size_t d = out.dims.size(); d-- > 0;) {
                     oi[d] = rem % out.dims[d];
                     rem /= out.dims[d];
                     base += oi[d] * out_stride[d];
                   }
                   T acc = T(0);
                   std::fill(si.begin(), si.end(), 0);
                   int64_t off = 0;
                   for (int64_t s = 0; s < n_sum; ++s) {
                     acc = static_cast<T>(acc + in.data[static_cast<size_t>(base + off)]);
                     // Odometer step over the summed labels.
                     for (size_t d = sum_dims.size(); d-- > 0;) {
                       off += sum_stride[d];
                       if (++si[d] < sum_dims[d]) break;
                       off -= sum_stride[d] * sum_dims[d];
                       si[d] = 0;
                     }
                   }
                   out.data[static_cast<size_t>(o)] = acc;
                 }
               });
  return out;
}

/// Drops size-1 dims of labels that are larger elsewhere (broadcast), then reduces to the
/// labels in `needed`, in order of first appearance.
template <typename T>
Operand<T> prepare(Operand<T> op, const std::vector<int>& needed,
                   const std::vector<int64_t>& label_size) {
  Operand<T> squeezed;
  squeezed.data = std::move(op.data);
  for (size_t d = 0; d < op.dims.size(); ++d) {
    if (op.dims[d] == 1 && label_size[static_cast<size_t>(op.labels[d])] != 1) continue;
    squeezed.dims.push_back(op.dims[d]);
    squeezed.labels.push_back(op.labels[d]);
  }
  std::vector<int> keep;
  for (int l : squeezed.labels)
    if (contains(needed, l) && !contains(keep, l)) keep.push_back(l);
  if (keep == squeezed.labels) return squeezed;  // nothing to sum, no diagonal
  return reduce(squeezed, keep, label_size);
}

/// Contracts a and b (distinct labels each) over their shared labels not in `keep`, as a
/// batched GEMM [batch, m, k] x [batch, k, n] -> [batch, m, n].
template <typename T>
Operand<T> contract(const Operand<T>& a, const Operand<T>& b, const std::vector<int>& keep,
                    const std::vector<int64_t>& label_size) {
  std::vector<int> batch, m, k, n;
  for (int l : a.labels) {
    if (contains(b.labels, l)) {
      (contains(keep, l) ? batch : k).push_back(l);
    } else {
      m.push_back(l);
    }
  }
  for (int l : b.labels)
    if (!contains(a.labels, l)) n.push_back(l);
  auto concat = [](std::vector<int> x, const std::vector<int>& y, const std::vector<int>& z) {
    x.insert(x.end(), y.begin(), y.end());
    x.insert(x.end(), z.begin(), z.end());
    return x;
  };
  auto size_of = [&](const std::vector<int>& ls) {
    int64_t s = 1;
    for (int l : ls) s *= label_size[static_cast<size_t>(l)];
    return s;
  };
  const std::vector<int> a_order = concat(batch, m, k), b_order = concat(batch, k, n);
  const Operand<T> ap = a.labels == a_order ? Operand<T>{} : reduce(a, a_order, label_size);
  const Operand<T> bp = b.labels == b_order ? Operand<T>{} : reduce(b, b_order, label_size);
  const T* ad = a.labels == a_order ? a.data.data() : ap.data.data();
  const T* bd = b.labels == b_order ? b.data.data() : bp.data.data();
  const int64_t nb = size_of(batch), nm = size_of(m), nk = size_of(k), nn = size_of(n);
  Operand<T> out;
  out.labels = concat(batch, m, n);
  for (int l : out.labels) out.dims.push_back(label_size[static_cast<size_t>(l)]);
  out.data.assign(static_cast<size_t>(nb * nm * nn), T(0));
  using G = nn::gemm_t<T>;
  const G* ag = reinterpret_cast<const G*>(ad);
  const G* bg = reinterpret_cast<const G*>(bd);
  G* og = reinterpret_cast<G*>(out.data.data());
  if (nb >= num_threads() || nm * nn * nk < (int64_t{1} << 18)) {
    // Many small products: one per thread.
    parallel_for(nb, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        nn::gemm<G>(false, false, nm, nn, nk, G(1), ag + i * nm * nk, nk, bg + i * nk * nn, nn,
                    og + i * nm * nn, nn, false);
      }
    });
  } else {
    for (int64_t i = 0; i < nb; ++i) {
      nn::gemm_parallel<G>(false, false, nm, nn, nk, G(1), ag + i * nm * nk, bg + i * nk * nn,
                           og + i * nm * nn, false);
    }
  }
  return out;
}

template <typename T>
Status einsum_typed(KernelContext& ctx, const std::vector<const Tensor*>& ins,
                    const nn::EinsumSpec& spec, const std::vector<int64_t>& label_size,
                    DType out_dtype) {
  // Integer products run in the unsigned type so that overflow wraps.
  using C = nn::gemm_t<T>;
  std::vector<Operand<C>> ops(ins.size());
  for (size_t i = 0; i < ins.size(); ++i) {
    const C* p = reinterpret_cast<const C*>(ins[i]->data<T>());
    ops[i].data.assign(p, p + ins[i]->numel());
    ops[i].dims = ins[i]->dims();
    ops[i].labels = spec.inputs[i];
  }
  // Labels still needed after operand i: the output's and those of later operands.
  auto needed_after = [&](size_t i) {
    std::vector<int> need = spec.output;
    for (size_t j = i + 1; j < ops.size(); ++j)
      need.insert(need.end(), spec.inputs[j].begin(), spec.inputs[j].end());
    return need;
  };
  std::vector<int> need0 = needed_after(0);
  if (ops.size() > 1) need0.insert(need0.end(), spec.inputs[1].begin(), spec.inputs[1].end());
  Operand<C> acc = prepare(std::move(ops[0]), need0, label_size);
  for (size_t i = 1; i < ops.size(); ++i) {
    const std::vector<int> keep = needed_after(i);
    std::vector<int> need_b = keep;
    need_b.insert(need_b.end(), acc.labels.begin(), acc.labels.end());
    Operand<C> b = prepare(std::move(ops[i]), need_b, label_size);
    std::vector<int> need_a = keep;
    need_a.insert(need_a.end(), b.labels.begin(), b.labels.end());
    acc = prepare(std::move(acc), need_a, label_size);
    acc = contract(acc, b, keep, label_size);
  }
  Dims out_dims;
  for (int l : spec.output) out_dims.push_back(label_size[static_cast<size_t>(l)]);
  // Also permutes into the output order (a label missing from acc would be broadcast).
  if (acc.labels != spec.output) acc = reduce(acc, spec.output, label_size);
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, out_dtype, out_dims));
  std::copy(acc.data.begin(), acc.data.end(), reinterpret_cast<C*>(y->data<T>()));
  return Status::ok();
}

}  // namespace

Status cpu_Einsum(KernelContext& ctx) {
  const Node& node = ctx.node;
  if (ctx.num_inputs() == 0) return node_error(node, "expects inputs");
  if (!node.has_attr("equation")) return node_error(node, "attribute equation is required");
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (!ctx.has_input(i)) return node_error(node, "input {} is missing", i);
  const DType dt = ctx.input(0).dtype();
  if (!is_floating(dt) && !is_integer(dt)) {
    return node_error(node, "dtype {} is not supported", dtype_name(dt));
  }
  std::vector<int64_t> ranks;
  std::vector<Dims> dims;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (ctx.input(i).dtype() != dt) {
      return node_error(node, "input {} has dtype {} but input 0 has {}", i,
                        dtype_name(ctx.input(i).dtype()), dtype_name(dt));
    }
    ranks.push_back(ctx.input(i).rank());
    dims.push_back(ctx.input(i).dims());
  }
  TARMAC_ASSIGN_OR_RETURN(nn::EinsumSpec spec,
                          nn::parse_einsum(node, node.attr_string("equation", ""), ranks));
  TARMAC_ASSIGN_OR_RETURN(auto sizes, nn::einsum_label_sizes(node, spec, dims));
  std::vector<Tensor> keep(ctx.num_inputs());
  std::vector<const Tensor*> ins;
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    ins.push_back(nn::compute_input(&ctx.input(i), &keep[i]));
  const DType cdt = nn::compute_dtype(dt);
  Status st = dispatch_all(cdt, [&](auto tag) -> Status {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> ||
                  std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t> ||
                  std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>) {
      return einsum_typed<T>(ctx, ins, spec, sizes, cdt);
    } else {
      return node_error(node, "dtype {} is not supported", dtype_name(dt));
    }
  });
  TARMAC_RETURN_IF_ERROR(st);
  nn::store_output(ctx, 0, dt);
  return Status::ok();
}

}  // namespace tarmac

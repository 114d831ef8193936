// Folds a constant-mode Pad into the Conv, AveragePool or MaxPool reading it: the Pad's spatial
// amounts are added to the consumer's own `pads` and the consumer reads the Pad's input.
//   Conv:        pad value 0 (the Conv pads with zeros).
//   AveragePool: pad value 0 and count_include_pad=1, or count_include_pad=0 with no padding
//                of its own (then the Pad's zeros are exactly the padding it must count, and
//                count_include_pad becomes 1).
//   MaxPool:     pad value -inf or the dtype's lowest value, Indices output unused, and no
//                window lying wholly in the padding (the kernel fills such windows differently).
// ceil_mode pools are left alone: a ceil-mode window starting in the Pad's end padding is kept,
// but dropped once that padding belongs to the pool.
#include <cmath>
#include <limits>

#include "passes/passes.h"
#include "passes/rewrite.h"

namespace tarmac {

namespace {

/// The Pad's amounts for every axis ([begin_0..begin_{r-1}, end_0..end_{r-1}]) and its fill
/// value, or why they are not known.
struct PadSpec {
  std::vector<int64_t> pads;
  double value = 0;
};

std::string read_pad(const PassContext& ctx, const Node& pad, int64_t rank, PadSpec* out) {
  const std::string mode = pad.attr_string("mode", "constant");
  if (mode != "constant") return fmt::format("mode is '{}', not 'constant'", mode);
  std::vector<int64_t> raw;
  if (ctx.opset() < 11) {
    const char* attr = ctx.opset() < 2 ? "paddings" : "pads";
    if (!pad.has_attr(attr)) return fmt::format("attribute '{}' is missing", attr);
    raw = pad.attr_ints(attr);
    out->value = pad.attr_float("value", 0.0f);
  } else {
    if (!pad.has_input(1)) return "input 'pads' is missing";
    const Tensor* p = constant_of(pad.inputs[1]);
    if (!p) return fmt::format("pads '{}' are not constant", pad.inputs[1]->name);
    raw = p->to_int64_vector();
    if (pad.has_input(2)) {
      const Tensor* v = constant_of(pad.inputs[2]);
      if (!v) return fmt::format("constant_value '{}' is not constant", pad.inputs[2]->name);
      if (v->numel() > 1) return "constant_value has more than one element";
      out->value = v->numel() == 0 ? 0.0 : v->as_double(0);
    }
  }
  std::vector<int64_t> axes;
  if (ctx.opset() >= 18 && pad.has_input(3)) {
    const Tensor* a = constant_of(pad.inputs[3]);
    if (!a) return fmt::format("axes '{}' are not constant", pad.inputs[3]->name);
    for (int64_t ax : a->to_int64_vector()) {
      if (ax < -rank || ax >= rank) return fmt::format("axis {} is out of range", ax);
      ax = ax < 0 ? ax + rank : ax;
      if (std::find(axes.begin(), axes.end(), ax) != axes.end())
        return fmt::format("axis {} is given twice", ax);
      axes.push_back(ax);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  if (raw.size() != 2 * axes.size())
    return fmt::format("pads has {} values for {} axes", raw.size(), axes.size());
  out->pads.assign(static_cast<size_t>(2 * rank), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    out->pads[static_cast<size_t>(axes[i])] = raw[i];
    out->pads[static_cast<size_t>(axes[i] + rank)] = raw[i + axes.size()];
  }
  return {};
}

/// The lowest finite value of a floating dtype (what a max pool could pad with instead of -inf).
double lowest_of(DType t) {
  switch (t) {
    case DType::kFloat32:
      return std::numeric_limits<float>::lowest();
    case DType::kFloat64:
      return std::numeric_limits<double>::lowest();
    case DType::kFloat16:
      return -65504.0;
    case DType::kBFloat16:
      return -3.3895313892515355e38;
    default:
      return std::nan("");
  }
}

/// True when every output window of `pool` over an input of spatial dims `in`, padded by
/// `pads`, has at least one tap inside the input. Needs static input and output dims.
bool no_empty_window(const Node& pool, const Dims& in, const Dims& out,
                     const std::vector<int64_t>& pads) {
  const size_t nsp = in.size();
  const Dims kernel = pool.attr_ints("kernel_shape");
  const Dims strides = pool.attr_ints("strides", Dims(nsp, 1));
  const Dims dilations = pool.attr_ints("dilations", Dims(nsp, 1));
  if (kernel.size() != nsp || strides.size() != nsp || dilations.size() != nsp) return false;
  for (size_t ax = 0; ax < nsp; ++ax) {
    for (int64_t o = 0; o < out[ax]; ++o) {
      const int64_t start = o * strides[ax] - pads[ax];
      bool any = false;
      for (int64_t k = 0; k < kernel[ax] && !any; ++k) {
        const int64_t i = start + k * dilations[ax];
        any = i >= 0 && i < in[ax];
      }
      if (!any) return false;
    }
  }
  return true;
}

class PadFoldingPass final : public Pass {
 public:
  std::string_view name() const override { return "pad_folding"; }

  Status run(PassContext& ctx) override {
    for (Node* pad : ctx.live_nodes()) {
      if (pad->op_type != "Pad" || !pad->domain.empty() || pad->outputs.empty() ||
          !pad->outputs[0] || !pad->has_input(0))
        continue;
      Value* padded = pad->outputs[0];
      Node* consumer = nullptr;
      for (Node* c : padded->consumers)
        if (is_target(*c) && c->has_input(0) && c->inputs[0] == padded) consumer = c;
      if (!consumer) continue;
      const std::string pair =
          fmt::format("{} + {} not folded: ", pad->describe(), consumer->describe());
      const std::string why = try_fold(ctx, pad, consumer);
      if (!why.empty()) ctx.skip(pair + why);
    }
    return Status::ok();
  }

 private:
  static bool is_target(const Node& n) {
    if (n.op_type == "Conv") return n.domain.empty() || is_internal_node(n);
    return (n.op_type == "AveragePool" || n.op_type == "MaxPool") && n.domain.empty();
  }

  /// Folds `pad` into `c`; returns why not (changing nothing) or empty on success.
  static std::string try_fold(PassContext& ctx, Node* pad, Node* c) {
    Value* padded = pad->outputs[0];
    if (sole_consumer(padded) != c) {
      if (padded->is_graph_output) return fmt::format("{}'s output is a graph output", pad->name);
      return fmt::format("{}'s output has {} consumers", pad->name, num_uses(padded));
    }
    for (size_t i = 1; i < c->inputs.size(); ++i)
      if (c->inputs[i] == padded) return fmt::format("{} also reads the padded tensor", c->name);
    const Value* x = pad->inputs[0];
    if (!x->type.has_shape) return "the Pad's input rank is unknown";
    const int64_t rank = x->type.rank();
    if (rank < 3) return fmt::format("the Pad's input has rank {}, no spatial axes", rank);
    PadSpec spec;
    std::string why = read_pad(ctx, *pad, rank, &spec);
    if (!why.empty()) return why;
    const auto r = static_cast<size_t>(rank);
    for (int64_t v : spec.pads)
      if (v < 0) return fmt::format("pads [{}] are negative (cropping)", fmt::join(spec.pads, ","));
    if (spec.pads[0] != 0 || spec.pads[1] != 0 || spec.pads[r] != 0 || spec.pads[r + 1] != 0)
      return fmt::format("pads [{}] pad the batch or channel axis", fmt::join(spec.pads, ","));

    const size_t nsp = r - 2;
    const std::string auto_pad = c->attr_string("auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "" && auto_pad != "VALID")
      return fmt::format("{} has auto_pad {}", c->name, auto_pad);
    const bool valid = auto_pad == "VALID";
    std::vector<int64_t> own = valid ? std::vector<int64_t>(2 * nsp, 0)
                                     : c->attr_ints("pads", std::vector<int64_t>(2 * nsp, 0));
    if (own.size() != 2 * nsp)
      return fmt::format("{} has {} pads for {} spatial axes", c->name, own.size(), nsp);
    std::vector<int64_t> fused(2 * nsp);
    for (size_t i = 0; i < nsp; ++i) {
      fused[i] = own[i] + spec.pads[2 + i];
      fused[i + nsp] = own[i + nsp] + spec.pads[r + 2 + i];
    }

    bool set_count_include_pad = false;
    if (c->op_type == "Conv") {
      if (spec.value != 0) return fmt::format("pad value {} is not 0", spec.value);
    } else {
      if (c->attr_int("ceil_mode", 0) != 0)
        return fmt::format(
            "{} has ceil_mode=1; windows overhanging the end would change once the padding "
            "moves into the pool",
            c->name);
      if (c->op_type == "AveragePool") {
        if (spec.value != 0) return fmt::format("pad value {} is not 0", spec.value);
        const bool include = ctx.opset() >= 7 && c->attr_int("count_include_pad", 0) != 0;
        if (!include) {
          bool own_zero = true;
          for (int64_t v : own) own_zero = own_zero && v == 0;
          if (!own_zero)
            return fmt::format(
                "{} has count_include_pad=0 and pads of its own; the Pad's zeros count toward "
                "the average but its own padding does not",
                c->name);
          if (ctx.opset() < 7) return "count_include_pad needs opset 7";
          set_count_include_pad = true;
        }
      } else {  // MaxPool
        const double lowest = lowest_of(x->type.dtype);
        if (!(spec.value == -std::numeric_limits<double>::infinity() || spec.value == lowest))
          return fmt::format("pad value {} is not -inf", spec.value);
        if (c->outputs.size() > 1 && c->outputs[1] && num_uses(c->outputs[1]) > 0)
          return fmt::format("{}'s Indices output is used", c->name);
        const Value* y = c->outputs[0];
        if (!shape_is_static(x->type.shape) || !y || !y->type.has_shape ||
            !shape_is_static(y->type.shape) || y->type.rank() != rank)
          return "shapes are not static, so windows lying wholly in the padding cannot be ruled "
                 "out";
        const Dims in = static_dims(x->type.shape), out = static_dims(y->type.shape);
        if (!no_empty_window(*c, Dims(in.begin() + 2, in.end()), Dims(out.begin() + 2, out.end()),
                             fused))
          return "some window would lie wholly in the padding";
      }
    }

    const std::string pad_desc = pad->describe(), c_desc = c->describe();
    Attribute& pads_attr = c->attrs["pads"];
    pads_attr = Attribute();
    pads_attr.kind = Attribute::Kind::kInts;
    pads_attr.ints = fused;
    if (valid) c->attrs.erase("auto_pad");
    if (set_count_include_pad) {
      c->attrs["count_include_pad"] = Attribute();
      c->attrs["count_include_pad"].kind = Attribute::Kind::kInt;
      c->attrs["count_include_pad"].i = 1;
    }
    set_input(c, 0, pad->inputs[0]);
    c->name = fused_name(*pad, *c);
    ctx.remove(pad);
    ctx.rewrite(fmt::format("folded {} into {} (pads [{}]{})", pad_desc, c_desc,
                            fmt::join(fused, ","),
                            set_count_include_pad ? ", count_include_pad=1" : ""));
    return {};
  }
};

}  // namespace

std::unique_ptr<Pass> make_pad_folding_pass() { return std::make_unique<PadFoldingPass>(); }

}  // namespace tarmac

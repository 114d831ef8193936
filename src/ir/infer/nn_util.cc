#include "ir/infer/nn_util.h"

#include <algorithm>
#include <array>

namespace tarmac::nn {

namespace {

StatusOr<AutoPad> read_auto_pad(const Node& n) {
  const std::string s = n.attr_string("auto_pad", "NOTSET");
  if (s == "NOTSET" || s.empty()) return AutoPad::kNotSet;
  if (s == "SAME_UPPER") return AutoPad::kSameUpper;
  if (s == "SAME_LOWER") return AutoPad::kSameLower;
  if (s == "VALID") return AutoPad::kValid;
  return node_error(n, "auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", s);
}

/// Reads an ints attribute of `count` entries (default `dflt` each) whose values are >= `min`.
StatusOr<Dims> read_ints(const Node& n, const char* name, size_t count, int64_t dflt, int64_t min) {
  if (!n.has_attr(name)) return Dims(count, dflt);
  Dims v = n.attr_ints(name);
  if (v.size() != count) {
    return node_error(n, "attribute {} has {} values, expected {}", name, v.size(), count);
  }
  for (int64_t x : v) {
    if (x < min) return node_error(n, "attribute {} has value {}, expected >= {}", name, x, min);
  }
  return v;
}

}  // namespace

StatusOr<WindowAttrs> read_window_attrs(const Node& n, Dims kernel, WindowOptions opt) {
  WindowAttrs a;
  const size_t nsp = kernel.size();
  if (nsp == 0) return node_error(n, "expects at least one spatial axis");
  for (int64_t k : kernel) {
    if (k < 1) return node_error(n, "kernel size {} is not positive", k);
  }
  a.kernel = std::move(kernel);
  TARMAC_ASSIGN_OR_RETURN(a.auto_pad, read_auto_pad(n));
  TARMAC_ASSIGN_OR_RETURN(a.strides, read_ints(n, "strides", nsp, 1, 1));
  if (opt.dilations) {
    TARMAC_ASSIGN_OR_RETURN(a.dilations, read_ints(n, "dilations", nsp, 1, 1));
  } else {
    a.dilations.assign(nsp, 1);
  }
  a.pads_given = n.has_attr("pads");
  TARMAC_ASSIGN_OR_RETURN(a.pads, read_ints(n, "pads", 2 * nsp, 0, 0));
  if (opt.ceil_mode) {
    const int64_t c = n.attr_int("ceil_mode", 0);
    if (c != 0 && c != 1) return node_error(n, "ceil_mode is {}, expected 0 or 1", c);
    a.ceil_mode = c == 1;
  }
  if (opt.transpose) {
    TARMAC_ASSIGN_OR_RETURN(a.output_padding, read_ints(n, "output_padding", nsp, 0, 0));
    if (n.has_attr("output_shape")) {
      Dims s = n.attr_ints("output_shape");
      // Exporters write either the spatial extents or the full N, C, spatial shape.
      if (s.size() == nsp + 2) s.erase(s.begin(), s.begin() + 2);
      if (s.size() != nsp) {
        return node_error(n, "output_shape has {} values, expected {}", s.size(), nsp);
      }
      for (int64_t x : s) {
        if (x < 1) return node_error(n, "output_shape has value {}, expected >= 1", x);
      }
      a.output_shape = std::move(s);
    }
  }
  return a;
}

StatusOr<int64_t> window_output_size(const Node& n, const WindowAttrs& a, size_t axis, int64_t in,
                                     int64_t* pad_begin, int64_t* pad_end) {
  const size_t nsp = a.kernel.size();
  const int64_t s = a.strides[axis];
  const int64_t window = (a.kernel[axis] - 1) * a.dilations[axis] + 1;
  int64_t pb = 0, pe = 0;
  switch (a.auto_pad) {
    case AutoPad::kSameUpper:
    case AutoPad::kSameLower: {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + window - in);
      const int64_t small = total / 2;
      *pad_begin = a.auto_pad == AutoPad::kSameUpper ? small : total - small;
      *pad_end = total - *pad_begin;
      return out;
    }
    case AutoPad::kValid:
      break;
    case AutoPad::kNotSet:
      pb = a.pads[axis];
      pe = a.pads[axis + nsp];
      break;
  }
  const int64_t span = in + pb + pe - window;
  if (span < 0) {
    return node_error(n, "spatial axis {} has size {} (padded {}), smaller than the window {}",
                      axis, in, in + pb + pe, window);
  }
  int64_t out = (a.ceil_mode ? (span + s - 1) / s : span / s) + 1;
  // A ceil-mode window that would start in the end padding is dropped.
  if (a.ceil_mode && (out - 1) * s >= in + pb) --out;
  *pad_begin = pb;
  *pad_end = pe;
  return out;
}

StatusOr<int64_t> conv_transpose_output_size(const Node& n, const WindowAttrs& a, size_t axis,
                                             int64_t in, int64_t* pad_begin, int64_t* pad_end) {
  const size_t nsp = a.kernel.size();
  const int64_t s = a.strides[axis];
  const int64_t window = (a.kernel[axis] - 1) * a.dilations[axis] + 1;
  const int64_t full = s * (in - 1) + a.output_padding[axis] + window;
  const bool same = a.auto_pad == AutoPad::kSameUpper || a.auto_pad == AutoPad::kSameLower;
  if (!a.output_shape.empty() || same) {
    const int64_t out = a.output_shape.empty() ? in * s : a.output_shape[axis];
    // A requested output larger than the full one is padded at the end with bias-only values.
    const int64_t total = std::max<int64_t>(0, full - out);
    const int64_t small = total / 2;
    *pad_begin = a.auto_pad == AutoPad::kSameUpper ? small : total - small;
    *pad_end = total - *pad_begin;
    return out;
  }
  int64_t pb = 0, pe = 0;
  if (a.auto_pad == AutoPad::kNotSet) {
    pb = a.pads[axis];
    pe = a.pads[axis + nsp];
  }
  const int64_t out = full - pb - pe;
  if (out < 1) {
    return node_error(n, "spatial axis {}: pads {} and {} leave no output (full size {})", axis, pb,
                      pe, full);
  }
  *pad_begin = pb;
  *pad_end = pe;
  return out;
}

// ---- Einsum ----

namespace {

constexpr int kEllipsis = -1;

/// One subscript term as letters (ASCII codes) and at most one kEllipsis marker.
StatusOr<std::vector<int>> parse_term(const Node& n, const std::string& t) {
  std::vector<int> out;
  bool ellipsis = false;
  for (size_t i = 0; i < t.size();) {
    const char c = t[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      out.push_back(c);
      ++i;
    } else if (c == '.') {
      if (t.compare(i, 3, "...") != 0) {
        return node_error(n, "equation term '{}' has a '.' outside an ellipsis '...'", t);
      }
      if (ellipsis) return node_error(n, "equation term '{}' has more than one ellipsis", t);
      ellipsis = true;
      out.push_back(kEllipsis);
      i += 3;
    } else {
      return node_error(n, "equation term '{}' has invalid character '{}'", t, c);
    }
  }
  return out;
}

}  // namespace

StatusOr<EinsumSpec> parse_einsum(const Node& n, const std::string& equation,
                                  const std::vector<int64_t>& ranks) {
  std::string eq;
  for (char c : equation)
    if (c != ' ' && c != '\t') eq.push_back(c);
  const size_t arrow = eq.find("->");
  if (arrow != std::string::npos && eq.find("->", arrow + 2) != std::string::npos) {
    return node_error(n, "equation '{}' has more than one '->'", equation);
  }
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::vector<int>> terms;
  size_t start = 0;
  while (true) {
    const size_t comma = lhs.find(',', start);
    const std::string t = lhs.substr(start, comma == std::string::npos ? comma : comma - start);
    TARMAC_ASSIGN_OR_RETURN(auto term, parse_term(n, t));
    terms.push_back(std::move(term));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != ranks.size()) {
    return node_error(n, "equation '{}' has {} input terms but the node has {} inputs", equation,
                      terms.size(), ranks.size());
  }
  // Ellipsis dims: as many as the widest input's ellipsis covers.
  int64_t num_ell = 0;
  std::vector<int64_t> ell_dims(terms.size(), 0);
  bool any_ellipsis = false;
  std::array<int, 128> count{};
  for (size_t i = 0; i < terms.size(); ++i) {
    int64_t letters = 0;
    bool has_ell = false;
    for (int c : terms[i]) {
      if (c == kEllipsis) {
        has_ell = true;
      } else {
        ++letters;
        ++count[static_cast<size_t>(c)];
      }
    }
    const int64_t rank = ranks[i] < 0 ? letters : ranks[i];
    if (has_ell ? rank < letters : rank != letters) {
      return node_error(n, "equation term {} has {} subscripts{} but input {} has rank {}", i,
                        letters, has_ell ? " and an ellipsis" : "", i, rank);
    }
    any_ellipsis |= has_ell;
    if (has_ell) ell_dims[i] = rank - letters;
    num_ell = std::max(num_ell, ell_dims[i]);
  }
  EinsumSpec spec;
  std::array<int, 128> label_of{};
  label_of.fill(-1);
  int next = static_cast<int>(num_ell);
  for (int c = 0; c < 128; ++c)
    if (count[static_cast<size_t>(c)] > 0) label_of[static_cast<size_t>(c)] = next++;
  spec.num_labels = next;
  for (size_t i = 0; i < terms.size(); ++i) {
    std::vector<int> labels;
    for (int c : terms[i]) {
      if (c == kEllipsis) {
        for (int64_t e = num_ell - ell_dims[i]; e < num_ell; ++e)
          labels.push_back(static_cast<int>(e));
      } else {
        labels.push_back(label_of[static_cast<size_t>(c)]);
      }
    }
    spec.inputs.push_back(std::move(labels));
  }
  if (arrow == std::string::npos) {
    // Implicit output: the ellipsis dims, then letters seen once, in ASCII order.
    for (int64_t e = 0; e < num_ell; ++e) spec.output.push_back(static_cast<int>(e));
    for (int c = 0; c < 128; ++c)
      if (count[static_cast<size_t>(c)] == 1)
        spec.output.push_back(label_of[static_cast<size_t>(c)]);
    return spec;
  }
  TARMAC_ASSIGN_OR_RETURN(auto out_term, parse_term(n, eq.substr(arrow + 2)));
  std::vector<bool> used(static_cast<size_t>(spec.num_labels), false);
  bool out_ellipsis = false;
  for (int c : out_term) {
    if (c == kEllipsis) {
      out_ellipsis = true;
      for (int64_t e = 0; e < num_ell; ++e) spec.output.push_back(static_cast<int>(e));
      continue;
    }
    const int l = label_of[static_cast<size_t>(c)];
    if (l < 0) {
      return node_error(n, "equation '{}': output subscript '{}' is not in any input", equation,
                        static_cast<char>(c));
    }
    if (used[static_cast<size_t>(l)]) {
      return node_error(n, "equation '{}': output subscript '{}' appears twice", equation,
                        static_cast<char>(c));
    }
    used[static_cast<size_t>(l)] = true;
    spec.output.push_back(l);
  }
  if (out_ellipsis && !any_ellipsis) {
    return node_error(n, "equation '{}' has an ellipsis in the output only", equation);
  }
  if (num_ell > 0 && !out_ellipsis) {
    return node_error(n, "equation '{}': inputs have ellipsis dims but the output has no '...'",
                      equation);
  }
  return spec;
}

StatusOr<std::vector<int64_t>> einsum_label_sizes(const Node& n, const EinsumSpec& spec,
                                                  const std::vector<Dims>& dims) {
  std::vector<int64_t> size(static_cast<size_t>(spec.num_labels), -2);  // -2: not seen
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    for (size_t d = 0; d < spec.inputs[i].size(); ++d) {
      const int64_t v = dims[i][d];
      int64_t& s = size[static_cast<size_t>(spec.inputs[i][d])];
      if (v < 0) {
        if (s == -2 || s == 1) s = -1;  // an unknown dim may be the non-broadcast one
      } else if (s == -2 || s == 1) {
        s = v;
      } else if (s == -1) {
        if (v != 1) s = v;
      } else if (v != s && v != 1) {
        return node_error(n, "input {} dim {} has size {} but its subscript has size {}", i, d, v,
                          s);
      }
    }
  }
  for (int64_t& s : size)
    if (s == -2) s = 1;
  return size;
}

}  // namespace tarmac::nn

#include "compare/report.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace tarmac::compare {
namespace {

constexpr const char* kIndent = "    ";
constexpr const char* kTableIndent = "        ";
constexpr int64_t kBarWidth = 30;

std::string nonfinite_text(double v) {
  if (std::isnan(v)) return "nan";
  return v > 0 ? "inf" : "-inf";
}

std::string shape_text(const Dims& dims) { return fmt::format("[{}]", fmt::join(dims, ", ")); }

std::string summary_text(const Summary& s, const Dims& dims) {
  std::string out;
  if (s.count == 0) {
    out = "no values (empty tensor)";
  } else if (s.finite == 0) {
    out = "no finite values";
  } else {
    out = fmt::format(
        "mean={} std-dev={} var={} median={} min={} at {} max={} at {} avg-magnitude={} p90={} "
        "p95={} p99={}",
        format_number(s.mean), format_number(s.std_dev), format_number(s.var),
        format_number(s.median), format_number(s.min), index_text(dims, s.argmin),
        format_number(s.max), index_text(dims, s.argmax), format_number(s.avg_magnitude),
        format_number(s.p90), format_number(s.p95), format_number(s.p99));
  }
  // Counted here rather than in the statistics so a handful of NaNs stays visible without
  // wiping out every number above.
  if (s.nan > 0) out.append(fmt::format(" nan={}", s.nan));
  if (s.pos_inf + s.neg_inf > 0) out.append(fmt::format(" inf={}", s.pos_inf + s.neg_inf));
  return out;
}

std::string bar(int64_t count, int64_t largest) {
  if (count <= 0 || largest <= 0) return "";
  // Rounded, but never to nothing: an almost empty bin must still differ from an empty one.
  const int64_t len = std::max<int64_t>(1, (count * kBarWidth + largest / 2) / largest);
  return std::string(static_cast<size_t>(len), '#');
}

// Bin bounds as "[lo, hi)", the last one closed, all padded to the same width.
std::vector<std::string> bin_labels(const Histogram& h, size_t bins) {
  std::vector<std::string> labels;
  const double width = (h.hi - h.lo) / static_cast<double>(bins);
  for (size_t b = 0; b < bins; ++b) {
    const double lo = h.lo + width * static_cast<double>(b);
    const double hi = b + 1 == bins ? h.hi : h.lo + width * static_cast<double>(b + 1);
    labels.push_back(
        fmt::format("[{}, {}{}", format_number(lo), format_number(hi), b + 1 == bins ? "]" : ")"));
  }
  size_t widest = 0;
  for (const std::string& l : labels) widest = std::max(widest, l.size());
  for (std::string& l : labels) l.resize(widest, ' ');
  return labels;
}

int64_t largest_count(const Histogram& h) {
  int64_t m = 0;
  for (int64_t v : h.test) m = std::max(m, v);
  for (int64_t v : h.ref) m = std::max(m, v);
  return m;
}

// One row per bin: the bounds, a count column per side, then a bar per side in columns of
// fixed width so the two distributions can be read off side by side.
void append_histogram(std::vector<std::string>& lines, const std::string& title, const Histogram& h,
                      const std::string& test_label, const std::string& ref_label) {
  const size_t bins = h.test.size();
  if (bins == 0) {
    lines.push_back(fmt::format("{}{}: no finite values", kIndent, title));
    return;
  }
  const bool two_sided = h.ref.size() == bins;
  lines.push_back(fmt::format("{}{} ({} bin{} over [{}, {}]):", kIndent, title, bins,
                              bins == 1 ? "" : "s", format_number(h.lo), format_number(h.hi)));
  const std::vector<std::string> labels = bin_labels(h, bins);
  const int64_t largest = largest_count(h);
  const size_t count_width = std::max(
      {test_label.size(), two_sided ? ref_label.size() : 0, fmt::formatted_size("{}", largest)});
  std::string header = fmt::format("{}{:<{}}  {:>{}}", kTableIndent, "bin", labels[0].size(),
                                   test_label, count_width);
  if (two_sided) header.append(fmt::format("  {:>{}}", ref_label, count_width));
  lines.push_back(std::move(header));
  for (size_t b = 0; b < bins; ++b) {
    std::string row = fmt::format("{}{}  {:>{}}", kTableIndent, labels[b], h.test[b], count_width);
    if (two_sided) {
      row.append(fmt::format("  {:>{}}  {:<{}}  {}", h.ref[b], count_width, bar(h.test[b], largest),
                             kBarWidth, bar(h.ref[b], largest)));
    } else {
      row.append(fmt::format("  {}", bar(h.test[b], largest)));
    }
    while (!row.empty() && row.back() == ' ') row.pop_back();
    lines.push_back(std::move(row));
  }
}

double overall_max(const Summary& s) {
  if (s.pos_inf > 0) return std::numeric_limits<double>::infinity();
  return s.finite > 0 ? s.max : 0.0;
}

std::string percent_text(int64_t part, int64_t whole) {
  if (whole == 0) return "0%";
  return fmt::format("{}%",
                     format_number(100.0 * static_cast<double>(part) / static_cast<double>(whole)));
}

}  // namespace

std::string format_number(double v) {
  if (!std::isfinite(v)) return nonfinite_text(v);
  return fmt::format("{:.3g}", v);
}

std::string format_bound(double v) {
  if (!std::isfinite(v)) return nonfinite_text(v);
  if (v <= 0) return "0";
  // Four significant digits, rounded up so that the printed bound still passes.
  const double unit = std::pow(10.0, std::floor(std::log10(v)) - 3);
  double q = v / unit;
  const double nearest = std::nearbyint(q);
  q = std::fabs(q - nearest) <= 1e-9 * q ? nearest : std::ceil(q);  // 1e-5 / 1e-8 is not 1000
  double up = q * unit;
  for (int i = 0; i < 3; ++i) {
    std::string s = fmt::format("{:.4g}", up);
    if (std::strtod(s.c_str(), nullptr) >= v) return s;
    up += unit;  // the decimal form rounded below v
  }
  return fmt::format("{:.17g}", v);
}

std::string format_value(double v) {
  if (!std::isfinite(v)) return nonfinite_text(v);
  return fmt::format("{:.9g}", v);
}

std::vector<std::string> format_comparison(const TensorComparison& c, const CheckOptions& o,
                                           const std::string& test_label,
                                           const std::string& ref_label) {
  std::vector<std::string> lines;
  const std::string shape = shape_text(c.dims);
  const std::string check = check_name(o);
  lines.push_back(fmt::format("Comparing output '{}' ({}: {} {}) with ({}: {} {})", c.name,
                              test_label, dtype_name(c.test_dtype), shape, ref_label,
                              dtype_name(c.ref_dtype), shape));
  lines.push_back(fmt::format("{}Tolerance: atol={} rtol={}, check: {}", kIndent,
                              format_value(o.tol.atol), format_value(o.tol.rtol), check));
  lines.push_back(
      fmt::format("{}{} values: {}", kIndent, test_label, summary_text(c.test, c.dims)));
  lines.push_back(fmt::format("{}{} values: {}", kIndent, ref_label, summary_text(c.ref, c.dims)));
  if (o.histogram && c.test.count > 0) {
    append_histogram(lines, "Histogram of values", c.values, test_label, ref_label);
  }
  lines.push_back(
      fmt::format("{}Absolute difference: {}", kIndent, summary_text(c.abs_diff, c.dims)));
  lines.push_back(
      fmt::format("{}Relative difference: {}", kIndent, summary_text(c.rel_diff, c.dims)));
  if (o.histogram && c.abs_diff.count > 0) {
    append_histogram(lines, "Histogram of absolute differences", c.abs_hist, "count", "");
  }
  const int64_t n = c.test.count;
  if (o.stat == ErrorStat::kElemwise) {
    lines.push_back(fmt::format(
        "{}Minimum required tolerance (elemwise): atol={} or rtol={} (either one alone passes "
        "every element)",
        kIndent, format_bound(c.required_atol), format_bound(c.required_rtol)));
  } else {
    lines.push_back(fmt::format(
        "{}Minimum required tolerance ({}): atol={} or rtol={} (the {} of the absolute and "
        "relative differences; either one alone passes)",
        kIndent, check, format_bound(c.required_atol), format_bound(c.required_rtol), check));
  }
  std::string mismatched = fmt::format("{}Mismatched elements: {} of {} ({})", kIndent,
                                       c.mismatches, n, percent_text(c.mismatches, n));
  // Statistic checks do not look at single elements; say so before users read it as a verdict.
  if (o.stat != ErrorStat::kElemwise) {
    mismatched.append(fmt::format(", counted elementwise; the check uses the {}", check));
  }
  lines.push_back(std::move(mismatched));
  if (c.nonfinite_mismatches > 0) {
    lines.push_back(fmt::format("{}Non-finite mismatches: {} (first at {})", kIndent,
                                c.nonfinite_mismatches, index_text(c.dims, c.first_nonfinite)));
  }
  if (c.worst_index >= 0) {
    lines.push_back(fmt::format("{}Largest difference at {}: test={} reference={} (abs={} rel={})",
                                kIndent, index_text(c.dims, c.worst_index),
                                format_value(c.worst_test), format_value(c.worst_ref),
                                format_number(c.worst_abs), format_number(c.worst_rel)));
  }
  if (c.passed) {
    lines.push_back(fmt::format("PASSED | output '{}' | difference within atol={} rtol={} ({})",
                                c.name, format_value(o.tol.atol), format_value(o.tol.rtol), check));
  } else {
    lines.push_back(fmt::format("FAILED | output '{}' | {}", c.name, c.reason));
  }
  return lines;
}

std::string format_layer_line(const TensorComparison& c) {
  return fmt::format("{:<40} {:<20} max-abs={:<9} max-rel={:<9} required atol={:<9} rtol={:<9} {}",
                     c.name, shape_text(c.dims), format_number(overall_max(c.abs_diff)),
                     format_number(overall_max(c.rel_diff)), format_bound(c.required_atol),
                     format_bound(c.required_rtol), c.passed ? "PASS" : "FAIL");
}

}  // namespace tarmac::compare

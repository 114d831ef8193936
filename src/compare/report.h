// The text report of `tarmac compare`: one block per output, in the layout Polygraphy's `run`
// comparison users know (statistics, minimum required tolerance, PASSED/FAILED line).
//   CheckOptions o;
//   auto c = compare_tensors("logits", test, ref, o);
//   for (const std::string& line : format_comparison(*c, o, "cuda fp16", "cpu fp64 reference"))
//     std::puts(line.c_str());
#pragma once

#include <string>
#include <vector>

#include "compare/error_stats.h"

namespace tarmac::compare {

/// The full per-output block as lines without trailing newlines. `test_label` / `ref_label`
/// name the two sides (e.g. "cuda fp16", "cpu fp64 reference"). The last line is exactly
/// "PASSED | output 'NAME' | difference within atol=.. rtol=.. (CHECK)" or
/// "FAILED | output 'NAME' | REASON".
std::vector<std::string> format_comparison(const TensorComparison& c, const CheckOptions& o,
                                           const std::string& test_label,
                                           const std::string& ref_label);

/// One line for per-layer tables: name, shape, max abs, max rel, required tolerance, PASS/FAIL.
std::string format_layer_line(const TensorComparison& c);

/// "%.3g"-style number used for statistics throughout the report ("1.23e-05", "0.5");
/// "inf", "-inf" and "nan" for non-finite values.
std::string format_number(double v);

/// The shortest "%.Ng" form (N >= 3) that is not below v, so a printed minimum tolerance
/// passes when pasted back as the tolerance.
std::string format_bound(double v);

/// Nine significant digits (round-trips float32): element values and user-given settings.
std::string format_value(double v);

}  // namespace tarmac::compare

// Text table and JSON for a 3D detection evaluation report (docs/eval3d.md, "Output").
//   std::printf("%s", format_eval3d_table(report).c_str());
//   std::string json = eval3d_report_json(report);
#pragma once

#include <string>

#include "perception/eval/evaluate.h"

namespace tarmac {

/// One row per class and range (all distances, then each bin), then the mean over classes:
/// class, IoU threshold, range, #GT, #pred, AP_BEV and AP_3D in percent ("-" without ground
/// truth).
std::string format_eval3d_table(const Eval3dReport& report);

/// The report as JSON: the same numbers (AP as fractions in [0, 1]) plus, per class, range and
/// IoU kind, the precision/recall curve and the 40 interpolated precisions.
std::string eval3d_report_json(const Eval3dReport& report);

}  // namespace tarmac

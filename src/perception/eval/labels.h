// Ground-truth and prediction files for 3D detection evaluation (docs/eval3d.md).
//   auto gt = read_gt_folder("data/labels");          // <stem>.txt (+ optional <stem>.counts)
//   auto pred = read_predictions("out/results.json");  // a folder of <stem>.txt or one JSON file
//   auto frames = pair_frames(*gt, *pred);
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "perception/box3d.h"

namespace tarmac {

/// One box of a label or prediction file with its class name.
struct LabeledBox {
  Box3d box;
  std::string cls;
  float score = 1.f;
  /// Ground truth only: the box holds no lidar point (its `.counts` entry is 0), so it is a
  /// "don't care" region: it is not counted as a ground truth and a prediction matching it is
  /// neither a true nor a false positive.
  bool ignored = false;
};

/// One frame: its ground truth and its predictions.
struct FrameLabels {
  std::string name;  // the file stem, e.g. "000042"
  std::vector<LabeledBox> gt;
  std::vector<LabeledBox> pred;
};

/// Parses label text, one box per line: `x y z dx dy dz heading class` (ground truth) or
/// `x y z dx dy dz heading class score` (`with_score`, predictions). Blank lines are skipped.
/// `source` names the file in error messages ("gt/000001.txt:3: ...").
StatusOr<std::vector<LabeledBox>> parse_label_text(const std::string& text,
                                                   const std::string& source, bool with_score);

/// Parses a `.counts` file (one non-negative integer per non-blank line) and marks the boxes
/// with a count of 0 as ignored. The number of counts must equal the number of boxes.
Status apply_point_counts(const std::string& text, const std::string& source,
                          std::vector<LabeledBox>* boxes);

/// Reads every `<stem>.txt` of a ground-truth folder, with `<stem>.counts` where present.
/// Keyed by stem. Files with other extensions are skipped; a folder without any `.txt` file and
/// a `.counts` file without its `.txt` file are errors.
StatusOr<std::map<std::string, std::vector<LabeledBox>>> read_gt_folder(const std::string& dir);

/// Parses the JSON results schema
/// `{"frames":[{"frame":"000000","boxes":[{"x":..,"y":..,"z":..,"dx":..,"dy":..,"dz":..,
///   "heading":..,"score":..,"label":"Car"}]}]}`.
StatusOr<std::map<std::string, std::vector<LabeledBox>>> parse_prediction_json(
    const std::string& text, const std::string& source);

/// Reads predictions from a folder of `<stem>.txt` files or from one JSON results file.
StatusOr<std::map<std::string, std::vector<LabeledBox>>> read_predictions(const std::string& path);

/// Joins ground truth and predictions by frame, in stem order. A ground-truth frame without
/// predictions has none; predictions for a frame without ground truth are an error.
StatusOr<std::vector<FrameLabels>> pair_frames(std::map<std::string, std::vector<LabeledBox>> gt,
                                               std::map<std::string, std::vector<LabeledBox>> pred);

/// Reads a whole text file. A missing file, a folder or an unreadable file is an error.
StatusOr<std::string> read_text_file(const std::string& path);

}  // namespace tarmac

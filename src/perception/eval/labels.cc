// Label and prediction file readers (docs/eval3d.md, "Files").
#include "perception/eval/labels.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace tarmac {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFieldNames[] = {"x", "y", "z", "dx", "dy", "dz", "heading"};

std::vector<std::string_view> split_whitespace(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

/// Calls `fn(line_number, line)` for every non-blank line (1-based numbers).
template <typename Fn>
Status for_each_line(const std::string& text, Fn&& fn) {
  size_t pos = 0;
  int number = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++number;
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (split_whitespace(line).empty()) continue;
    TARMAC_RETURN_IF_ERROR(fn(number, line));
  }
  return Status::ok();
}

bool parse_float(std::string_view token, float* value) {
  if (!token.empty() && token.front() == '+') token.remove_prefix(1);
  const char* end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, *value);
  return ec == std::errc() && ptr == end;
}

/// Checks the values every box must satisfy: finite numbers and positive sizes.
Status check_box(const LabeledBox& b, const std::string& where) {
  const float values[] = {b.box.x, b.box.y, b.box.z, b.box.dx, b.box.dy, b.box.dz, b.box.heading};
  for (int i = 0; i < 7; ++i)
    if (!std::isfinite(values[i]))
      return invalid_argument("{}: {} is {}, not a finite number", where, kFieldNames[i],
                              values[i]);
  for (int i = 3; i < 6; ++i)
    if (!(values[i] > 0))
      return invalid_argument("{}: {} is {}; box sizes must be positive", where, kFieldNames[i],
                              values[i]);
  if (!std::isfinite(b.score)) return invalid_argument("{}: score is not a finite number", where);
  if (b.cls.empty()) return invalid_argument("{}: empty class name", where);
  return Status::ok();
}

}  // namespace

StatusOr<std::string> read_text_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found("'{}' does not exist", path);
  if (!fs::is_regular_file(path, ec)) return invalid_argument("'{}' is not a regular file", path);
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error("cannot open '{}'", path);
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return io_error("cannot read '{}'", path);
  return ss.str();
}

StatusOr<std::vector<LabeledBox>> parse_label_text(const std::string& text,
                                                   const std::string& source, bool with_score) {
  const size_t columns = with_score ? 9 : 8;
  std::vector<LabeledBox> boxes;
  Status s = for_each_line(text, [&](int number, std::string_view line) -> Status {
    const std::string where = fmt::format("{}:{}", source, number);
    const auto tokens = split_whitespace(line);
    if (tokens.size() != columns)
      return invalid_argument("{}: {} columns, expected {} (x y z dx dy dz heading class{})", where,
                              tokens.size(), columns, with_score ? " score" : "");
    LabeledBox b;
    float v[7];
    for (int i = 0; i < 7; ++i)
      if (!parse_float(tokens[i], &v[i]))
        return invalid_argument("{}: {} '{}' is not a number", where, kFieldNames[i],
                                std::string(tokens[i]));
    b.box = Box3d{v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
    b.cls = std::string(tokens[7]);
    if (with_score && !parse_float(tokens[8], &b.score))
      return invalid_argument("{}: score '{}' is not a number", where, std::string(tokens[8]));
    TARMAC_RETURN_IF_ERROR(check_box(b, where));
    boxes.push_back(std::move(b));
    return Status::ok();
  });
  if (!s.is_ok()) return s;
  return boxes;
}

Status apply_point_counts(const std::string& text, const std::string& source,
                          std::vector<LabeledBox>* boxes) {
  std::vector<long long> counts;
  TARMAC_RETURN_IF_ERROR(for_each_line(text, [&](int number, std::string_view line) -> Status {
    const auto tokens = split_whitespace(line);
    long long n = -1;
    const char* end = tokens[0].data() + tokens[0].size();
    auto [ptr, ec] = std::from_chars(tokens[0].data(), end, n);
    if (tokens.size() != 1 || ec != std::errc() || ptr != end || n < 0)
      return invalid_argument("{}:{}: '{}' is not a non-negative point count", source, number,
                              std::string(line));
    counts.push_back(n);
    return Status::ok();
  }));
  if (counts.size() != boxes->size())
    return invalid_argument("{}: {} point counts for {} label lines", source, counts.size(),
                            boxes->size());
  for (size_t i = 0; i < counts.size(); ++i) (*boxes)[i].ignored = counts[i] == 0;
  return Status::ok();
}

StatusOr<std::map<std::string, std::vector<LabeledBox>>> read_gt_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return not_found("ground-truth folder '{}' does not exist", dir);
  if (!fs::is_directory(dir, ec)) return invalid_argument("ground truth '{}' is not a folder", dir);
  std::set<std::string> labels, counts;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    const fs::path& p = entry.path();
    if (p.extension() == ".txt") labels.insert(p.stem().string());
    if (p.extension() == ".counts") counts.insert(p.stem().string());
  }
  if (ec) return io_error("cannot list '{}': {}", dir, ec.message());
  if (labels.empty()) return not_found("ground-truth folder '{}' holds no .txt label file", dir);
  for (const std::string& stem : counts)
    if (!labels.count(stem))
      return invalid_argument("'{}' has no label file '{}.txt'",
                              (fs::path(dir) / (stem + ".counts")).string(), stem);
  std::map<std::string, std::vector<LabeledBox>> out;
  for (const std::string& stem : labels) {
    const std::string path = (fs::path(dir) / (stem + ".txt")).string();
    TARMAC_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
    TARMAC_ASSIGN_OR_RETURN(auto boxes, parse_label_text(text, path, /*with_score=*/false));
    if (counts.count(stem)) {
      const std::string cpath = (fs::path(dir) / (stem + ".counts")).string();
      TARMAC_ASSIGN_OR_RETURN(std::string ctext, read_text_file(cpath));
      TARMAC_RETURN_IF_ERROR(apply_point_counts(ctext, cpath, &boxes));
    }
    out.emplace(stem, std::move(boxes));
  }
  return out;
}

StatusOr<std::map<std::string, std::vector<LabeledBox>>> parse_prediction_json(
    const std::string& text, const std::string& source) {
  using nlohmann::json;
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    return invalid_argument("{}: not valid JSON: {}", source, e.what());
  }
  if (!doc.is_object() || !doc.contains("frames") || !doc["frames"].is_array())
    return invalid_argument("{}: expected an object with a \"frames\" array", source);
  std::map<std::string, std::vector<LabeledBox>> out;
  const json& frames = doc["frames"];
  for (size_t f = 0; f < frames.size(); ++f) {
    const json& frame = frames[f];
    const std::string fwhere = fmt::format("{}: frames[{}]", source, f);
    if (!frame.is_object() || !frame.contains("frame") || !frame["frame"].is_string())
      return invalid_argument("{}: expected an object with a string \"frame\"", fwhere);
    const std::string name = frame["frame"].get<std::string>();
    if (name.empty()) return invalid_argument("{}: empty frame name", fwhere);
    if (out.count(name)) return invalid_argument("{}: frame '{}' appears twice", fwhere, name);
    std::vector<LabeledBox>& boxes = out[name];
    if (!frame.contains("boxes")) continue;
    if (!frame["boxes"].is_array())
      return invalid_argument("{}: \"boxes\" is not an array", fwhere);
    const json& list = frame["boxes"];
    for (size_t i = 0; i < list.size(); ++i) {
      const json& jb = list[i];
      const std::string where = fmt::format("{}.boxes[{}]", fwhere, i);
      if (!jb.is_object()) return invalid_argument("{}: not an object", where);
      float v[8];
      static constexpr const char* kKeys[] = {"x", "y", "z", "dx", "dy", "dz", "heading", "score"};
      for (int k = 0; k < 8; ++k) {
        if (!jb.contains(kKeys[k])) return invalid_argument("{}: missing \"{}\"", where, kKeys[k]);
        if (!jb[kKeys[k]].is_number())
          return invalid_argument("{}: \"{}\" is not a number", where, kKeys[k]);
        v[k] = jb[kKeys[k]].get<float>();
      }
      if (!jb.contains("label") || !jb["label"].is_string())
        return invalid_argument("{}: \"label\" must be a class name string", where);
      LabeledBox b;
      b.box = Box3d{v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
      b.score = v[7];
      b.cls = jb["label"].get<std::string>();
      if (b.cls.find_first_of(" \t\r\n") != std::string::npos)
        return invalid_argument("{}: class name '{}' contains white space", where, b.cls);
      TARMAC_RETURN_IF_ERROR(check_box(b, where));
      boxes.push_back(std::move(b));
    }
  }
  return out;
}

StatusOr<std::map<std::string, std::vector<LabeledBox>>> read_predictions(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found("predictions '{}' does not exist", path);
  if (fs::is_regular_file(path, ec)) {
    if (fs::path(path).extension() != ".json")
      return invalid_argument(
          "predictions '{}' must be a folder of <frame>.txt files or a .json results file", path);
    TARMAC_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
    return parse_prediction_json(text, path);
  }
  if (!fs::is_directory(path, ec))
    return invalid_argument("predictions '{}' are neither a folder nor a file", path);
  std::set<std::string> stems;
  for (const auto& entry : fs::directory_iterator(path, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".txt")
      stems.insert(entry.path().stem().string());
  if (ec) return io_error("cannot list '{}': {}", path, ec.message());
  std::map<std::string, std::vector<LabeledBox>> out;
  for (const std::string& stem : stems) {
    const std::string file = (fs::path(path) / (stem + ".txt")).string();
    TARMAC_ASSIGN_OR_RETURN(std::string text, read_text_file(file));
    TARMAC_ASSIGN_OR_RETURN(auto boxes, parse_label_text(text, file, /*with_score=*/true));
    out.emplace(stem, std::move(boxes));
  }
  return out;
}

StatusOr<std::vector<FrameLabels>> pair_frames(
    std::map<std::string, std::vector<LabeledBox>> gt,
    std::map<std::string, std::vector<LabeledBox>> pred) {
  for (const auto& [name, boxes] : pred)
    if (!gt.count(name))
      return invalid_argument("predictions for frame '{}' have no ground-truth file '{}.txt'", name,
                              name);
  std::vector<FrameLabels> frames;
  frames.reserve(gt.size());
  for (auto& [name, boxes] : gt) {
    FrameLabels f;
    f.name = name;
    f.gt = std::move(boxes);
    auto it = pred.find(name);
    if (it != pred.end()) f.pred = std::move(it->second);
    frames.push_back(std::move(f));
  }
  return frames;
}

}  // namespace tarmac

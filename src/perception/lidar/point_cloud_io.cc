// Point-cloud readers. PCD follows the PCD v0.7 header layout: FIELDS / SIZE / TYPE / COUNT
// describe one record, WIDTH × HEIGHT records (POINTS repeats their product), DATA ends the
// header and the records follow on the next byte. Every size the file states is checked
// against the bytes present before anything is allocated for it.
#include "perception/lidar/point_cloud_io.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <new>
#include <stdexcept>
#include <system_error>

namespace tarmac::lidar {
namespace {

constexpr int64_t kMaxPcdFields = 4096;                   // FIELDS entries
constexpr int64_t kMaxPcdFieldCount = int64_t{1} << 20;   // COUNT of one field
constexpr int64_t kMaxPcdRecordBytes = int64_t{1} << 20;  // bytes of one binary record
constexpr size_t kMaxPcdHeaderLine = size_t{1} << 16;     // characters of one header line

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  const std::string_view tail = s.substr(s.size() - suffix.size());
  for (size_t i = 0; i < suffix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(tail[i])) != suffix[i]) return false;
  }
  return true;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    const size_t begin = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > begin) words.push_back(s.substr(begin, i - begin));
  }
  return words;
}

/// A line quoted in an error: printable characters only, at most 60 of them.
std::string quote_line(std::string_view line) {
  std::string out;
  for (char c : line.substr(0, 60)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  if (line.size() > 60) out += "...";
  return out;
}

/// A double as float: out-of-range magnitudes become ±Inf (a plain cast would be undefined).
float to_float(double d) {
  constexpr double kMax = std::numeric_limits<float>::max();
  if (d > kMax) return std::numeric_limits<float>::infinity();
  if (d < -kMax) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(d);  // NaN stays NaN
}

/// Appends one record, or counts it as dropped when any value is NaN or Inf.
void add_point(PointCloud* pc, float x, float y, float z, float intensity) {
  ++pc->points_read;
  if (!(std::isfinite(x) && std::isfinite(y) && std::isfinite(z) && std::isfinite(intensity))) {
    ++pc->dropped_nonfinite;
    return;
  }
  pc->xyzi.push_back(x);
  pc->xyzi.push_back(y);
  pc->xyzi.push_back(z);
  pc->xyzi.push_back(intensity);
}

StatusOr<PointCloud> parse_bin(std::string_view bytes, int floats_per_record, std::string_view kind,
                               const std::string& name) {
  const size_t record = static_cast<size_t>(floats_per_record) * sizeof(float);
  if (bytes.size() % record != 0) {
    return invalid_argument(
        "'{}': size {} bytes is not a multiple of the {} record size {} bytes ({} float32 per "
        "point)",
        name, bytes.size(), kind, record, floats_per_record);
  }
  const int64_t n = static_cast<int64_t>(bytes.size() / record);
  if (n > kMaxCloudPoints) {
    return resource_exhausted("'{}': {} points is more than the {} a point cloud may have", name, n,
                              kMaxCloudPoints);
  }
  PointCloud pc;
  pc.xyzi.reserve(static_cast<size_t>(n) * 4);
  float v[5];
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(v, bytes.data() + static_cast<size_t>(i) * record, record);
    add_point(&pc, v[0], v[1], v[2], v[3]);
  }
  return pc;
}

// ---------------------------------------------------------------------------------------------
// PCD

struct PcdField {
  std::string name;
  int size = 0;
  char type = 0;
  int64_t count = 1;
  int64_t byte_offset = 0;  // within a binary record
  int64_t value_index = 0;  // of its first value within an ascii line
};

struct PcdHeader {
  std::vector<PcdField> fields;
  int64_t points = 0;
  std::string data;        // "ascii" or "binary"
  size_t data_offset = 0;  // first byte after the DATA line
  int64_t data_line = 0;   // number of the DATA line
  int64_t record_bytes = 0;
  int64_t record_values = 0;
  int x = -1, y = -1, z = -1, intensity = -1;  // indices into fields
};

/// A header line that holds a list of values, kept until FIELDS is known to check its length.
struct PcdListLine {
  int64_t line_no = 0;
  std::string text;
  std::vector<std::string> values;
  bool present() const { return line_no > 0; }
};

bool parse_int(std::string_view s, int64_t* out) {
  const char* end = s.data() + s.size();
  const auto r = std::from_chars(s.data(), end, *out);
  return r.ec == std::errc() && r.ptr == end;
}

Status parse_pcd_header(std::string_view bytes, const std::string& name, PcdHeader* h) {
  PcdListLine fields_line, size_line, type_line, count_line;
  int64_t width = -1, height = -1, points = -1;
  std::string width_text, points_text;
  int64_t points_line = 0;
  bool have_data = false;
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < bytes.size() && !have_data) {
    const size_t nl = bytes.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? bytes.size() : nl;
    const std::string_view raw = bytes.substr(pos, end - pos);
    pos = nl == std::string_view::npos ? bytes.size() : nl + 1;
    ++line_no;
    const auto bad = [&](std::string_view why) {
      return invalid_argument("'{}': malformed PCD header at line {} ('{}'): {}", name, line_no,
                              quote_line(trim(raw)), why);
    };
    if (raw.size() > kMaxPcdHeaderLine) return bad("line too long");
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    const std::vector<std::string_view> words = split_words(line);
    const std::string_view key = words[0];
    const std::vector<std::string_view> values(words.begin() + 1, words.end());
    const auto list_line = [&](PcdListLine* l) -> Status {
      if (l->present()) return bad(fmt::format("{} appears twice", key));
      if (values.empty()) return bad("no values");
      if (static_cast<int64_t>(values.size()) > kMaxPcdFields) return bad("too many values");
      l->line_no = line_no;
      l->text = quote_line(line);
      for (std::string_view v : values) l->values.emplace_back(v);
      return Status::ok();
    };
    const auto single_int = [&](int64_t* out) -> Status {
      if (*out >= 0) return bad(fmt::format("{} appears twice", key));
      if (values.size() != 1 || !parse_int(values[0], out) || *out < 0) {
        *out = -1;
        return bad("expected one non-negative integer");
      }
      return Status::ok();
    };
    if (key == "VERSION" || key == "VIEWPOINT") {
      continue;  // nothing in them changes how the records are read
    } else if (key == "FIELDS" || key == "COLUMNS") {  // COLUMNS: the PCD v0.5 name
      TARMAC_RETURN_IF_ERROR(list_line(&fields_line));
    } else if (key == "SIZE") {
      TARMAC_RETURN_IF_ERROR(list_line(&size_line));
      for (const std::string& v : size_line.values) {
        int64_t s = 0;
        if (!parse_int(v, &s) || (s != 1 && s != 2 && s != 4 && s != 8)) {
          return bad(fmt::format("size '{}' is not 1, 2, 4 or 8", quote_line(v)));
        }
      }
    } else if (key == "TYPE") {
      TARMAC_RETURN_IF_ERROR(list_line(&type_line));
      for (const std::string& v : type_line.values) {
        if (v != "F" && v != "I" && v != "U") {
          return bad(fmt::format("type '{}' is not F, I or U", quote_line(v)));
        }
      }
    } else if (key == "COUNT") {
      TARMAC_RETURN_IF_ERROR(list_line(&count_line));
      for (const std::string& v : count_line.values) {
        int64_t c = 0;
        if (!parse_int(v, &c) || c < 1 || c > kMaxPcdFieldCount) {
          return bad(fmt::format("count '{}' is not an integer in [1, {}]", quote_line(v),
                                 kMaxPcdFieldCount));
        }
      }
    } else if (key == "WIDTH") {
      TARMAC_RETURN_IF_ERROR(single_int(&width));
      width_text = quote_line(line);
    } else if (key == "HEIGHT") {
      TARMAC_RETURN_IF_ERROR(single_int(&height));
    } else if (key == "POINTS") {
      TARMAC_RETURN_IF_ERROR(single_int(&points));
      points_line = line_no;
      points_text = quote_line(line);
    } else if (key == "DATA") {
      if (values.size() != 1) return bad("expected one of ascii, binary");
      if (values[0] == "binary_compressed") {
        return unsupported(
            "'{}': PCD DATA binary_compressed is unsupported (line {}); save the cloud as ascii "
            "or binary PCD",
            name, line_no);
      }
      if (values[0] != "ascii" && values[0] != "binary") {
        return bad("expected one of ascii, binary");
      }
      h->data = std::string(values[0]);
      h->data_offset = pos;
      h->data_line = line_no;
      have_data = true;
    } else {
      return bad(fmt::format("unknown keyword '{}'", quote_line(key)));
    }
  }
  if (!have_data) return invalid_argument("'{}': PCD header has no DATA line", name);
  if (!fields_line.present()) return invalid_argument("'{}': PCD header has no FIELDS line", name);
  if (!size_line.present()) return invalid_argument("'{}': PCD header has no SIZE line", name);
  if (!type_line.present()) return invalid_argument("'{}': PCD header has no TYPE line", name);
  if (width < 0) return invalid_argument("'{}': PCD header has no WIDTH line", name);
  const size_t nf = fields_line.values.size();
  for (const PcdListLine* l : {&size_line, &type_line, &count_line}) {
    if (l->present() && l->values.size() != nf) {
      return invalid_argument(
          "'{}': malformed PCD header at line {} ('{}'): {} values for the {} FIELDS", name,
          l->line_no, l->text, l->values.size(), nf);
    }
  }

  h->fields.resize(nf);
  for (size_t i = 0; i < nf; ++i) {
    PcdField& f = h->fields[i];
    f.name = fields_line.values[i];
    int64_t size = 0, count = 1;
    (void)parse_int(size_line.values[i], &size);  // checked above
    if (count_line.present()) (void)parse_int(count_line.values[i], &count);
    f.size = static_cast<int>(size);
    f.type = type_line.values[i][0];
    f.count = count;
    if (f.type == 'F' && f.size != 4 && f.size != 8) {
      return invalid_argument("'{}': PCD field '{}' has TYPE F and SIZE {} (F is 4 or 8 bytes)",
                              name, quote_line(f.name), f.size);
    }
    f.byte_offset = h->record_bytes;
    f.value_index = h->record_values;
    h->record_bytes += f.size * f.count;
    h->record_values += f.count;
    if (h->record_bytes > kMaxPcdRecordBytes) {
      return invalid_argument("'{}': PCD records of more than {} bytes are refused", name,
                              kMaxPcdRecordBytes);
    }
    int* slot = f.name == "x"           ? &h->x
                : f.name == "y"         ? &h->y
                : f.name == "z"         ? &h->z
                : f.name == "intensity" ? &h->intensity
                                        : nullptr;
    if (slot == nullptr) continue;
    if (*slot >= 0) return invalid_argument("'{}': PCD field '{}' appears twice", name, f.name);
    if (f.count != 1) {
      return invalid_argument("'{}': PCD field '{}' has COUNT {} (expected 1)", name, f.name,
                              f.count);
    }
    *slot = static_cast<int>(i);
  }
  if (h->x < 0 || h->y < 0 || h->z < 0) {
    return invalid_argument("'{}': PCD FIELDS ('{}') lack one of x, y, z", name, fields_line.text);
  }

  if (height < 0) height = 1;  // PCD v0.5 files have no HEIGHT
  if (width > kMaxCloudPoints || height > kMaxCloudPoints || width * height > kMaxCloudPoints) {
    return invalid_argument("'{}': PCD WIDTH {} × HEIGHT {} is more than the {} points allowed",
                            name, width, height, kMaxCloudPoints);
  }
  if (points >= 0 && points != width * height) {
    return invalid_argument(
        "'{}': malformed PCD header at line {} ('{}'): POINTS {} differs from WIDTH {} × "
        "HEIGHT {} = {}",
        name, points_line, points_text, points, width, height, width * height);
  }
  h->points = width * height;
  return Status::ok();
}

/// One binary value of a field as float.
float load_value(const char* p, char type, int size) {
  const auto get = [p](auto v) {
    std::memcpy(&v, p, sizeof(v));
    return v;
  };
  if (type == 'F') return size == 4 ? get(float{}) : to_float(get(double{}));
  if (type == 'I') {
    switch (size) {
      case 1:
        return static_cast<float>(get(int8_t{}));
      case 2:
        return static_cast<float>(get(int16_t{}));
      case 4:
        return static_cast<float>(get(int32_t{}));
      default:
        return static_cast<float>(get(int64_t{}));
    }
  }
  switch (size) {
    case 1:
      return static_cast<float>(get(uint8_t{}));
    case 2:
      return static_cast<float>(get(uint16_t{}));
    case 4:
      return static_cast<float>(get(uint32_t{}));
    default:
      return static_cast<float>(get(uint64_t{}));
  }
}

StatusOr<PointCloud> parse_pcd_binary(std::string_view data, const PcdHeader& h,
                                      const std::string& name) {
  const int64_t need = h.points * h.record_bytes;  // both bounded: no overflow
  if (static_cast<int64_t>(data.size()) < need) {
    return invalid_argument(
        "'{}': truncated PCD data: {} points of {} bytes need {} bytes, the file has {}", name,
        h.points, h.record_bytes, need, data.size());
  }
  const PcdField& fx = h.fields[static_cast<size_t>(h.x)];
  const PcdField& fy = h.fields[static_cast<size_t>(h.y)];
  const PcdField& fz = h.fields[static_cast<size_t>(h.z)];
  const PcdField* fi = h.intensity >= 0 ? &h.fields[static_cast<size_t>(h.intensity)] : nullptr;
  PointCloud pc;
  pc.xyzi.reserve(static_cast<size_t>(h.points) * 4);
  for (int64_t i = 0; i < h.points; ++i) {
    const char* rec = data.data() + i * h.record_bytes;
    add_point(&pc, load_value(rec + fx.byte_offset, fx.type, fx.size),
              load_value(rec + fy.byte_offset, fy.type, fy.size),
              load_value(rec + fz.byte_offset, fz.type, fz.size),
              fi ? load_value(rec + fi->byte_offset, fi->type, fi->size) : 0.f);
  }
  return pc;
}

/// A decimal token as float ("nan" and "inf" included; values beyond float become ±Inf).
bool parse_float(std::string_view s, float* out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const char* end = s.data() + s.size();
  const auto r = std::from_chars(s.data(), end, *out);
  if (r.ptr != end || s.empty()) return false;
  if (r.ec == std::errc()) return true;
  if (r.ec != std::errc::result_out_of_range) return false;
  double d = 0;  // beyond float's range (or below its smallest subnormal)
  const auto rd = std::from_chars(s.data(), end, d);
  if (rd.ec == std::errc()) {
    *out = to_float(d);
  } else {
    *out = std::numeric_limits<float>::infinity();  // beyond double too: dropped as non-finite
  }
  return true;
}

StatusOr<PointCloud> parse_pcd_ascii(std::string_view data, const PcdHeader& h,
                                     const std::string& name) {
  const int64_t vx = h.fields[static_cast<size_t>(h.x)].value_index;
  const int64_t vy = h.fields[static_cast<size_t>(h.y)].value_index;
  const int64_t vz = h.fields[static_cast<size_t>(h.z)].value_index;
  const int64_t vi = h.intensity >= 0 ? h.fields[static_cast<size_t>(h.intensity)].value_index : -1;
  PointCloud pc;
  // Each record takes at least two bytes per value: reserve no more than the data can hold.
  const int64_t fit = static_cast<int64_t>(data.size()) / (2 * h.record_values) + 1;
  pc.xyzi.reserve(static_cast<size_t>(std::min(h.points, fit)) * 4);
  size_t pos = 0;
  int64_t line_no = h.data_line;
  std::vector<std::string_view> words;
  while (pc.points_read < h.points && pos < data.size()) {
    const size_t nl = data.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? data.size() : nl;
    const std::string_view line = trim(data.substr(pos, end - pos));
    pos = nl == std::string_view::npos ? data.size() : nl + 1;
    ++line_no;
    if (line.empty()) continue;
    words = split_words(line);
    if (static_cast<int64_t>(words.size()) != h.record_values) {
      return invalid_argument("'{}': PCD data line {} ('{}') has {} values, expected {}", name,
                              line_no, quote_line(line), words.size(), h.record_values);
    }
    float v[4] = {0.f, 0.f, 0.f, 0.f};
    const int64_t idx[4] = {vx, vy, vz, vi};
    for (int k = 0; k < 4; ++k) {
      if (idx[k] < 0) continue;
      const std::string_view w = words[static_cast<size_t>(idx[k])];
      if (!parse_float(w, &v[k])) {
        return invalid_argument("'{}': PCD data line {}: cannot read '{}' as a number", name,
                                line_no, quote_line(w));
      }
    }
    add_point(&pc, v[0], v[1], v[2], v[3]);
  }
  if (pc.points_read < h.points) {
    return invalid_argument("'{}': truncated PCD data: the header says {} points, the data has {}",
                            name, h.points, pc.points_read);
  }
  return pc;
}

StatusOr<PointCloud> parse_pcd(std::string_view bytes, const std::string& name) {
  PcdHeader h;
  TARMAC_RETURN_IF_ERROR(parse_pcd_header(bytes, name, &h));
  const std::string_view data = bytes.substr(h.data_offset);
  if (h.data == "binary") return parse_pcd_binary(data, h, name);
  return parse_pcd_ascii(data, h, name);
}

bool looks_like_pcd(std::string_view bytes) {
  const std::string_view head = trim(bytes.substr(0, 64));
  return head.starts_with("# .PCD") || head.starts_with("VERSION") || head.starts_with("FIELDS");
}

StatusOr<PointCloud> parse_any(std::string_view bytes, PointFormat format,
                               const std::string& name) {
  if (format == PointFormat::kAuto) {
    if (ends_with_ci(name, ".pcd.bin")) {
      format = PointFormat::kNuscenesBin;
    } else if (ends_with_ci(name, ".bin")) {
      format = PointFormat::kKittiBin;
    } else if (ends_with_ci(name, ".pcd") || looks_like_pcd(bytes)) {
      format = PointFormat::kPcd;
    } else {
      return invalid_argument(
          "'{}': cannot tell the point-cloud format from the name (expected *.bin for KITTI, "
          "*.pcd.bin for nuScenes or *.pcd); name the format",
          name);
    }
  }
  switch (format) {
    case PointFormat::kKittiBin:
      return parse_bin(bytes, 4, "KITTI", name);
    case PointFormat::kNuscenesBin:
      return parse_bin(bytes, 5, "nuScenes", name);
    case PointFormat::kPcd:
      return parse_pcd(bytes, name);
    case PointFormat::kAuto:
      break;
  }
  return internal_error("'{}': unresolved point format", name);
}

}  // namespace

std::string_view point_format_name(PointFormat format) {
  switch (format) {
    case PointFormat::kAuto:
      return "auto";
    case PointFormat::kKittiBin:
      return "kitti";
    case PointFormat::kNuscenesBin:
      return "nuscenes";
    case PointFormat::kPcd:
      return "pcd";
  }
  return "unknown";
}

StatusOr<PointCloud> parse_point_cloud(std::string_view bytes, PointFormat format,
                                       const std::string& name) {
  try {
    return parse_any(bytes, format, name);
  } catch (const std::bad_alloc&) {
    return resource_exhausted("'{}': out of memory while reading the point cloud", name);
  } catch (const std::length_error&) {
    return resource_exhausted("'{}': the point cloud is too large to hold", name);
  }
}

StatusOr<PointCloud> read_point_cloud(const std::string& path, PointFormat format) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) return not_found("'{}': no such file", path);
  if (fs::is_directory(st)) return invalid_argument("'{}' is a directory, not a point cloud", path);
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return io_error("'{}': cannot read its size: {}", path, ec.message());
  if (size > static_cast<uintmax_t>(kMaxCloudFileBytes)) {
    return resource_exhausted("'{}': {} bytes is more than the {} bytes a point cloud may have",
                              path, size, kMaxCloudFileBytes);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("'{}': cannot open: {}", path, std::strerror(errno));
  std::string bytes;
  try {
    bytes.resize(static_cast<size_t>(size));
  } catch (const std::bad_alloc&) {
    return resource_exhausted("'{}': out of memory for {} bytes", path, size);
  }
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size)) {
    return io_error("'{}': read {} of {} bytes", path, in.gcount(), size);
  }
  return parse_point_cloud(bytes, format, path);
}

}  // namespace tarmac::lidar

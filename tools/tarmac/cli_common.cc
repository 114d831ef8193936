#include "cli_common.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/strings.h"

namespace tarmac::cli {

namespace {

/// Splits "name:value" at the last ':' so names containing ':' still work.
StatusOr<std::pair<std::string, std::string>> split_name(const std::string& item,
                                                         const char* flag) {
  const size_t colon = item.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == item.size()) {
    return invalid_argument("{} entry '{}' is not of the form name:value", flag, item);
  }
  return std::make_pair(item.substr(0, colon), item.substr(colon + 1));
}

}  // namespace

StatusOr<std::map<std::string, Dims>> parse_shapes(const std::string& spec,
                                                   const std::string& flag) {
  std::map<std::string, Dims> out;
  if (spec.empty()) return out;
  for (const std::string& item : split(spec, ',')) {
    TARMAC_ASSIGN_OR_RETURN(auto nv, split_name(item, flag.c_str()));
    Dims dims;
    for (const std::string& d : split(nv.second, 'x')) {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
      if (ec != std::errc() || p != d.data() + d.size() || v < 0) {
        return invalid_argument("{}: '{}' in '{}' is not a non-negative integer", flag, d, item);
      }
      dims.push_back(v);
    }
    if (!out.emplace(nv.first, dims).second) {
      return invalid_argument("{} names input '{}' twice", flag, nv.first);
    }
  }
  return out;
}

StatusOr<std::map<std::string, std::string>> parse_name_files(const std::string& spec) {
  std::map<std::string, std::string> out;
  if (spec.empty()) return out;
  for (const std::string& item : split(spec, ',')) {
    TARMAC_ASSIGN_OR_RETURN(auto nv, split_name(item, "--loadInputs"));
    if (!out.emplace(nv.first, nv.second).second) {
      return invalid_argument("--loadInputs names input '{}' twice", nv.first);
    }
  }
  return out;
}

Status write_json_file(const std::string& path, const std::string& text) {
  return write_file_atomically(path, text + "\n");
}

StatusOr<std::set<std::string>> parse_fp32_layers(const std::string& spec) {
  std::set<std::string> keep;
  size_t pos = 0;
  while (pos < spec.size()) {
    size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(pos, end - pos);
    const size_t colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return invalid_argument("--layerPrecisions: '{}' is not layer:precision", item);
    const std::string prec = item.substr(colon + 1);
    if (prec != "fp32")
      return invalid_argument(
          "--layerPrecisions: '{}' asks for {}; only fp32 is supported (other layers follow "
          "--fp16 / --bf16)",
          item, prec);
    keep.insert(item.substr(0, colon));
    pos = end + 1;
  }
  return keep;
}

}  // namespace tarmac::cli

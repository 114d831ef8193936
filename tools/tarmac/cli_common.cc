#include "cli_common.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "core/file_io.h"

namespace tarmac::cli {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t e = s.find(sep, start);
    if (e == std::string::npos) e = s.size();
    out.push_back(s.substr(start, e - start));
    start = e + 1;
  }
  return out;
}

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

StatusOr<Tensor> load_raw_tensor(const std::string& path, DType dtype, const Dims& dims) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return not_found("input file '{}' does not exist", path);
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return io_error("cannot stat input file '{}': {}", path, ec.message());
  // Compare sizes before allocating: a wrong file must not cost a huge zero-filled buffer.
  // The product saturates at 2^64 - 1, far above any file size, so it cannot wrap.
  const unsigned __int128 cap = std::numeric_limits<uint64_t>::max();
  unsigned __int128 needed = dtype_size(dtype);
  for (int64_t d : dims) needed = std::min(cap, needed * static_cast<uint64_t>(d < 0 ? 0 : d));
  if (needed != size) {
    return invalid_argument("input file '{}' has {} bytes but a {} tensor of shape {} needs {}",
                            path, size, dtype_name(dtype), dims_to_string(dims),
                            static_cast<uint64_t>(needed));
  }
  TARMAC_ASSIGN_OR_RETURN(Tensor t, Tensor::create(dtype, dims));
  std::ifstream in(path, std::ios::binary);
  in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  if (!in) return io_error("short read from '{}'", path);
  return t;
}

Status write_output_json(const std::string& path, const std::vector<std::string>& names,
                         const std::vector<Tensor>& tensors) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    nlohmann::json values = nlohmann::json::array();
    for (int64_t k = 0; k < t.numel(); ++k) {
      if (is_floating(t.dtype())) {
        values.push_back(t.as_double(k));
      } else {
        values.push_back(t.as_int64(k));
      }
    }
    out.push_back(
        {{"name", names[i]}, {"dimensions", dims_to_string(t.dims())}, {"values", values}});
  }
  return write_json_file(path, out.dump(2));
}

Status write_json_file(const std::string& path, const std::string& text) {
  return write_file_atomically(path, text + "\n");
}

}  // namespace tarmac::cli

#include "compare/tensor_files.h"

#include <algorithm>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/npy.h"
#include "core/strings.h"

namespace tarmac {

namespace {

/// "1x3x224x224" -> dims; "scalar" -> {}.
StatusOr<Dims> parse_dimensions(const std::string& text, const std::string& what) {
  Dims d;
  if (text == "scalar" || text.empty()) return d;
  for (const std::string& part : split(text, 'x')) {
    if (part.empty() || part.size() > 12 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return invalid_argument("{}: dimensions '{}' are not like 1x3x224x224", what, text);
    d.push_back(std::stoll(part));
  }
  return d;
}

}  // namespace

StatusOr<Tensor> read_raw_tensor(const std::string& path, DType dtype, const Dims& dims) {
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
  TARMAC_ASSIGN_OR_RETURN(std::string bytes, read_whole_file(path));
  TARMAC_ASSIGN_OR_RETURN(Tensor t, Tensor::create(dtype, dims));
  if (bytes.size() != t.nbytes()) return io_error("'{}' changed while being read", path);
  std::copy(bytes.begin(), bytes.end(), static_cast<char*>(t.raw()));
  return t;
}

Status write_trtexec_json(const std::string& path,
                          const std::vector<std::pair<std::string, Tensor>>& tensors) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, t] : tensors) {
    nlohmann::json values = nlohmann::json::array();
    for (int64_t k = 0; k < t.numel(); ++k) {
      if (is_floating(t.dtype())) {
        values.push_back(t.as_double(k));
      } else {
        values.push_back(t.as_int64(k));
      }
    }
    out.push_back({{"name", name}, {"dimensions", dims_to_string(t.dims())}, {"values", values}});
  }
  return write_file_atomically(path, out.dump(2) + "\n");
}

StatusOr<std::vector<std::pair<std::string, Tensor>>> read_trtexec_json(const std::string& path) {
  TARMAC_ASSIGN_OR_RETURN(std::string text, read_whole_file(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_array())
    return invalid_argument("'{}' is not trtexec output JSON (an array of tensors)", path);
  std::vector<std::pair<std::string, Tensor>> r;
  for (size_t i = 0; i < j.size(); ++i) {
    const nlohmann::json& e = j[i];
    const std::string what = fmt::format("'{}' entry {}", path, i);
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() ||
        !e.contains("dimensions") || !e["dimensions"].is_string() || !e.contains("values") ||
        !e["values"].is_array())
      return invalid_argument("{}: needs \"name\", \"dimensions\" and \"values\"", what);
    const std::string name = e["name"].get<std::string>();
    TARMAC_ASSIGN_OR_RETURN(Dims dims, parse_dimensions(e["dimensions"].get<std::string>(), what));
    const nlohmann::json& values = e["values"];
    // Checked before allocating: the element count must match the values given.
    unsigned __int128 n = 1;
    for (int64_t d : dims)
      n = std::min<unsigned __int128>(n * static_cast<uint64_t>(d), 1ULL << 62);
    if (n != values.size())
      return invalid_argument("{} ('{}'): {} values for dimensions {}", what, name, values.size(),
                              e["dimensions"].get<std::string>());
    TARMAC_ASSIGN_OR_RETURN(Tensor t, Tensor::create(DType::kFloat64, dims));
    double* p = t.data<double>();
    for (size_t k = 0; k < values.size(); ++k) {
      if (values[k].is_null()) {  // how JSON writers (ours included) store NaN
        p[k] = std::numeric_limits<double>::quiet_NaN();
        continue;
      }
      if (!values[k].is_number())
        return invalid_argument("{} ('{}'): value {} is not a number", what, name, k);
      p[k] = values[k].get<double>();
    }
    r.emplace_back(name, std::move(t));
  }
  return r;
}

StatusOr<std::vector<std::pair<std::string, Tensor>>> read_tensor_set(const std::string& path) {
  if (path.ends_with(".npz")) return read_npz_file(path);
  if (path.ends_with(".json")) return read_trtexec_json(path);
  return invalid_argument("'{}': expected an .npz archive or a trtexec output .json file", path);
}

Status write_tensor_set(const std::string& path,
                        const std::vector<std::pair<std::string, Tensor>>& tensors) {
  if (path.ends_with(".npz")) return write_npz_file(path, tensors);
  if (path.ends_with(".json")) return write_trtexec_json(path, tensors);
  return invalid_argument("'{}': expected a file name ending in .npz or .json", path);
}

}  // namespace tarmac

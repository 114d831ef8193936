#include "onnx/tensor_proto.h"

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

namespace tarmac {

namespace fs = std::filesystem;

StatusOr<std::string> resolve_external_path(const std::string& base_dir,
                                            const std::string& location) {
  if (base_dir.empty()) {
    return invalid_argument("external data '{}' cannot be resolved without a model folder",
                            location);
  }
  if (location.empty()) return invalid_argument("external data has an empty location");
  fs::path loc(location);
  if (loc.is_absolute()) {
    return invalid_argument(
        "external data location '{}' is absolute; it must be relative to the model folder",
        location);
  }
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(fs::path(base_dir), ec);
  if (ec) return io_error("cannot resolve model folder '{}': {}", base_dir, ec.message());
  const fs::path full = fs::weakly_canonical(base / loc, ec);
  if (ec) return io_error("cannot resolve external data '{}': {}", location, ec.message());
  auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (b != base.end()) {
    return invalid_argument("external data location '{}' resolves outside the model folder '{}'",
                            location, base.string());
  }
  if (!fs::is_regular_file(full, ec)) {
    return not_found("external data file '{}' (resolved to '{}') does not exist", location,
                     full.string());
  }
  return full.string();
}

namespace {

Status read_external(const onnx::TensorProto& proto, const std::string& base_dir, size_t expected,
                     uint8_t* dst) {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
  for (const auto& kv : proto.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset" || kv.key() == "length") {
      int64_t v = 0;
      const char* b = kv.value().data();
      const char* e = b + kv.value().size();
      auto [p, ec] = std::from_chars(b, e, v);
      if (ec != std::errc() || p != e) {
        return invalid_argument("tensor '{}': external data field '{}' is not a number: '{}'",
                                proto.name(), kv.key(), kv.value());
      }
      (kv.key() == "offset" ? offset : length) = v;
    }
  }
  TARMAC_ASSIGN_OR_RETURN(std::string path, resolve_external_path(base_dir, location));
  if (offset < 0)
    return invalid_argument("tensor '{}': negative external data offset", proto.name());
  if (length >= 0 && static_cast<size_t>(length) != expected) {
    return invalid_argument(
        "tensor '{}': external data length {} does not match its shape ({} bytes)", proto.name(),
        length, expected);
  }
  std::error_code ec;
  const uintmax_t file_size = fs::file_size(path, ec);
  if (ec) return io_error("cannot stat '{}': {}", path, ec.message());
  if (static_cast<uintmax_t>(offset) + expected > file_size) {
    return invalid_argument(
        "tensor '{}': external data needs bytes [{}, {}) but '{}' holds {} bytes", proto.name(),
        offset, offset + static_cast<int64_t>(expected), location, file_size);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open external data file '{}'", path);
  in.seekg(offset);
  in.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(expected));
  if (!in) return io_error("short read from external data file '{}'", path);
  return Status::ok();
}

template <typename Dst, typename Field>
Status copy_field(const Field& field, int64_t n, Dst* dst, const char* field_name,
                  const std::string& tensor_name) {
  if (static_cast<int64_t>(field.size()) != n) {
    return invalid_argument("tensor '{}': {} holds {} values but the shape needs {}", tensor_name,
                            field_name, field.size(), n);
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<Dst>(field.Get(static_cast<int>(i)));
  return Status::ok();
}

}  // namespace

StatusOr<Tensor> tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir) {
  const DType dtype = dtype_from_onnx(proto.data_type());
  if (dtype == DType::kUndefined) {
    return unsupported("tensor '{}' has data type {} which tarmac does not support", proto.name(),
                       onnx::TensorProto_DataType_Name(
                           static_cast<onnx::TensorProto_DataType>(proto.data_type())));
  }
  if (proto.has_segment()) return unsupported("tensor '{}' is segmented", proto.name());
  Dims dims(proto.dims().begin(), proto.dims().end());
  for (int64_t d : dims) {
    if (d < 0) return invalid_argument("tensor '{}' has a negative dimension", proto.name());
  }
  TARMAC_ASSIGN_OR_RETURN(Tensor t, Tensor::create(dtype, dims));
  const int64_t n = t.numel();
  const size_t bytes = t.nbytes();
  const std::string& name = proto.name();

  if (proto.data_location() == onnx::TensorProto_DataLocation_EXTERNAL) {
    TARMAC_RETURN_IF_ERROR(read_external(proto, base_dir, bytes, static_cast<uint8_t*>(t.raw())));
    return t;
  }
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != bytes) {
      return invalid_argument("tensor '{}': raw_data has {} bytes but shape {} of {} needs {}",
                              name, proto.raw_data().size(), dims_to_string(dims),
                              dtype_name(dtype), bytes);
    }
    if (bytes) std::memcpy(t.raw(), proto.raw_data().data(), bytes);  // little-endian host
    if (dtype == DType::kBool) {
      for (int64_t i = 0; i < n; ++i) t.data<uint8_t>()[i] = t.data<uint8_t>()[i] ? 1 : 0;
    }
    return t;
  }
  switch (dtype) {
    case DType::kFloat32:
      TARMAC_RETURN_IF_ERROR(
          copy_field(proto.float_data(), n, t.data<float>(), "float_data", name));
      break;
    case DType::kFloat64:
      TARMAC_RETURN_IF_ERROR(
          copy_field(proto.double_data(), n, t.data<double>(), "double_data", name));
      break;
    case DType::kInt64:
      TARMAC_RETURN_IF_ERROR(
          copy_field(proto.int64_data(), n, t.data<int64_t>(), "int64_data", name));
      break;
    case DType::kInt32:
      TARMAC_RETURN_IF_ERROR(
          copy_field(proto.int32_data(), n, t.data<int32_t>(), "int32_data", name));
      break;
    case DType::kInt8:
      TARMAC_RETURN_IF_ERROR(
          copy_field(proto.int32_data(), n, t.data<int8_t>(), "int32_data", name));
      break;
    case DType::kUint8:
      TARMAC_RETURN_IF_ERROR(
          copy_field(proto.int32_data(), n, t.data<uint8_t>(), "int32_data", name));
      break;
    case DType::kFloat16:
    case DType::kBFloat16:
      TARMAC_RETURN_IF_ERROR(
          copy_field(proto.int32_data(), n, t.data<uint16_t>(), "int32_data", name));
      break;
    case DType::kBool: {
      if (proto.int32_data_size() != n) {
        return invalid_argument("tensor '{}': int32_data holds {} values but the shape needs {}",
                                name, proto.int32_data_size(), n);
      }
      for (int64_t i = 0; i < n; ++i)
        t.data<bool>()[i] = proto.int32_data(static_cast<int>(i)) != 0;
      break;
    }
    default:
      return unsupported("tensor '{}': unsupported data type", name);
  }
  return t;
}

}  // namespace tarmac

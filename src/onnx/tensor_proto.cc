#include "onnx/tensor_proto.h"

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

namespace tarmac {

namespace fs = std::filesystem;

std::string onnx_type_name(int32_t onnx_type) {
  // The field is a plain int32 in onnx.proto, so any number can arrive; only valid enum
  // values may be converted to the enum.
  if (onnx::TensorProto_DataType_IsValid(onnx_type)) {
    return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(onnx_type));
  }
  return fmt::format("{} (not an ONNX data type)", onnx_type);
}

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

/// Where a tensor's external bytes are, checked against the file before anything is allocated.
struct ExternalRef {
  std::string path;
  uint64_t offset = 0;
};

StatusOr<ExternalRef> locate_external(const onnx::TensorProto& proto, const std::string& base_dir,
                                      size_t expected) {
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
  if (length >= 0 && static_cast<uint64_t>(length) != expected) {
    return invalid_argument(
        "tensor '{}': external data length {} does not match its shape ({} bytes)", proto.name(),
        length, expected);
  }
  std::error_code ec;
  const uintmax_t file_size = fs::file_size(path, ec);
  if (ec) return io_error("cannot stat '{}': {}", path, ec.message());
  // Both terms are below 2^63, so the sum cannot wrap.
  const uint64_t end = static_cast<uint64_t>(offset) + static_cast<uint64_t>(expected);
  if (end > file_size) {
    return invalid_argument(
        "tensor '{}': external data needs bytes [{}, {}) but '{}' holds {} bytes", proto.name(),
        offset, end, location, file_size);
  }
  return ExternalRef{std::move(path), static_cast<uint64_t>(offset)};
}

Status read_external(const ExternalRef& ref, size_t expected, uint8_t* dst) {
  std::ifstream in(ref.path, std::ios::binary);
  if (!in) return io_error("cannot open external data file '{}'", ref.path);
  in.seekg(static_cast<std::streamoff>(ref.offset));
  in.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(expected));
  if (!in) return io_error("short read from external data file '{}'", ref.path);
  return Status::ok();
}

/// Bytes a tensor of `dims` occupies; refuses sizes that do not fit in int64 (such shapes
/// come from malformed files and must not reach the allocator or element-count arithmetic).
StatusOr<size_t> checked_nbytes(const std::string& name, DType dtype, const Dims& dims) {
  unsigned __int128 bytes = dtype_size(dtype);
  for (int64_t d : dims) {
    if (d < 0) return invalid_argument("tensor '{}' has a negative dimension", name);
    bytes *= static_cast<unsigned __int128>(d);
    if (bytes > static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max())) {
      return invalid_argument("tensor '{}' has shape {} of {}, whose size does not fit in 64 bits",
                              name, dims_to_string(dims), dtype_name(dtype));
    }
  }
  return static_cast<size_t>(bytes);
}

/// The typed field that holds the values when raw_data is absent, and how many it holds.
int64_t typed_field_size(const onnx::TensorProto& proto, DType dtype, const char** field_name) {
  switch (dtype) {
    case DType::kFloat32:
      *field_name = "float_data";
      return proto.float_data_size();
    case DType::kFloat64:
      *field_name = "double_data";
      return proto.double_data_size();
    case DType::kInt64:
      *field_name = "int64_data";
      return proto.int64_data_size();
    default:  // int32, int8, uint8, bool, float16 and bfloat16 are all stored in int32_data
      *field_name = "int32_data";
      return proto.int32_data_size();
  }
}

template <typename Dst, typename Field>
void copy_field(const Field& field, int64_t n, Dst* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<Dst>(field.Get(static_cast<int>(i)));
}

}  // namespace

StatusOr<Tensor> tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir) {
  const DType dtype = dtype_from_onnx(proto.data_type());
  if (dtype == DType::kUndefined) {
    return unsupported("tensor '{}' has data type {} which tarmac does not support", proto.name(),
                       onnx_type_name(proto.data_type()));
  }
  if (proto.has_segment()) return unsupported("tensor '{}' is segmented", proto.name());
  const std::string& name = proto.name();
  Dims dims(proto.dims().begin(), proto.dims().end());
  TARMAC_ASSIGN_OR_RETURN(const size_t bytes, checked_nbytes(name, dtype, dims));
  const int64_t n = static_cast<int64_t>(bytes / dtype_size(dtype));

  // Every size check happens before the allocation: a file that declares a huge shape but
  // carries few bytes is refused without reserving (and zero-filling) memory for it.
  if (proto.data_location() == onnx::TensorProto_DataLocation_EXTERNAL) {
    TARMAC_ASSIGN_OR_RETURN(ExternalRef ref, locate_external(proto, base_dir, bytes));
    TARMAC_ASSIGN_OR_RETURN(Tensor t, Tensor::create(dtype, dims));
    TARMAC_RETURN_IF_ERROR(read_external(ref, bytes, static_cast<uint8_t*>(t.raw())));
    return t;
  }
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != bytes) {
      return invalid_argument("tensor '{}': raw_data has {} bytes but shape {} of {} needs {}",
                              name, proto.raw_data().size(), dims_to_string(dims),
                              dtype_name(dtype), bytes);
    }
    TARMAC_ASSIGN_OR_RETURN(Tensor t, Tensor::create(dtype, dims));
    if (bytes) std::memcpy(t.raw(), proto.raw_data().data(), bytes);  // little-endian host
    if (dtype == DType::kBool) {
      for (int64_t i = 0; i < n; ++i) t.data<uint8_t>()[i] = t.data<uint8_t>()[i] ? 1 : 0;
    }
    return t;
  }
  const char* field_name = "";
  const int64_t field_size = typed_field_size(proto, dtype, &field_name);
  if (field_size != n) {
    return invalid_argument("tensor '{}': {} holds {} values but shape {} needs {}", name,
                            field_name, field_size, dims_to_string(dims), n);
  }
  TARMAC_ASSIGN_OR_RETURN(Tensor t, Tensor::create(dtype, dims));
  switch (dtype) {
    case DType::kFloat32:
      copy_field(proto.float_data(), n, t.data<float>());
      break;
    case DType::kFloat64:
      copy_field(proto.double_data(), n, t.data<double>());
      break;
    case DType::kInt64:
      copy_field(proto.int64_data(), n, t.data<int64_t>());
      break;
    case DType::kInt32:
      copy_field(proto.int32_data(), n, t.data<int32_t>());
      break;
    case DType::kInt8:
      copy_field(proto.int32_data(), n, t.data<int8_t>());
      break;
    case DType::kUint8:
      copy_field(proto.int32_data(), n, t.data<uint8_t>());
      break;
    case DType::kFloat16:
    case DType::kBFloat16:
      copy_field(proto.int32_data(), n, t.data<uint16_t>());
      break;
    case DType::kBool:
      for (int64_t i = 0; i < n; ++i)
        t.data<bool>()[i] = proto.int32_data(static_cast<int>(i)) != 0;
      break;
    default:
      return unsupported("tensor '{}': unsupported data type", name);
  }
  return t;
}

}  // namespace tarmac

// .npy reading and writing; the .npz (ZIP) layer is in npz.cc.
#include "core/npy.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/file_io.h"

namespace tarmac {

// Tensors hold host-order bytes and both formats are little-endian, so the byte copies below
// are only right on a little-endian host (every machine tarmac targets).
static_assert(std::endian::native == std::endian::little, "npy I/O assumes a little-endian host");

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
// numpy.save leaves room for the first axis to grow in place ("GROWTH_AXIS_MAX_DIGITS") and
// aligns the data to 64 bytes; following both makes our files byte-identical to numpy's.
constexpr size_t kGrowthAxisDigits = 21;
constexpr size_t kAlign = 64;
constexpr int kMaxLiteralDepth = 16;

// numpy's element kinds that tarmac knows; kUndefined marks those without a tarmac dtype.
struct NpyType {
  char kind;
  size_t size;
  DType dtype;
  const char* name;
};
constexpr NpyType kNpyTypes[] = {
    {'f', 2, DType::kFloat16, "float16"},  {'f', 4, DType::kFloat32, "float32"},
    {'f', 8, DType::kFloat64, "float64"},  {'i', 1, DType::kInt8, "int8"},
    {'i', 2, DType::kUndefined, "int16"},  {'i', 4, DType::kInt32, "int32"},
    {'i', 8, DType::kInt64, "int64"},      {'u', 1, DType::kUint8, "uint8"},
    {'u', 2, DType::kUndefined, "uint16"}, {'u', 4, DType::kUndefined, "uint32"},
    {'u', 8, DType::kUndefined, "uint64"}, {'b', 1, DType::kBool, "bool"},
};

// A Python literal as it appears in an .npy header (the header is repr() of a dict).
struct PyValue {
  enum class Kind { kNone, kBool, kInt, kString, kTuple, kList, kDict };
  Kind kind = Kind::kNone;
  int64_t number = 0;          // kInt, kBool (0 or 1)
  std::string text;            // kString
  std::vector<PyValue> items;  // kTuple, kList; kDict: key, value, key, value, ...
  std::string_view source;     // the literal as written, for messages
};

// Recursive descent over the subset of Python literals numpy writes (strings, ints, True/False/
// None, tuples, lists, one dict). Depth is bounded so hostile headers cannot exhaust the stack.
class PyLiteralParser {
 public:
  explicit PyLiteralParser(std::string_view s) : s_(s) {}

  Status parse_all(PyValue& out) {
    TARMAC_RETURN_IF_ERROR(parse_value(out, 0));
    skip_space();
    if (pos_ != s_.size()) return error("unexpected text after the dictionary");
    return Status::ok();
  }

 private:
  Status error(std::string_view why) const {
    return invalid_argument("{} at offset {}", why, pos_);
  }
  void skip_space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool at(char c) const { return pos_ < s_.size() && s_[pos_] == c; }

  Status parse_value(PyValue& v, int depth) {
    if (depth > kMaxLiteralDepth) return error("literal nested too deeply");
    skip_space();
    if (pos_ >= s_.size()) return error("header ends inside a value");
    const size_t start = pos_;
    const char c = s_[pos_];
    Status st;
    if (c == '{' || c == '(' || c == '[') {
      st = parse_container(v, depth);
    } else if (c == '\'' || c == '"') {
      st = parse_string(v);
    } else if ((c == 'u' || c == 'b') && pos_ + 1 < s_.size() &&
               (s_[pos_ + 1] == '\'' || s_[pos_ + 1] == '"')) {
      ++pos_;  // u'<f4' (files from Python 2) and b'...' prefixes
      st = parse_string(v);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      st = parse_int(v);
    } else {
      st = parse_name(v);
    }
    TARMAC_RETURN_IF_ERROR(st);
    if (v.source.empty()) v.source = s_.substr(start, pos_ - start);
    return Status::ok();
  }

  Status parse_container(PyValue& v, int depth) {
    const char open = s_[pos_++];
    const char close = open == '{' ? '}' : open == '(' ? ')' : ']';
    v.kind = open == '{'   ? PyValue::Kind::kDict
             : open == '(' ? PyValue::Kind::kTuple
                           : PyValue::Kind::kList;
    const std::string unclosed = fmt::format("header ends before the closing '{}'", close);
    bool comma = false;
    for (;;) {
      skip_space();
      if (pos_ >= s_.size()) return error(unclosed);
      if (at(close)) break;
      PyValue item;
      TARMAC_RETURN_IF_ERROR(parse_value(item, depth + 1));
      v.items.push_back(std::move(item));
      if (open == '{') {
        skip_space();
        if (!at(':')) return error("expected ':' after a dictionary key");
        ++pos_;
        PyValue value;
        TARMAC_RETURN_IF_ERROR(parse_value(value, depth + 1));
        v.items.push_back(std::move(value));
      }
      skip_space();
      if (at(',')) {
        comma = true;
        ++pos_;
      } else if (pos_ >= s_.size()) {
        return error(unclosed);
      } else if (!at(close)) {
        return error(fmt::format("expected ',' or '{}'", close));
      }
    }
    ++pos_;
    // As in Python, "(5)" is the number 5; only a comma makes a one-element tuple.
    if (open == '(' && v.items.size() == 1 && !comma) {
      PyValue inner = std::move(v.items[0]);
      v = std::move(inner);
    }
    return Status::ok();
  }

  Status parse_string(PyValue& v) {
    const char quote = s_[pos_++];
    v.kind = PyValue::Kind::kString;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\') {
        if (++pos_ >= s_.size()) break;
      }
      v.text.push_back(s_[pos_++]);
    }
    if (pos_ >= s_.size()) return error("unterminated string");
    ++pos_;
    return Status::ok();
  }

  Status parse_int(PyValue& v) {
    const bool negative = at('-');
    if (negative) ++pos_;
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') return error("expected a digit");
    uint64_t n = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      const uint64_t digit = static_cast<uint64_t>(s_[pos_++] - '0');
      if (n > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - digit) / 10) {
        return error("integer too large");
      }
      n = n * 10 + digit;
    }
    if (at('L') || at('l')) ++pos_;  // Python 2 longs
    v.kind = PyValue::Kind::kInt;
    v.number = negative ? -static_cast<int64_t>(n) : static_cast<int64_t>(n);
    return Status::ok();
  }

  Status parse_name(PyValue& v) {
    const size_t start = pos_;
    while (pos_ < s_.size() && ((s_[pos_] >= 'A' && s_[pos_] <= 'Z') ||
                                (s_[pos_] >= 'a' && s_[pos_] <= 'z') || s_[pos_] == '_')) {
      ++pos_;
    }
    const std::string_view name = s_.substr(start, pos_ - start);
    if (name == "True" || name == "False") {
      v.kind = PyValue::Kind::kBool;
      v.number = name == "True";
    } else if (name == "None") {
      v.kind = PyValue::Kind::kNone;
    } else {
      pos_ = start;
      return error("unexpected character");
    }
    return Status::ok();
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// Header text for messages: printable ASCII as is, the rest escaped, long headers cut short.
std::string excerpt(std::string_view s) {
  constexpr size_t kMax = 160;
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out.append(fmt::format("\\x{:02x}", c));
    }
  }
  if (s.size() > kMax) out.append("...");
  return out;
}

// Python's repr of a shape tuple: "()", "(5,)", "(2, 3)".
std::string shape_text(const Dims& dims) {
  if (dims.size() == 1) return fmt::format("({},)", dims[0]);
  return fmt::format("({})", fmt::join(dims, ", "));
}

struct NpyHeader {
  std::string descr;
  DType dtype = DType::kUndefined;
  size_t itemsize = 0;
  bool byteswap = false;
  bool fortran_order = false;
  Dims dims;
};

Status parse_descr(const std::string& descr, NpyHeader& h, const std::string& what) {
  size_t i = 0;
  char order = '=';
  if (!descr.empty() && (descr[0] == '<' || descr[0] == '>' || descr[0] == '=' || descr[0] == '|'))
    order = descr[i++];
  const char kind = i < descr.size() ? descr[i++] : '\0';
  size_t size = 0;
  const bool digits = i < descr.size() && descr.size() - i <= 2 &&
                      descr.find_first_not_of("0123456789", i) == std::string::npos;
  if (digits) size = std::stoul(descr.substr(i));
  for (const NpyType& t : kNpyTypes) {
    if (!digits || t.kind != kind || t.size != size) continue;
    if (t.dtype == DType::kUndefined) {
      return unsupported(
          "{}: dtype '{}' ({}) is not supported: tarmac has no {} element type; convert the array "
          "with numpy's astype() first",
          what, descr, t.name, t.name);
    }
    if (order == '|' && size > 1) {
      return invalid_argument("{}: dtype '{}' has no byte order ('|'), but {} bytes per element",
                              what, descr, size);
    }
    h.descr = descr;
    h.dtype = t.dtype;
    h.itemsize = size;
    h.byteswap = order == '>' && size > 1;
    return Status::ok();
  }
  return unsupported(
      "{}: dtype '{}' is not supported: tarmac reads float16, float32, float64, int8, int32, "
      "int64, uint8 and bool arrays",
      what, descr);
}

StatusOr<NpyHeader> parse_header(std::string_view text, const std::string& what) {
  PyValue dict;
  Status st = PyLiteralParser(text).parse_all(dict);
  if (!st.is_ok()) {
    return invalid_argument("{}: malformed .npy header \"{}\": {}", what, excerpt(text),
                            st.message());
  }
  if (dict.kind != PyValue::Kind::kDict) {
    return invalid_argument("{}: the .npy header \"{}\" is not a dictionary", what, excerpt(text));
  }
  NpyHeader h;
  const PyValue* found[3] = {nullptr, nullptr, nullptr};
  static constexpr std::string_view kKeys[3] = {"descr", "fortran_order", "shape"};
  for (size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    const PyValue& key = dict.items[i];
    size_t k = 0;
    while (k < 3 && !(key.kind == PyValue::Kind::kString && key.text == kKeys[k])) ++k;
    if (k == 3) {
      return invalid_argument(
          "{}: unexpected key {} in the .npy header (expected 'descr', 'fortran_order' and "
          "'shape')",
          what, excerpt(key.source));
    }
    if (found[k])
      return invalid_argument("{}: key '{}' appears twice in the .npy header", what, kKeys[k]);
    found[k] = &dict.items[i + 1];
  }
  for (size_t k = 0; k < 3; ++k) {
    if (!found[k]) return invalid_argument("{}: the .npy header has no '{}' key", what, kKeys[k]);
  }
  const PyValue& descr = *found[0];
  if (descr.kind == PyValue::Kind::kList) {
    return unsupported(
        "{}: structured dtype {} is not supported: tarmac reads plain numeric arrays", what,
        excerpt(descr.source));
  }
  if (descr.kind != PyValue::Kind::kString) {
    return invalid_argument("{}: 'descr' is {}, expected a dtype string such as '<f4'", what,
                            excerpt(descr.source));
  }
  TARMAC_RETURN_IF_ERROR(parse_descr(descr.text, h, what));
  if (found[1]->kind != PyValue::Kind::kBool) {
    return invalid_argument("{}: 'fortran_order' is {}, expected True or False", what,
                            excerpt(found[1]->source));
  }
  h.fortran_order = found[1]->number != 0;
  const PyValue& shape = *found[2];
  bool shape_ok = shape.kind == PyValue::Kind::kTuple;
  for (const PyValue& d : shape.items)
    shape_ok = shape_ok && d.kind == PyValue::Kind::kInt && d.number >= 0;
  if (!shape_ok) {
    return invalid_argument("{}: 'shape' is {}, expected a tuple of non-negative integers", what,
                            excerpt(shape.source));
  }
  for (const PyValue& d : shape.items) h.dims.push_back(d.number);
  return h;
}

// Gathers column-major (Fortran) elements into row-major order.
void fortran_to_c_order(const char* src, char* dst, const Dims& dims, size_t itemsize) {
  const int64_t n = num_elements(dims);
  if (n == 0 || dims.size() < 2) {
    std::memcpy(dst, src, static_cast<size_t>(n) * itemsize);
    return;
  }
  const Dims strides = row_major_strides(dims);
  std::vector<int64_t> index(dims.size(), 0);
  int64_t offset = 0;  // row-major element offset of `index`
  for (int64_t f = 0; f < n; ++f) {
    std::memcpy(dst + static_cast<size_t>(offset) * itemsize,
                src + static_cast<size_t>(f) * itemsize, itemsize);
    // Fortran order: the first axis varies fastest.
    for (size_t k = 0; k < dims.size(); ++k) {
      offset += strides[k];
      if (++index[k] < dims[k]) break;
      offset -= strides[k] * dims[k];
      index[k] = 0;
    }
  }
}

const char* descr_of(DType dtype) {
  switch (dtype) {
    case DType::kFloat16:
      return "<f2";
    case DType::kFloat32:
    case DType::kBFloat16:  // written as float32
      return "<f4";
    case DType::kFloat64:
      return "<f8";
    case DType::kInt8:
      return "|i1";
    case DType::kUint8:
      return "|u1";
    case DType::kInt32:
      return "<i4";
    case DType::kInt64:
      return "<i8";
    case DType::kBool:
      return "|b1";
    default:
      return nullptr;
  }
}

}  // namespace

StatusOr<Tensor> parse_npy(std::string_view bytes, const std::string& what) {
  if (bytes.substr(0, kMagic.size()) != kMagic) {
    return invalid_argument("{}: not a NumPy .npy file (it does not start with \\x93NUMPY)", what);
  }
  if (bytes.size() < 10) {
    return invalid_argument("{}: truncated .npy file: {} bytes, shorter than the header prefix",
                            what, bytes.size());
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  if (!((major == 1 || major == 2 || major == 3) && minor == 0)) {
    return unsupported("{}: .npy format version {}.{} is not supported (1.0, 2.0 and 3.0 are)",
                       what, major, minor);
  }
  // Version 1.0 stores the header length in 2 bytes, later versions in 4.
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t prefix = 8 + len_bytes;
  if (bytes.size() < prefix) {
    return invalid_argument("{}: truncated .npy file: {} bytes, shorter than the header prefix",
                            what, bytes.size());
  }
  uint32_t header_len = 0;
  std::memcpy(&header_len, bytes.data() + 8, len_bytes);
  if (header_len > bytes.size() - prefix) {
    return invalid_argument(
        "{}: truncated .npy file: the header is {} bytes, but only {} follow the prefix", what,
        header_len, bytes.size() - prefix);
  }
  TARMAC_ASSIGN_OR_RETURN(NpyHeader h, parse_header(bytes.substr(prefix, header_len), what));
  const std::string_view data = bytes.substr(prefix + header_len);

  // Saturates at 2^64 so that any product that large reads as "too large", not as a wrapped
  // small number; a later zero dim still makes it zero, as it should.
  constexpr unsigned __int128 kTooLarge = static_cast<unsigned __int128>(1) << 64;
  unsigned __int128 need = h.itemsize;
  for (int64_t d : h.dims) {
    need *= static_cast<unsigned __int128>(d);
    if (need > kTooLarge) need = kTooLarge;
  }
  if (need != data.size()) {
    const std::string need_text = need >= kTooLarge ? std::string("2^64 or more")
                                                    : std::to_string(static_cast<uint64_t>(need));
    return invalid_argument("{}: data is {} bytes, but shape {} of {} needs {}", what, data.size(),
                            shape_text(h.dims), h.descr, need_text);
  }
  auto created = Tensor::create(h.dtype, h.dims);
  if (!created.is_ok()) return created.status().with_context(what);
  Tensor t = std::move(created).value();
  char* dst = static_cast<char*>(t.raw());
  if (h.fortran_order) {
    fortran_to_c_order(data.data(), dst, h.dims, h.itemsize);
  } else {
    std::memcpy(dst, data.data(), data.size());
  }
  if (h.byteswap) {
    for (size_t i = 0; i < data.size(); i += h.itemsize)
      std::reverse(dst + i, dst + i + h.itemsize);
  }
  if (h.dtype == DType::kBool) {
    // numpy treats any non-zero byte as True; a C++ bool must hold exactly 0 or 1.
    for (size_t i = 0; i < data.size(); ++i) dst[i] = dst[i] != 0;
  }
  return t;
}

StatusOr<Tensor> read_npy_file(const std::string& path) {
  TARMAC_ASSIGN_OR_RETURN(std::string bytes, read_whole_file(path));
  return parse_npy(bytes, path);
}

std::string npy_bytes(const Tensor& t) {
  const char* descr = descr_of(t.dtype());
  TARMAC_CHECK(descr != nullptr, "npy_bytes of a tensor with dtype {}", dtype_name(t.dtype()));
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr,
                                 shape_text(t.dims()));
  if (t.rank() > 0) dict.append(kGrowthAxisDigits - std::to_string(t.dim(0)).size(), ' ');
  // The header ends in '\n' and is padded so that the data starts on a 64-byte boundary; numpy
  // pads a full 64 bytes rather than none when it is already aligned, and so do we.
  size_t prefix = kMagic.size() + 2 + 2;
  size_t padded = dict.size() + 1;
  padded += kAlign - (prefix + padded) % kAlign;
  const bool v2 = padded > std::numeric_limits<uint16_t>::max();
  if (v2) {
    prefix += 2;
    padded = dict.size() + 1;
    padded += kAlign - (prefix + padded) % kAlign;
  }
  const Tensor widened = t.dtype() == DType::kBFloat16 ? t.cast(DType::kFloat32) : Tensor();
  const Tensor& src = widened.defined() ? widened : t;

  std::string out;
  out.reserve(prefix + padded + src.nbytes());
  out.append(kMagic);
  out.push_back(static_cast<char>(v2 ? 2 : 1));
  out.push_back('\0');
  const uint32_t header_len = static_cast<uint32_t>(padded);
  out.append(reinterpret_cast<const char*>(&header_len), v2 ? 4 : 2);
  out.append(dict);
  out.append(padded - dict.size() - 1, ' ');
  out.push_back('\n');
  out.append(static_cast<const char*>(src.raw()), src.nbytes());
  return out;
}

Status write_npy_file(const std::string& path, const Tensor& t) {
  if (!t.defined()) return invalid_argument("cannot write '{}': the tensor is undefined", path);
  return write_file_atomically(path, npy_bytes(t));
}

uint32_t crc32_ieee(std::string_view bytes, uint32_t crc) {
  static constexpr std::array<uint32_t, 256> kTable = [] {
    std::array<uint32_t, 256> table{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return table;
  }();
  crc = ~crc;
  for (char ch : bytes) crc = kTable[(crc ^ static_cast<unsigned char>(ch)) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

}  // namespace tarmac

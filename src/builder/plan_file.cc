#include "builder/plan_file.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace tarmac {

namespace {

void put_u32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string* s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t get_le(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(s[at + static_cast<size_t>(i)]))
         << (8 * i);
  return v;
}

// Offsets of the fixed fields (docs/engine_format.md).
constexpr size_t kVersionAt = 8, kFlagsAt = 12, kHeaderSizeAt = 16, kHeaderAt = 24;

/// Where the sections are, from the header size and the file size; sizes are checked against
/// what is left before they are used, so a truncated file fails here.
struct Layout {
  uint64_t header_size = 0;
  uint64_t model_at = 0, model_size = 0;  // section data offsets and sizes
  uint64_t built_at = 0, built_size = 0;
};

Status check_prefix(const char* data, size_t size, uint32_t* version, uint32_t* flags,
                    uint64_t* header_size, uint64_t file_size) {
  if (size < kHeaderAt || std::memcmp(data, kPlanMagic, sizeof(kPlanMagic)) != 0)
    return invalid_argument(
        "not a tarmac plan: expected the magic 'TARMACPL' at offset 0{}",
        file_size < kHeaderAt ? fmt::format(" (file has {} bytes)", file_size) : "");
  const std::string prefix(data, kHeaderAt);
  *version = static_cast<uint32_t>(get_le(prefix, kVersionAt, 4));
  if (*version != kPlanFormatVersion)
    return invalid_argument(
        "plan format version {} is not supported: this tarmac reads version {} (rebuild the plan)",
        *version, kPlanFormatVersion);
  *flags = static_cast<uint32_t>(get_le(prefix, kFlagsAt, 4));
  *header_size = get_le(prefix, kHeaderSizeAt, 8);
  const uint64_t left = file_size - kHeaderAt;
  if (*header_size > left || left - *header_size < 8 + 8 + 8 + 8 + 8)
    return invalid_argument("plan is truncated: header of {} bytes, but only {} bytes follow",
                            *header_size, left);
  return Status::ok();
}

/// A section's size field at `at` (read by `get`) against the bytes left in the file.
Status check_section(const char* what, uint64_t size, uint64_t at, uint64_t file_size,
                     uint64_t needed_after) {
  const uint64_t left = file_size - at;
  if (size > left || left - size < needed_after)
    return invalid_argument(
        "plan is truncated or damaged: the {} section of {} bytes at offset {} does not fit in "
        "the file of {} bytes",
        what, size, at, file_size);
  return Status::ok();
}

Status check_sum(const char* what, const char* data, size_t size, uint64_t stored) {
  const uint64_t actual = checksum64(data, size);
  if (stored != actual)
    return invalid_argument(
        "plan is corrupted: {} checksum {:016x} expected, content gives {:016x}", what, stored,
        actual);
  return Status::ok();
}

StatusOr<nlohmann::json> parse_header(const char* begin, size_t size) {
  nlohmann::json j = nlohmann::json::parse(begin, begin + size, nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return invalid_argument("plan header is not a JSON object");
  return j;
}

}  // namespace

uint64_t fnv1a64(const void* data, size_t size, uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = seed;
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t checksum64(const void* data, size_t size) {
  // Four FNV-1a lanes over interleaved 8-byte words, so that the multiplies overlap (a single
  // chain is latency-bound: about 3x slower on a 50 MB section), folded into one at the end.
  constexpr uint64_t kPrime = 0x100000001b3ull;
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h[4] = {0xcbf29ce484222325ull, 0xcbf29ce484222325ull ^ 1, 0xcbf29ce484222325ull ^ 2,
                   0xcbf29ce484222325ull ^ 3};
  auto word = [p](size_t at) {
    uint64_t w = 0;
    for (int b = 0; b < 8; ++b)
      w |= static_cast<uint64_t>(p[at + static_cast<size_t>(b)]) << (8 * b);
    return w;
  };
  size_t i = 0;
  for (; i + 32 <= size; i += 32)
    for (size_t j = 0; j < 4; ++j) h[j] = (h[j] ^ word(i + 8 * j)) * kPrime;
  for (size_t j = 0; i + 8 <= size; i += 8, ++j) h[j] = (h[j] ^ word(i)) * kPrime;
  for (; i < size; ++i) h[0] = (h[0] ^ p[i]) * kPrime;
  uint64_t r = h[0];
  for (size_t j = 1; j < 4; ++j) r = (r ^ h[j]) * kPrime;
  return r;
}

std::string fnv1a64_hex(const std::string& bytes) {
  return fmt::format("{:016x}", fnv1a64(bytes.data(), bytes.size()));
}

std::string serialize_plan(const nlohmann::json& header, const std::string& model, uint32_t flags,
                           const std::string& built) {
  const std::string h = header.dump();
  std::string out;
  out.reserve(kHeaderAt + h.size() + model.size() + built.size() + 40);
  out.append(kPlanMagic, sizeof(kPlanMagic));
  put_u32(&out, kPlanFormatVersion);
  put_u32(&out, flags);
  put_u64(&out, h.size());
  out += h;
  put_u64(&out, checksum64(out.data(), out.size()));
  for (const std::string* section : {&model, &built}) {
    const size_t start = out.size();
    put_u64(&out, section->size());
    out += *section;
    put_u64(&out, checksum64(out.data() + start, out.size() - start));
  }
  return out;
}

StatusOr<PlanContents> parse_plan(const std::string& bytes) {
  PlanContents p;
  uint64_t header_size = 0;
  TARMAC_RETURN_IF_ERROR(check_prefix(bytes.data(), bytes.size(), &p.format_version, &p.flags,
                                      &header_size, bytes.size()));
  const size_t header_end = kHeaderAt + static_cast<size_t>(header_size);
  TARMAC_RETURN_IF_ERROR(
      check_sum("header", bytes.data(), header_end, get_le(bytes, header_end, 8)));
  TARMAC_ASSIGN_OR_RETURN(p.header, parse_header(bytes.data() + kHeaderAt, header_size));
  size_t at = header_end + 8;
  for (auto [what, dest] : {std::pair<const char*, std::string*>{"model", &p.model},
                            std::pair<const char*, std::string*>{"built engine", &p.built}}) {
    const bool last = dest == &p.built;
    if (bytes.size() - at < 16)
      return invalid_argument("plan is truncated before the {} section", what);
    const uint64_t size = get_le(bytes, at, 8);
    TARMAC_RETURN_IF_ERROR(check_section(what, size, at + 8, bytes.size(), last ? 8 : 8 + 16));
    const size_t end = at + 8 + static_cast<size_t>(size);
    TARMAC_RETURN_IF_ERROR(check_sum(what, bytes.data() + at, end - at, get_le(bytes, end, 8)));
    *dest = bytes.substr(at + 8, static_cast<size_t>(size));
    at = end + 8;
  }
  if (at != bytes.size())
    return invalid_argument("plan has {} trailing bytes after its last section", bytes.size() - at);
  return p;
}

namespace {

uint64_t le64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

/// A read-only view of a whole file, mapped (private, copy-on-write) so that loading touches
/// only the pages it reads and tensors can point into it without a copy.
class Mapping {
 public:
  ~Mapping() {
    if (data_ && size_) munmap(data_, size_);
  }
  static StatusOr<std::shared_ptr<Mapping>> open(const std::string& path) {
    auto m = std::make_shared<Mapping>();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error("cannot open '{}': {}", path, std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return io_error("'{}' is not a regular file", path);
    }
    m->size_ = static_cast<size_t>(st.st_size);
    if (m->size_ > 0) {
      void* p = mmap(nullptr, m->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        m->size_ = 0;
        return io_error("cannot map '{}': {}", path, std::strerror(errno));
      }
      m->data_ = p;
    }
    ::close(fd);
    return m;
  }
  const char* data() const { return static_cast<const char*>(data_); }
  size_t size() const { return size_; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

StatusOr<PlanFile> open_plan_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return not_found("no file '{}'", path);
  TARMAC_ASSIGN_OR_RETURN(std::shared_ptr<Mapping> m, Mapping::open(path));
  const char* d = m->data();
  const uint64_t file_size = m->size();
  PlanFile pf;
  pf.path = path;
  uint64_t header_size = 0;
  TARMAC_RETURN_IF_ERROR(
      check_prefix(d, file_size, &pf.format_version, &pf.flags, &header_size, file_size));
  const size_t header_end = kHeaderAt + static_cast<size_t>(header_size);
  TARMAC_RETURN_IF_ERROR(check_sum("header", d, header_end, le64(d + header_end)));
  TARMAC_ASSIGN_OR_RETURN(pf.header, parse_header(d + kHeaderAt, header_size));
  pf.model_size = le64(d + header_end + 8);
  pf.model_at = header_end + 16;
  TARMAC_RETURN_IF_ERROR(check_section("model", pf.model_size, pf.model_at, file_size, 8 + 16));
  const uint64_t built_size_at = pf.model_at + pf.model_size + 8;
  const uint64_t built_size = le64(d + built_size_at);
  TARMAC_RETURN_IF_ERROR(
      check_section("built engine", built_size, built_size_at + 8, file_size, 8));
  if (file_size - (built_size_at + 8) - built_size != 8)
    return invalid_argument("plan has {} trailing bytes after its last section",
                            file_size - (built_size_at + 8) - built_size - 8);
  const size_t end = static_cast<size_t>(built_size_at + 8 + built_size);
  TARMAC_RETURN_IF_ERROR(
      check_sum("built engine", d + built_size_at, end - built_size_at, le64(d + end)));
  pf.built = std::string_view(d + built_size_at + 8, static_cast<size_t>(built_size));
  pf.mapping = m;
  return pf;
}

StatusOr<std::string> read_plan_model(const PlanFile& pf) {
  const auto* m = static_cast<const Mapping*>(pf.mapping.get());
  if (!m) return internal_error("plan '{}' is not open", pf.path);
  const char* d = m->data();
  const size_t at = static_cast<size_t>(pf.model_at) - 8;
  const size_t end = static_cast<size_t>(pf.model_at + pf.model_size);
  TARMAC_RETURN_IF_ERROR(check_sum("model", d + at, end - at, le64(d + end)));
  return std::string(d + pf.model_at, static_cast<size_t>(pf.model_size));
}

}  // namespace tarmac

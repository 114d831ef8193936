#include "builder/plan_file.h"

#include <cstring>

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
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = 0xcbf29ce484222325ull;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w = 0;
    for (int b = 0; b < 8; ++b)
      w |= static_cast<uint64_t>(p[i + static_cast<size_t>(b)]) << (8 * b);
    h ^= w;
    h *= 0x100000001b3ull;
  }
  for (; i < size; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string fnv1a64_hex(const std::string& bytes) {
  return fmt::format("{:016x}", fnv1a64(bytes.data(), bytes.size()));
}

std::string serialize_plan(const nlohmann::json& header, const std::string& model, uint32_t flags) {
  const std::string h = header.dump();
  std::string out(kPlanMagic, sizeof(kPlanMagic));
  put_u32(&out, kPlanFormatVersion);
  put_u32(&out, flags);
  put_u64(&out, h.size());
  out += h;
  put_u64(&out, model.size());
  out += model;
  put_u64(&out, checksum64(out.data(), out.size()));
  return out;
}

StatusOr<PlanContents> parse_plan(const std::string& bytes) {
  if (bytes.size() < kHeaderAt || std::memcmp(bytes.data(), kPlanMagic, sizeof(kPlanMagic)) != 0)
    return invalid_argument(
        "not a tarmac plan: expected the magic 'TARMACPL' at offset 0{}",
        bytes.size() < kHeaderAt ? fmt::format(" (file has {} bytes)", bytes.size()) : "");
  PlanContents p;
  p.format_version = static_cast<uint32_t>(get_le(bytes, kVersionAt, 4));
  if (p.format_version != kPlanFormatVersion)
    return invalid_argument("plan format version {} is not supported: this tarmac reads version {}",
                            p.format_version, kPlanFormatVersion);
  p.flags = static_cast<uint32_t>(get_le(bytes, kFlagsAt, 4));
  const uint64_t header_size = get_le(bytes, kHeaderSizeAt, 8);
  // Every size is checked against what is left before it is used: a truncated file fails here.
  const uint64_t left = bytes.size() - kHeaderAt;
  if (header_size > left || left - header_size < 16)
    return invalid_argument("plan is truncated: header of {} bytes, but only {} bytes follow",
                            header_size, left);
  const size_t model_size_at = kHeaderAt + static_cast<size_t>(header_size);
  const uint64_t model_size = get_le(bytes, model_size_at, 8);
  const uint64_t after = bytes.size() - model_size_at - 8;
  if (model_size > after || after - model_size != 8)
    return invalid_argument(
        "plan is truncated or has trailing bytes: expected {} bytes in all, found {}",
        model_size_at + 8 + model_size + 8, bytes.size());
  const size_t checksum_at = model_size_at + 8 + static_cast<size_t>(model_size);
  const uint64_t stored = get_le(bytes, checksum_at, 8);
  const uint64_t actual = checksum64(bytes.data(), checksum_at);
  if (stored != actual)
    return invalid_argument("plan is corrupted: checksum {:016x} expected, content gives {:016x}",
                            stored, actual);
  p.header = nlohmann::json::parse(bytes.begin() + kHeaderAt,
                                   bytes.begin() + static_cast<std::ptrdiff_t>(model_size_at),
                                   nullptr, /*allow_exceptions=*/false);
  if (p.header.is_discarded() || !p.header.is_object())
    return invalid_argument("plan header is not a JSON object");
  p.model = bytes.substr(model_size_at + 8, static_cast<size_t>(model_size));
  return p;
}

}  // namespace tarmac

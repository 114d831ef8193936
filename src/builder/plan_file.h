// The plan container (docs/engine_format.md): magic, format version, flags, a JSON header with
// the provenance, profiles, tactics and layer table, the ONNX model, and a checksum.
//   std::string bytes = serialize_plan(header, model_bytes, kPlanWeightsStripped);
//   StatusOr<PlanContents> p = parse_plan(bytes);  // checks magic, version, sizes, checksum
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/file_io.h"  // plans are read and written whole, atomically
#include "core/status.h"

namespace tarmac {

inline constexpr char kPlanMagic[8] = {'T', 'A', 'R', 'M', 'A', 'C', 'P', 'L'};
inline constexpr uint32_t kPlanFormatVersion = 1;
inline constexpr uint32_t kPlanWeightsStripped = 1u << 0;

struct PlanContents {
  uint32_t format_version = 0;
  uint32_t flags = 0;
  nlohmann::json header;
  std::string model;  // ONNX ModelProto bytes
};

std::string serialize_plan(const nlohmann::json& header, const std::string& model, uint32_t flags);
/// A truncated, corrupted or foreign file gets an error saying what was expected and found.
StatusOr<PlanContents> parse_plan(const std::string& bytes);

/// 64-bit FNV-1a, the checksum of plans and timing caches; hex of it for hashes in headers.
uint64_t fnv1a64(const void* data, size_t size, uint64_t seed = 0xcbf29ce484222325ull);
std::string fnv1a64_hex(const std::string& bytes);
/// The plan checksum: FNV-1a's xor-and-multiply over 8-byte little-endian words, then the
/// remaining bytes one by one — eight times fewer steps than byte-wise FNV-1a on 100 MB plans.
uint64_t checksum64(const void* data, size_t size);

}  // namespace tarmac

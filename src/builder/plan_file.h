// The plan container (docs/engine_format.md): magic, format version, flags, then three
// sections with a checksum each: a JSON header (provenance, profiles, tactics, layer table),
// the source ONNX model, and the built engine of profile 0 (may be empty).
//   std::string bytes = serialize_plan(header, model_bytes, kPlanWeightsStripped, built);
//   StatusOr<PlanContents> p = parse_plan(bytes);  // checks magic, version, sizes, checksums
//   StatusOr<PlanFile> f = open_plan_file("m.plan");  // header and built section only
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/file_io.h"  // plans are read and written whole, atomically
#include "core/status.h"

namespace tarmac {

inline constexpr char kPlanMagic[8] = {'T', 'A', 'R', 'M', 'A', 'C', 'P', 'L'};
inline constexpr uint32_t kPlanFormatVersion = 2;
inline constexpr uint32_t kPlanWeightsStripped = 1u << 0;

struct PlanContents {
  uint32_t format_version = 0;
  uint32_t flags = 0;
  nlohmann::json header;
  std::string model;  // ONNX ModelProto bytes
  std::string built;  // builder/built_graph.h bytes; empty when the plan has none
};

std::string serialize_plan(const nlohmann::json& header, const std::string& model, uint32_t flags,
                           const std::string& built = "");
/// A truncated, corrupted or foreign file gets an error saying what was expected and found.
StatusOr<PlanContents> parse_plan(const std::string& bytes);

/// A plan file opened for loading: mapped into memory, its header and built section checked;
/// the source model (the largest part) is read and checked only when read_plan_model() asks.
struct PlanFile {
  std::string path;
  uint32_t format_version = 0;
  uint32_t flags = 0;
  nlohmann::json header;
  std::string_view built;                 // inside `mapping`
  std::shared_ptr<const void> mapping;    // keeps the file mapped
  uint64_t model_at = 0, model_size = 0;  // the model section's bytes in the file
};
StatusOr<PlanFile> open_plan_file(const std::string& path);
/// The source model of an opened plan, checked against its checksum.
StatusOr<std::string> read_plan_model(const PlanFile& f);

/// 64-bit FNV-1a, the checksum of plans and timing caches; hex of it for hashes in headers.
uint64_t fnv1a64(const void* data, size_t size, uint64_t seed = 0xcbf29ce484222325ull);
std::string fnv1a64_hex(const std::string& bytes);
/// The plan section checksum (docs/engine_format.md): four FNV-1a lanes over interleaved
/// 8-byte little-endian words, the remaining bytes into the first, folded together.
uint64_t checksum64(const void* data, size_t size);

}  // namespace tarmac

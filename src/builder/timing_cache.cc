#include "builder/timing_cache.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "builder/plan_file.h"

namespace tarmac {

namespace {

constexpr const char* kFormat = "tarmac-timing-cache";
constexpr int kVersion = 1;

nlohmann::json device_json(const DeviceIdentity& d) {
  return {{"name", d.name},
          {"compute_capability", d.compute_capability},
          {"cuda_runtime", d.cuda_runtime_version},
          {"cudnn", d.cudnn_version},
          {"cublaslt", d.cublaslt_version}};
}

}  // namespace

Status load_timing_cache(const std::string& path, const DeviceIdentity& device,
                         std::map<std::string, TimedTactic>* entries, std::string* warning) {
  entries->clear();
  warning->clear();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::ok();
  TARMAC_ASSIGN_OR_RETURN(std::string text, read_whole_file(path, size_t{1} << 30));
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  auto bad = [&](const std::string& why) {
    return invalid_argument("timing cache '{}' is not valid: {}", path, why);
  };
  if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
  if (doc.value("format", "") != kFormat) return bad(fmt::format("format is not '{}'", kFormat));
  if (doc.value("version", 0) != kVersion)
    return bad(fmt::format("version {} (this tarmac reads {})", doc.value("version", 0), kVersion));
  if (!doc.contains("entries") || !doc["entries"].is_array() || !doc.contains("checksum"))
    return bad("missing 'entries' or 'checksum'");
  const std::string dumped = doc["entries"].dump();
  if (doc["checksum"] != fnv1a64_hex(dumped)) return bad("checksum mismatch (corrupted)");
  const nlohmann::json want = device_json(device);
  if (doc.value("device", nlohmann::json()) != want) {
    *warning = fmt::format(
        "timing cache '{}' was made for {} and is ignored here (this device and libraries: {})",
        path, doc.value("device", nlohmann::json()).dump(), want.dump());
    return Status::ok();
  }
  for (const auto& e : doc["entries"]) {
    if (!e.is_object() || !e.contains("key") || !e["key"].is_string() || !e.contains("tactic") ||
        !e["tactic"].is_string() || !e.contains("ms") || !e["ms"].is_number())
      return bad("an entry lacks key, tactic or ms");
    (*entries)[e["key"].get<std::string>()] =
        TimedTactic{e["tactic"].get<std::string>(), e["ms"].get<double>()};
  }
  return Status::ok();
}

Status save_timing_cache(const std::string& path, const DeviceIdentity& device,
                         const std::map<std::string, TimedTactic>& entries) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [key, t] : entries)
    list.push_back({{"key", key}, {"tactic", t.tactic}, {"ms", t.ms}});
  nlohmann::json doc = {{"format", kFormat},
                        {"version", kVersion},
                        {"device", device_json(device)},
                        {"entries", list},
                        {"checksum", fnv1a64_hex(list.dump())}};
  return write_file_atomically(path, doc.dump(1));
}

}  // namespace tarmac

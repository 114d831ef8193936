// The plan's JSON header (docs/engine_format.md) to and from the public EngineInfo / LayerInfo,
// plus the per-profile data only the engine needs (tactics, full shape ranges).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tarmac/engine.h"

namespace tarmac {

/// One profile as stored: every input's range (static inputs have min = opt = max), the
/// builder's tactic per node, and the layer table it produced.
struct PlanProfile {
  std::map<std::string, ShapeRange> ranges;
  std::map<std::string, std::string> tactics;
  std::vector<LayerInfo> layers;
};

/// The build choices a loaded engine replays (the header's "build" object).
struct PlanBuild {
  bool fp16 = false, bf16 = false, tf32 = true;
  std::vector<std::string> keep_fp32;
  bool allow_cpu_fallback = false;
  size_t workspace_limit = 0;
  int optimization_level = 3;
};

struct PlanHeader {
  EngineInfo info;
  PlanBuild build;
  std::vector<PlanProfile> profiles;
};

nlohmann::json header_to_json(const PlanHeader& h);
/// A header missing keys or with wrong types is an error naming the key.
StatusOr<PlanHeader> header_from_json(const nlohmann::json& j);

std::string dims_text(const Dims& d);  // "1x3x224x224", "?" for a dynamic dim

}  // namespace tarmac

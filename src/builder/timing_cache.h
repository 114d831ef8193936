// The timing cache file (docs/engine_format.md, "Timing cache"): the tactic timed fastest for
// each layer signature on one device with one set of library versions.
//   std::map<std::string, TimedTactic> entries;
//   std::string warning;
//   Status s = load_timing_cache("t.cache", device, &entries, &warning);  // missing file: ok
//   ... build ...
//   s = save_timing_cache("t.cache", device, entries);
#pragma once

#include <map>
#include <string>

#include "core/status.h"
#include "runtime/device_engine.h"

namespace tarmac {

/// Fills `entries` from `path`. A file that does not exist yet leaves them empty. A cache made
/// on another device or with other library versions is ignored: entries stay empty and
/// `warning` says what was expected and found. A malformed or corrupted file is an error.
Status load_timing_cache(const std::string& path, const DeviceIdentity& device,
                         std::map<std::string, TimedTactic>* entries, std::string* warning);
/// Writes atomically, with a checksum.
Status save_timing_cache(const std::string& path, const DeviceIdentity& device,
                         const std::map<std::string, TimedTactic>& entries);

}  // namespace tarmac

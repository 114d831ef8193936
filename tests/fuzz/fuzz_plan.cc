// libFuzzer target: arbitrary bytes as a plan (`tarmac inspect`, `Engine::deserialize` read
// plans users hand them): the container, the JSON header and the built-engine section. Bad
// plans must come back as a Status; any crash, hang, sanitizer report or abort is a bug. Plans
// with a valid container are also fed with their checksums repaired, so that mutations reach
// the header and the built-section parsers.
//   build-fuzz/tests/fuzz/fuzz_plan -max_len=65536 corpus/
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "builder/built_graph.h"
#include "builder/plan_file.h"
#include "core/parallel.h"
#include "core/tensor.h"
#include "tarmac/engine.h"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  tarmac::set_max_host_allocation_bytes(size_t{64} << 20);
  tarmac::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  (void)tarmac::Engine::read_info(bytes);
  // The built section on its own, as if its checksum had matched.
  auto owner = std::make_shared<std::string>(bytes);
  (void)tarmac::parse_built_model(*owner, owner, "fuzz");
  // The input as a header + model + built section, re-wrapped with valid checksums.
  const size_t third = size / 3;
  nlohmann::json header = nlohmann::json::parse(bytes.substr(0, third), nullptr, false);
  if (!header.is_object()) header = nlohmann::json::object();  // plans hold JSON objects
  const std::string plan =
      tarmac::serialize_plan(header, bytes.substr(third, third), 0, bytes.substr(2 * third));
  (void)tarmac::Engine::read_info(plan);
  auto parsed = tarmac::parse_plan(plan);
  if (!parsed.is_ok()) std::abort();  // a plan we wrote must parse
  return 0;
}

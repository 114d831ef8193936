// Small string helpers shared by the flag and file parsers.
//   for (const std::string& item : split("a:1,b:2", ',')) ...
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tarmac {

/// The pieces between separators, empty ones included: "" -> {""}, "a,,b" -> {a, "", b}.
std::vector<std::string> split(std::string_view s, char sep);

}  // namespace tarmac

// The op list in ops.def drives docs/operators.md and must be covered by tests.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "backends/cpu/kernel.h"
#include "ir/op_registry.h"

namespace tarmac {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string operators_markdown() {
  std::string s =
      "# Supported operators\n\n"
      "Generated from `src/ir/ops.def` by the `OpVocabulary.OperatorsDocIsUpToDate` test\n"
      "(`TARMAC_UPDATE_DOCS=1 build/tests/tarmac_unit_tests --gtest_filter=OpVocabulary.*`).\n"
      "Domain: ai.onnx (`\"\"`). Opsets: each op from the opset that introduced it up to 21.\n\n"
      "| op | family | since opset | CPU |\n|---|---|---|---|\n";
  for (const OpInfo& op : all_ops()) {
    s += "| " + std::string(op.name) + " | " + std::string(op.family) + " | " +
         std::to_string(op.since_opset) + " | " + (find_cpu_kernel(op.name) ? "yes" : "no") +
         " |\n";
  }
  s += fmt::format("\n{} operators.\n", all_ops().size());
  return s;
}

TEST(OpVocabulary, EveryOpHasInferenceAndCpuKernel) {
  std::set<std::string_view> seen;
  for (const OpInfo& op : all_ops()) {
    EXPECT_TRUE(seen.insert(op.name).second) << op.name << " is listed twice";
    EXPECT_NE(op.infer, nullptr) << op.name;
    EXPECT_NE(find_cpu_kernel(op.name), nullptr) << op.name;
    EXPECT_EQ(find_op(op.name), &op);
  }
}

TEST(OpVocabulary, OperatorsDocIsUpToDate) {
  const auto path = std::filesystem::path(TARMAC_SOURCE_DIR) / "docs" / "operators.md";
  const std::string want = operators_markdown();
  if (std::getenv("TARMAC_UPDATE_DOCS")) {
    std::ofstream(path) << want;
  }
  EXPECT_EQ(read_file(path), want)
      << "docs/operators.md is stale; regenerate it with "
         "TARMAC_UPDATE_DOCS=1 tarmac_unit_tests --gtest_filter=OpVocabulary.*";
}

TEST(OpVocabulary, EveryOpHasAUnitTestCase) {
  // Each op must be exercised by a case in tests/unit/ops/, which name ops by string literal
  // (OpTester("Relu") or a helper taking the op name).
  std::string all;
  for (const auto& e : std::filesystem::directory_iterator(
           std::filesystem::path(TARMAC_SOURCE_DIR) / "tests/unit/ops")) {
    all += read_file(e.path());
  }
  for (const OpInfo& op : all_ops()) {
    EXPECT_NE(all.find(fmt::format("\"{}\"", op.name)), std::string::npos)
        << op.name << " has no test case in tests/unit/ops/";
  }
}

}  // namespace
}  // namespace tarmac

// Times the graph passes on an ONNX model: import once, then optimize fresh copies.
//   tarmac_pass_speed MODEL.onnx [--repeat=5] [--shapes=x:1x3x224x224] [--sanitize]
// Prints the node count before and after and the median wall time of the pass pipeline
// (import excluded) for the builder's mode, or sanitize mode with constant folding.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "onnx/importer.h"
#include "passes/pass_manager.h"

namespace {

bool parse_dims(const std::string& s, tarmac::Dims* dims) {
  size_t b = 0;
  while (b <= s.size()) {
    size_t e = s.find('x', b);
    if (e == std::string::npos) e = s.size();
    try {
      dims->push_back(std::stoll(s.substr(b, e - b)));
    } catch (...) {
      return false;
    }
    b = e + 1;
  }
  return !dims->empty();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tarmac;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.onnx [--repeat=N] [--shapes=name:AxB] [--sanitize]\n",
                 argv[0]);
    return 2;
  }
  int repeat = 5;
  bool sanitize = false;
  std::map<std::string, Dims> shapes;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--repeat=", 0) == 0) {
      repeat = std::max(1, std::atoi(a.c_str() + 9));
    } else if (a == "--sanitize") {
      sanitize = true;
    } else if (a.rfind("--shapes=", 0) == 0) {
      const std::string spec = a.substr(9);
      const size_t colon = spec.rfind(':');
      Dims d;
      if (colon == std::string::npos || !parse_dims(spec.substr(colon + 1), &d)) {
        std::fprintf(stderr, "error: bad --shapes '%s'\n", spec.c_str());
        return 2;
      }
      shapes[spec.substr(0, colon)] = d;
    } else {
      std::fprintf(stderr, "error: unknown argument '%s'\n", a.c_str());
      return 2;
    }
  }
  std::vector<double> ms;
  size_t before = 0, after = 0;
  for (int r = 0; r < repeat; ++r) {
    auto imported = import_onnx_file(argv[1]);
    if (!imported.is_ok()) {
      std::fprintf(stderr, "error: %s\n", imported.status().message().c_str());
      return 1;
    }
    Model& m = imported->model;
    if (Status s = override_input_shapes(m.graph, shapes); !s.is_ok()) {
      std::fprintf(stderr, "error: %s\n", s.message().c_str());
      return 1;
    }
    before = m.graph.nodes.size();
    PassOptions o;
    o.evaluator = evaluate_node_on_cpu;
    o.allow_internal_ops = !sanitize;
    const auto t0 = std::chrono::steady_clock::now();
    Status s = default_pipeline().run(m, o, nullptr);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (!s.is_ok()) {
      std::fprintf(stderr, "error: %s\n", s.message().c_str());
      return 1;
    }
    after = m.graph.nodes.size();
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%s: %zu nodes -> %zu (%s mode); passes took %.1f ms (median of %d, min %.1f)\n",
              argv[1], before, after, sanitize ? "sanitize" : "builder", ms[ms.size() / 2], repeat,
              ms.front());
  return 0;
}

// The built engine section of a plan (docs/engine_format.md): the model as the builder left it —
// after graph passes, precision and layout assignment, with internal fused nodes and converted
// weights — so that loading a plan skips all of that and only uploads the weights.
//   TARMAC_ASSIGN_OR_RETURN(std::string bytes, serialize_built_model(built));
//   auto owner = std::make_shared<std::string>(std::move(bytes));
//   TARMAC_ASSIGN_OR_RETURN(Model m, parse_built_model(*owner, owner, "model.plan"));
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "ir/graph.h"

namespace tarmac {

/// A JSON description of the graph (values, nodes, attributes) followed by one aligned blob of
/// every initializer and tensor attribute. kUnsupported for graphs it cannot hold (subgraph
/// attributes, attribute strings that are not UTF-8).
StatusOr<std::string> serialize_built_model(const Model& model);

/// The model back, linked and sorted (not yet inferred: the runtime verifies and infers it).
/// The constants point into `bytes` (no copy); the returned model keeps `owner`, which keeps
/// `bytes` alive, until its last constant goes. `what` names the source in errors.
StatusOr<Model> parse_built_model(std::string_view bytes, std::shared_ptr<const void> owner,
                                  const std::string& what);

}  // namespace tarmac

#include "sim/scene_config.h"

#include <cmath>
#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tarmac::sim {

namespace {

using nlohmann::json;

constexpr int kMaxPerStand = 50;
constexpr int kMaxStands = 4;

ClassConfig gse(int cmin, int cmax, Range l, Range w, Range h) { return {{cmin, cmax}, l, w, h}; }

// Checks a JSON object's keys against the allowed ones.
Status check_keys(const json& j, const std::string& where,
                  std::initializer_list<const char*> keys) {
  if (!j.is_object()) return invalid_argument("{}: expected a JSON object", where);
  for (const auto& item : j.items()) {
    bool known = false;
    std::string list;
    for (const char* k : keys) {
      known = known || item.key() == k;
      list += (list.empty() ? "" : ", ") + std::string(k);
    }
    if (!known)
      return invalid_argument("{}: unknown key '{}' (expected one of: {})", where, item.key(),
                              list);
  }
  return Status::ok();
}

StatusOr<float> read_number(const json& j, const std::string& where) {
  if (!j.is_number()) return invalid_argument("{}: expected a number", where);
  const double v = j.get<double>();
  if (!std::isfinite(v)) return invalid_argument("{}: not a finite number", where);
  return static_cast<float>(v);
}

StatusOr<bool> read_bool(const json& j, const std::string& where) {
  if (!j.is_boolean()) return invalid_argument("{}: expected true or false", where);
  return j.get<bool>();
}

/// [min, max] of numbers with lo <= min <= max <= hi; `positive` also demands min > 0.
StatusOr<Range> read_range(const json& j, const std::string& where, float lo, float hi,
                           bool positive) {
  if (!j.is_array() || j.size() != 2)
    return invalid_argument("{}: expected [min, max], two numbers", where);
  TARMAC_ASSIGN_OR_RETURN(float a, read_number(j[0], where + "[0]"));
  TARMAC_ASSIGN_OR_RETURN(float b, read_number(j[1], where + "[1]"));
  if (positive && (a <= 0 || b <= 0))
    return invalid_argument("{}: sizes must be positive, got [{}, {}]", where, a, b);
  if (a > b) return invalid_argument("{}: min {} is greater than max {}", where, a, b);
  if (a < lo || b > hi)
    return invalid_argument("{}: [{}, {}] is outside the plausible range [{}, {}]", where, a, b, lo,
                            hi);
  return Range{a, b};
}

StatusOr<CountRange> read_count(const json& j, const std::string& where, int hi) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_number_integer() || !j[1].is_number_integer())
    return invalid_argument("{}: expected [min, max], two integers", where);
  const int64_t a = j[0].get<int64_t>(), b = j[1].get<int64_t>();
  if (a < 0 || b < 0) return invalid_argument("{}: counts must not be negative", where);
  if (a > b) return invalid_argument("{}: min {} is greater than max {}", where, a, b);
  if (b > hi) return invalid_argument("{}: at most {} allowed, got {}", where, hi, b);
  return CountRange{static_cast<int>(a), static_cast<int>(b)};
}

Status read_aircraft_type(const json& j, const std::string& where, AircraftTypeConfig* t) {
  TARMAC_RETURN_IF_ERROR(check_keys(j, where, {"length", "span", "height", "fuselage_diameter"}));
  if (j.contains("length")) {
    TARMAC_ASSIGN_OR_RETURN(t->length, read_range(j["length"], where + ".length", 10, 90, true));
  }
  if (j.contains("span")) {
    TARMAC_ASSIGN_OR_RETURN(t->span, read_range(j["span"], where + ".span", 10, 90, true));
  }
  if (j.contains("height")) {
    TARMAC_ASSIGN_OR_RETURN(t->height, read_range(j["height"], where + ".height", 4, 30, true));
  }
  if (j.contains("fuselage_diameter")) {
    TARMAC_ASSIGN_OR_RETURN(
        t->fuselage_diameter,
        read_range(j["fuselage_diameter"], where + ".fuselage_diameter", 1.5f, 8, true));
  }
  const float d = t->fuselage_diameter.max;
  if (t->length.min < 5 * d || t->span.min < 4 * d || t->height.min < 2 * d)
    return invalid_argument(
        "{}: implausible proportions (need length >= 5, span >= 4 and height >= 2 fuselage "
        "diameters; fuselage_diameter max {} with length min {}, span min {}, height min {})",
        where, d, t->length.min, t->span.min, t->height.min);
  return Status::ok();
}

Status read_aircraft(const json& j, const std::string& where, SceneConfig* c) {
  TARMAC_RETURN_IF_ERROR(
      check_keys(j, where, {"count", "types", "widebody_probability", "narrowbody", "widebody"}));
  ClassConfig& cc = c->classes[static_cast<size_t>(ObjectClass::kAircraft)];
  if (j.contains("count")) {
    TARMAC_ASSIGN_OR_RETURN(cc.count, read_count(j["count"], where + ".count (per stand)", 1));
  }
  if (j.contains("types")) {
    const json& t = j["types"];
    if (!t.is_array() || t.empty())
      return invalid_argument("{}.types: expected a non-empty list of aircraft types", where);
    c->narrowbody = c->widebody = false;
    for (const json& v : t) {
      const std::string s = v.is_string() ? v.get<std::string>() : v.dump();
      if (s == "narrowbody") {
        c->narrowbody = true;
      } else if (s == "widebody") {
        c->widebody = true;
      } else {
        return invalid_argument(
            "{}.types: unknown aircraft type {} (expected narrowbody or widebody)", where, s);
      }
    }
  }
  if (j.contains("widebody_probability")) {
    TARMAC_ASSIGN_OR_RETURN(
        float p, read_number(j["widebody_probability"], where + ".widebody_probability"));
    if (p < 0 || p > 1)
      return invalid_argument("{}.widebody_probability: {} is not in [0, 1]", where, p);
    c->widebody_probability = p;
  }
  if (j.contains("narrowbody"))
    TARMAC_RETURN_IF_ERROR(
        read_aircraft_type(j["narrowbody"], where + ".narrowbody", &c->narrowbody_dims));
  if (j.contains("widebody"))
    TARMAC_RETURN_IF_ERROR(
        read_aircraft_type(j["widebody"], where + ".widebody", &c->widebody_dims));
  return Status::ok();
}

Status read_class(const json& j, const std::string& where, ObjectClass cls, ClassConfig* cc) {
  TARMAC_RETURN_IF_ERROR(check_keys(j, where, {"count", "length", "width", "height"}));
  // Upper bounds keep values physical: people and cones are small, vehicles under 20 m.
  const bool small = cls == ObjectClass::kPerson || cls == ObjectClass::kCone;
  const float max_size = small ? 2.5f : 20.0f;
  const int max_count = cls == ObjectClass::kBaggageCart ? 6 : kMaxPerStand;
  if (j.contains("count")) {
    TARMAC_ASSIGN_OR_RETURN(cc->count, read_count(j["count"], where + ".count", max_count));
  }
  if (j.contains("length")) {
    TARMAC_ASSIGN_OR_RETURN(cc->length,
                            read_range(j["length"], where + ".length", 0.05f, max_size, true));
  }
  if (j.contains("width")) {
    TARMAC_ASSIGN_OR_RETURN(cc->width,
                            read_range(j["width"], where + ".width", 0.05f, max_size, true));
  }
  if (j.contains("height")) {
    TARMAC_ASSIGN_OR_RETURN(cc->height,
                            read_range(j["height"], where + ".height", 0.2f, max_size, true));
  }
  return Status::ok();
}

Status read_config(const json& root, SceneConfig* c) {
  TARMAC_RETURN_IF_ERROR(check_keys(
      root, "top level", {"stands", "place", "classes", "sensor", "ego", "markings", "clutter"}));
  if (root.contains("stands")) {
    TARMAC_ASSIGN_OR_RETURN(c->stands, read_count(root["stands"], "stands", kMaxStands));
    if (c->stands.min < 1) return invalid_argument("stands: at least 1 stand is needed");
  }
  if (root.contains("place")) {
    const json& p = root["place"];
    if (!p.is_array()) return invalid_argument("place: expected a list of class names");
    std::vector<bool> keep(kNumClasses, false);
    for (const json& v : p) {
      const std::string name = v.is_string() ? v.get<std::string>() : v.dump();
      const auto cls = class_from_name(name);
      if (!cls)
        return invalid_argument("place: unknown class '{}' (expected one of: {})", name,
                                fmt::join(class_names(), ", "));
      keep[static_cast<size_t>(*cls)] = true;
    }
    for (int i = 0; i < kNumClasses; ++i)
      if (!keep[static_cast<size_t>(i)]) c->classes[static_cast<size_t>(i)].count = {0, 0};
  }
  if (root.contains("classes")) {
    const json& cl = root["classes"];
    if (!cl.is_object()) return invalid_argument("classes: expected a JSON object");
    for (const auto& item : cl.items()) {
      const auto cls = class_from_name(item.key());
      if (!cls)
        return invalid_argument("classes: unknown class '{}' (expected one of: {})", item.key(),
                                fmt::join(class_names(), ", "));
      const std::string where = "classes." + item.key();
      if (*cls == ObjectClass::kAircraft) {
        TARMAC_RETURN_IF_ERROR(read_aircraft(item.value(), where, c));
      } else {
        TARMAC_RETURN_IF_ERROR(
            read_class(item.value(), where, *cls, &c->classes[static_cast<size_t>(*cls)]));
      }
    }
  }
  if (root.contains("sensor")) {
    const json& s = root["sensor"];
    TARMAC_RETURN_IF_ERROR(check_keys(s, "sensor", {"height", "range_noise", "dropout"}));
    if (s.contains("height")) {
      TARMAC_ASSIGN_OR_RETURN(c->sensor_height,
                              read_range(s["height"], "sensor.height", 0.5f, 10, true));
    }
    if (s.contains("range_noise")) {
      TARMAC_ASSIGN_OR_RETURN(float v, read_number(s["range_noise"], "sensor.range_noise"));
      if (v < 0 || v > 1) return invalid_argument("sensor.range_noise: {} m is not in [0, 1]", v);
      c->range_noise = v;
    }
    if (s.contains("dropout")) {
      TARMAC_ASSIGN_OR_RETURN(float v, read_number(s["dropout"], "sensor.dropout"));
      if (v < 0 || v >= 1) return invalid_argument("sensor.dropout: {} is not in [0, 1)", v);
      c->dropout = v;
    }
  }
  if (root.contains("ego")) {
    const json& e = root["ego"];
    TARMAC_RETURN_IF_ERROR(check_keys(e, "ego", {"distance"}));
    if (e.contains("distance")) {
      TARMAC_ASSIGN_OR_RETURN(c->ego_distance,
                              read_range(e["distance"], "ego.distance", 0, 150, false));
    }
  }
  if (root.contains("markings")) {
    TARMAC_ASSIGN_OR_RETURN(c->markings, read_bool(root["markings"], "markings"));
  }
  if (root.contains("clutter")) {
    TARMAC_ASSIGN_OR_RETURN(c->clutter, read_bool(root["clutter"], "clutter"));
  }
  return Status::ok();
}

// Floats as their shortest decimal form (0.35, not 0.3499999940395355).
double num(float v) { return std::stod(fmt::format("{}", v)); }
json range_json(Range r) { return json::array({num(r.min), num(r.max)}); }

}  // namespace

SceneConfig default_scene_config() {
  SceneConfig c;
  auto set = [&](ObjectClass k, ClassConfig cc) { c.classes[static_cast<size_t>(k)] = cc; };
  // Ranges span common models (manufacturers' data sheets, rounded); docs/airside_dataset.md
  // lists the sources.
  set(ObjectClass::kAircraft, {{1, 1}, {}, {}, {}});
  set(ObjectClass::kPushbackTug, gse(0, 1, {4.5f, 7.5f}, {2.2f, 3.2f}, {1.4f, 2.3f}));
  set(ObjectClass::kBaggageTractor, gse(1, 2, {2.6f, 3.4f}, {1.2f, 1.6f}, {1.5f, 2.1f}));
  set(ObjectClass::kBaggageCart, gse(1, 4, {2.6f, 3.3f}, {1.3f, 1.6f}, {1.6f, 2.1f}));
  set(ObjectClass::kBeltLoader, gse(1, 2, {7.0f, 8.5f}, {1.8f, 2.3f}, {1.4f, 1.9f}));
  set(ObjectClass::kFuelTruck, gse(0, 1, {7.5f, 12.0f}, {2.4f, 2.6f}, {2.8f, 3.6f}));
  set(ObjectClass::kCateringTruck, gse(0, 1, {7.0f, 9.5f}, {2.4f, 2.6f}, {3.4f, 4.2f}));
  set(ObjectClass::kPassengerStairs, gse(0, 1, {6.0f, 9.0f}, {2.0f, 2.6f}, {2.4f, 3.8f}));
  set(ObjectClass::kGroundPowerUnit, gse(0, 1, {2.0f, 3.2f}, {1.2f, 1.8f}, {1.3f, 2.0f}));
  set(ObjectClass::kPerson, gse(2, 8, {0.22f, 0.32f}, {0.40f, 0.52f}, {1.55f, 1.95f}));
  set(ObjectClass::kCone, gse(4, 10, {0.30f, 0.45f}, {0.30f, 0.45f}, {0.45f, 1.0f}));
  // A319 to B737-900 / A321 class; B777 / A350 class (airport planning manuals, rounded).
  c.narrowbody_dims = {{33.0f, 40.0f}, {34.0f, 36.0f}, {11.5f, 12.6f}, {3.7f, 4.0f}};
  c.widebody_dims = {{63.0f, 74.0f}, {60.0f, 65.0f}, {17.0f, 18.6f}, {5.6f, 6.2f}};
  return c;
}

StatusOr<SceneConfig> parse_scene_config(const std::string& json_text, const std::string& source) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {
    return invalid_argument("scene file '{}': invalid JSON: {}", source, e.what());
  }
  SceneConfig c = default_scene_config();
  Status s = read_config(root, &c);
  if (!s.is_ok()) return s.with_context("scene file '" + source + "'");
  return c;
}

std::string scene_config_to_json(const SceneConfig& c, int indent) {
  json j;
  j["stands"] = json::array({c.stands.min, c.stands.max});
  json classes = json::object();
  for (int i = 0; i < kNumClasses; ++i) {
    const ClassConfig& cc = c.classes[static_cast<size_t>(i)];
    json e;
    e["count"] = json::array({cc.count.min, cc.count.max});
    if (static_cast<ObjectClass>(i) == ObjectClass::kAircraft) {
      json types = json::array();
      if (c.narrowbody) types.push_back("narrowbody");
      if (c.widebody) types.push_back("widebody");
      e["types"] = types;
      e["widebody_probability"] = num(c.widebody_probability);
      for (const auto& [name, t] :
           {std::pair{"narrowbody", &c.narrowbody_dims}, std::pair{"widebody", &c.widebody_dims}}) {
        e[name] = {{"length", range_json(t->length)},
                   {"span", range_json(t->span)},
                   {"height", range_json(t->height)},
                   {"fuselage_diameter", range_json(t->fuselage_diameter)}};
      }
    } else {
      e["length"] = range_json(cc.length);
      e["width"] = range_json(cc.width);
      e["height"] = range_json(cc.height);
    }
    classes[class_name(static_cast<ObjectClass>(i))] = e;
  }
  j["classes"] = classes;
  json sensor;
  sensor["height"] = range_json(c.sensor_height);
  if (c.range_noise) sensor["range_noise"] = num(*c.range_noise);
  if (c.dropout) sensor["dropout"] = num(*c.dropout);
  j["sensor"] = sensor;
  j["ego"] = {{"distance", range_json(c.ego_distance)}};
  j["markings"] = c.markings;
  j["clutter"] = c.clutter;
  return j.dump(indent);
}

}  // namespace tarmac::sim

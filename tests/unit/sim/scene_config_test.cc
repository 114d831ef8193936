// scene.json parsing: overrides and clear rejections of bad files.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "sim/scene_config.h"

namespace tarmac::sim {
namespace {

TEST(SimSceneConfig, EmptyObjectKeepsDefaults) {
  auto c = parse_scene_config("{}", "scene.json");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  const SceneConfig d = default_scene_config();
  EXPECT_EQ(c->of(ObjectClass::kPerson).count.max, d.of(ObjectClass::kPerson).count.max);
  EXPECT_FLOAT_EQ(c->sensor_height.min, 1.8f);
  EXPECT_FLOAT_EQ(c->sensor_height.max, 3.0f);
  EXPECT_TRUE(c->narrowbody && c->widebody);
  for (int i = 0; i < kNumClasses; ++i) {
    const ClassConfig& cc = d.classes[static_cast<size_t>(i)];
    EXPECT_LE(cc.count.min, cc.count.max) << class_name(static_cast<ObjectClass>(i));
    if (static_cast<ObjectClass>(i) == ObjectClass::kAircraft) continue;
    EXPECT_GT(cc.length.min, 0);
    EXPECT_LE(cc.length.min, cc.length.max);
    EXPECT_LE(cc.height.min, cc.height.max);
  }
}

TEST(SimSceneConfig, OverridesCountsRangesAndSensor) {
  auto c = parse_scene_config(R"({
    "stands": [2, 3],
    "classes": {
      "Cone": {"count": [1, 2], "height": [0.5, 0.7]},
      "Aircraft": {"types": ["widebody"], "widebody": {"length": [64, 66]}}
    },
    "sensor": {"height": [2.0, 2.5], "range_noise": 0.01, "dropout": 0.05},
    "ego": {"distance": [10, 20]},
    "markings": false
  })",
                              "scene.json");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->stands.min, 2);
  EXPECT_EQ(c->stands.max, 3);
  EXPECT_EQ(c->of(ObjectClass::kCone).count.max, 2);
  EXPECT_FLOAT_EQ(c->of(ObjectClass::kCone).height.max, 0.7f);
  EXPECT_FALSE(c->narrowbody);
  EXPECT_TRUE(c->widebody);
  EXPECT_FLOAT_EQ(c->widebody_dims.length.min, 64.0f);
  EXPECT_FLOAT_EQ(*c->range_noise, 0.01f);
  EXPECT_FLOAT_EQ(*c->dropout, 0.05f);
  EXPECT_FLOAT_EQ(c->ego_distance.max, 20.0f);
  EXPECT_FALSE(c->markings);
  // The effective configuration round-trips through its JSON form.
  auto again = parse_scene_config(scene_config_to_json(*c, 2), "dataset.json");
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_FLOAT_EQ(again->of(ObjectClass::kCone).height.max, 0.7f);
  EXPECT_FALSE(again->narrowbody);
}

TEST(SimSceneConfig, PlaceKeepsOnlyListedClasses) {
  auto c = parse_scene_config(R"({"place": ["Aircraft", "Person"]})", "scene.json");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_GT(c->of(ObjectClass::kPerson).count.max, 0);
  EXPECT_EQ(c->of(ObjectClass::kCone).count.max, 0);
  EXPECT_EQ(c->of(ObjectClass::kBeltLoader).count.max, 0);
}

TEST(SimSceneConfig, RejectsBadFilesWithClearMessages) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", "invalid JSON"},
      {"[1, 2]", "expected a JSON object"},
      {R"({"colour": "red"})", "unknown key 'colour'"},
      {R"({"classes": {"Airplane": {}}})", "unknown class 'Airplane'"},
      {R"({"place": ["Truck"]})", "unknown class 'Truck'"},
      {R"({"classes": {"Cone": {"size": [1, 2]}}})", "unknown key 'size'"},
      {R"({"classes": {"BaggageCart": {"length": [3.5, 2.0]}}})",
       "classes.BaggageCart.length: min 3.5 is greater than max 2"},
      {R"({"classes": {"FuelTruck": {"width": [-1, 2]}}})", "sizes must be positive"},
      {R"({"classes": {"Person": {"height": [0, 1.8]}}})", "sizes must be positive"},
      {R"({"classes": {"Person": {"height": [1.5, 4]}}})", "outside the plausible range"},
      {R"({"classes": {"Person": {"height": "tall"}}})", "expected [min, max]"},
      {R"({"classes": {"Cone": {"count": [1.5, 2]}}})", "two integers"},
      {R"({"classes": {"Cone": {"count": [3, 1]}}})", "min 3 is greater than max 1"},
      {R"({"classes": {"Aircraft": {"count": [0, 2]}}})", "at most 1"},
      {R"({"classes": {"Aircraft": {"length": [30, 40]}}})", "unknown key 'length'"},
      {R"({"classes": {"Aircraft": {"types": ["jumbo"]}}})", "unknown aircraft type"},
      {R"({"classes": {"Aircraft": {"narrowbody": {"fuselage_diameter": [7, 8]}}}})",
       "implausible proportions"},
      {R"({"stands": [0, 1]})", "at least 1 stand"},
      {R"({"sensor": {"dropout": 1.5}})", "sensor.dropout"},
      {R"({"sensor": {"height": [3, 2]}})", "sensor.height: min 3 is greater than max 2"},
      {R"({"markings": "yes"})", "expected true or false"},
  };
  for (const auto& [text, expected] : cases) {
    auto c = parse_scene_config(text, "bad.json");
    ASSERT_FALSE(c.is_ok()) << text;
    EXPECT_NE(c.status().message().find(expected), std::string::npos)
        << text << " -> " << c.status().message();
    EXPECT_NE(c.status().message().find("scene file 'bad.json'"), std::string::npos);
  }
}

}  // namespace
}  // namespace tarmac::sim

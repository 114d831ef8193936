// Beam tables and sampling of the lidar models.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "sim/sensor.h"

namespace tarmac::sim {
namespace {

std::vector<float> sorted_spacings(const SensorModel& s) {
  std::vector<float> e = s.elevation_deg;
  std::sort(e.begin(), e.end());
  std::vector<float> d;
  for (size_t i = 1; i < e.size(); ++i) d.push_back(e[i] - e[i - 1]);
  return d;
}

TEST(SimSensor, Hdl64BeamTable) {
  auto s = sensor_model("hdl64");
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->beams(), 64);
  EXPECT_NEAR(s->max_elevation_deg(), 2.0f, 1e-4f);
  EXPECT_NEAR(s->min_elevation_deg(), -24.9f, 1e-4f);
  EXPECT_EQ(s->columns, 2083);
  EXPECT_NEAR(s->azimuth_resolution_deg(), 0.17f, 0.005f);
  // Two blocks: about a third of a degree apart above, about half a degree below.
  const std::vector<float> d = sorted_spacings(*s);
  EXPECT_NEAR(d.back(), 1.0f / 3.0f, 1e-3f);
  EXPECT_NEAR(d.front(), 16.07f / 31.0f, 1e-3f);
  EXPECT_GT(s->max_range, s->min_range);
  EXPECT_GT(s->range_noise_sigma, 0);
}

TEST(SimSensor, Vlp32BeamTableIsNonUniform) {
  auto s = sensor_model("vlp32");
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->beams(), 32);
  EXPECT_FLOAT_EQ(s->min_elevation_deg(), -25.0f);
  EXPECT_FLOAT_EQ(s->max_elevation_deg(), 15.0f);
  EXPECT_EQ(std::set<float>(s->elevation_deg.begin(), s->elevation_deg.end()).size(), 32u);
  const std::vector<float> d = sorted_spacings(*s);
  EXPECT_LT(*std::min_element(d.begin(), d.end()), 0.34f);  // dense near the horizon
  EXPECT_GT(*std::max_element(d.begin(), d.end()), 4.0f);   // sparse at the edges
  EXPECT_EQ(s->columns, 1800);
  EXPECT_NEAR(s->azimuth_resolution_deg(), 0.2f, 1e-5f);
}

TEST(SimSensor, Os128BeamTableIsUniform) {
  auto s = sensor_model("os128");
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->beams(), 128);
  EXPECT_NEAR(s->min_elevation_deg(), -22.5f, 1e-4f);
  EXPECT_NEAR(s->max_elevation_deg(), 22.5f, 1e-4f);
  for (float d : sorted_spacings(*s)) EXPECT_NEAR(d, 45.0f / 127.0f, 1e-3f);
  EXPECT_EQ(s->columns, 2048);
}

TEST(SimSensor, UnknownNameIsAnError) {
  auto s = sensor_model("hdl32");
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("unknown sensor 'hdl32'"), std::string::npos);
  EXPECT_NE(s.status().message().find("hdl64, vlp32, os128"), std::string::npos);
}

}  // namespace
}  // namespace tarmac::sim

#include "perception/render/bev_render.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#if TARMAC_WITH_PNG
#include <png.h>
#endif

namespace tarmac {
namespace {

namespace fs = std::filesystem;

// 10 m x 10 m at 0.1 m: 100 x 100 pixels; row = (10 - x) / 0.1, col = (5 - y) / 0.1.
const BevView kView{0, -5, 10, 5, 0.1};

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("tarmac_render_" + std::to_string(::getpid()) + "_" + name);
}

TEST(Render, ViewSizeAndPixelMapping) {
  EXPECT_EQ(bev_width(kView), 100);
  EXPECT_EQ(bev_height(kView), 100);
  double c, r;
  bev_to_pixel(kView, 7.25, -2.25, &c, &r);
  EXPECT_NEAR(c, 72.5, 1e-9);
  EXPECT_NEAR(r, 27.5, 1e-9);
  const BevView kitti;  // 0,-40,70.4,40 at 0.1 m
  EXPECT_EQ(bev_width(kitti), 800);
  EXPECT_EQ(bev_height(kitti), 704);
}

TEST(Render, BoxOutlineAndHeadingTickAtKnownPixels) {
  // Centre (5, 0), 1.9 m long along +x, 0.9 m wide: x in [4.05, 5.95] -> rows 40..59,
  // y in [-0.45, 0.45] -> cols 45..54. The heading tick runs from the centre (row 50, col 50)
  // up to the front edge (row 40, col 50).
  RgbImage img(100, 100, kBevBackground);
  const Rgb red{255, 0, 0};
  draw_box(&img, kView, Box3d{5, 0, 0, 1.9f, 0.9f, 1.5f, 0}, red, LineStyle::kSolid);
  for (int col = 45; col <= 54; ++col) {
    EXPECT_EQ(img.at(col, 40), red) << col;
    EXPECT_EQ(img.at(col, 59), red) << col;
  }
  for (int row = 40; row <= 59; ++row) {
    EXPECT_EQ(img.at(45, row), red) << row;
    EXPECT_EQ(img.at(54, row), red) << row;
  }
  for (int row = 40; row <= 50; ++row) EXPECT_EQ(img.at(50, row), red) << row;
  EXPECT_EQ(img.at(50, 55), kBevBackground);  // behind the centre: no tick
  EXPECT_EQ(img.at(47, 50), kBevBackground);  // inside the box
  EXPECT_EQ(img.at(50, 39), kBevBackground);  // just outside the front edge
  EXPECT_EQ(img.at(44, 50), kBevBackground);
  int lit = 0;
  for (int row = 0; row < 100; ++row)
    for (int col = 0; col < 100; ++col) lit += !(img.at(col, row) == kBevBackground);
  EXPECT_EQ(lit, 2 * 10 + 2 * 18 + 10);  // the outline and the tick's 10 pixels inside it
}

TEST(Render, RotatedBoxStaysOnItsCorners) {
  // Heading +90 degrees: the front is +y, i.e. to the left of the picture.
  RgbImage img(100, 100, kBevBackground);
  const Rgb c{0, 255, 0};
  draw_box(&img, kView, Box3d{5, 0, 0, 1.9f, 0.9f, 1.5f, 1.5707964f}, c, LineStyle::kSolid);
  // Front edge at y = 0.95 -> col 40; heading tick from col 50 to col 40 along row 50.
  for (int col = 40; col <= 50; ++col) EXPECT_EQ(img.at(col, 50), c) << col;
  EXPECT_EQ(img.at(55, 50), kBevBackground);
}

TEST(Render, DashedLinesLeaveGaps) {
  RgbImage img(100, 10, kBevBackground);
  draw_line(&img, 0.5, 5.5, 99.5, 5.5, Rgb{255, 255, 255}, LineStyle::kDashed);
  int lit = 0;
  for (int col = 0; col < 100; ++col) lit += img.at(col, 5) == Rgb{255, 255, 255};
  EXPECT_GT(lit, 40);
  EXPECT_LT(lit, 70);
  // Far outside the picture: clipped away, nothing drawn and no long loop.
  draw_line(&img, -1e9, -1e9, -1e9 + 1, 1e9, Rgb{1, 2, 3});
  EXPECT_EQ(img.at(0, 0), kBevBackground);
}

TEST(Render, PointLandsOnItsPixel) {
  RgbImage img(100, 100, kBevBackground);
  // x 7.25, y -2.25 -> row 27, col 72; a second point outside the view is skipped.
  draw_points(&img, kView, {7.25f, -2.25f, 0.5f, 0.3f, 50.f, 0.f, 0.f, 0.f},
              PointColoring::kHeight);
  EXPECT_FALSE(img.at(72, 27) == kBevBackground);
  int lit = 0;
  for (int row = 0; row < 100; ++row)
    for (int col = 0; col < 100; ++col) lit += !(img.at(col, row) == kBevBackground);
  EXPECT_EQ(lit, 1);
  // Height colouring: a low and a high point differ in colour.
  RgbImage two(100, 100, kBevBackground);
  draw_points(&two, kView, {1.05f, 0.05f, -2.f, 0, 2.05f, 0.05f, 1.f, 0}, PointColoring::kHeight);
  EXPECT_FALSE(two.at(49, 89) == two.at(49, 79));
}

TEST(Render, TextUsesTheBitmapFont) {
  RgbImage img(20, 10, kBevBackground);
  draw_text(&img, 1, 1, "I", Rgb{255, 255, 255}, 1);
  // 'I' has its top bar in cells 1..3 of row 0 and the stem in cell 2.
  EXPECT_EQ(img.at(2, 1), (Rgb{255, 255, 255}));
  EXPECT_EQ(img.at(3, 4), (Rgb{255, 255, 255}));
  EXPECT_EQ(img.at(1, 4), kBevBackground);
  EXPECT_EQ(text_width("AB", 2), 22);
}

TEST(Render, SceneWithLegend) {
  BevScene scene;
  scene.points = {5, 0, 0, 0.5f};
  LabeledBox car;
  car.box = Box3d{5, 0, 0, 1.9f, 0.9f, 1.5f, 0};
  car.cls = "Car";
  scene.gt = {car};
  car.cls = "Pedestrian";
  car.score = 0.2f;
  car.box.x = 2.5f;  // rows 65..84; its front-right corner (row 65, col 54) starts a dash
  scene.pred = {car};
  BevRenderOptions o;
  o.view = kView;
  auto img = render_bev(scene, o);
  ASSERT_TRUE(img.is_ok()) << img.status().message();
  EXPECT_EQ(img->width, 100);
  EXPECT_GT(img->height, 100);                          // the legend strip
  EXPECT_EQ(img->at(45, 59), class_color(0));           // Car: first class by name, solid
  EXPECT_EQ(img->at(54, 65), lighter(class_color(1)));  // Pedestrian prediction
  o.legend = false;
  o.min_score = 0.5f;  // hides the prediction
  auto bare = render_bev(scene, o);
  ASSERT_TRUE(bare.is_ok());
  EXPECT_EQ(bare->height, 100);
  EXPECT_EQ(bare->at(45, 59), class_color(0));
  EXPECT_EQ(bare->at(54, 65), kBevBackground);
}

TEST(Render, BadInputsGiveClearErrors) {
  auto missing = read_kitti_points("/nonexistent/scan.bin");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("does not exist"), std::string::npos);

  const fs::path bad = temp_path("bad.bin");
  std::ofstream(bad, std::ios::binary) << std::string(20, '\0');
  auto odd = read_kitti_points(bad.string());
  ASSERT_FALSE(odd.is_ok());
  EXPECT_NE(odd.status().message().find("20 bytes, not a multiple of 16"), std::string::npos);
  fs::remove(bad);

  const std::pair<std::string, std::string> ranges[] = {
      {"10,0,0,5", "xmin < xmax"},        {"0,0,10", "not xmin,ymin,xmax,ymax"},
      {"0,0,10,5,3", "not xmin"},         {"0,a,10,5", "'a' is not a number"},
      {"0,-1e6,10,1e6", "pixels a side"}, {"0,0,nan,5", "finite"},
  };
  for (const auto& [spec, expect] : ranges) {
    auto v = parse_bev_range(spec, 0.1);
    ASSERT_FALSE(v.is_ok()) << spec;
    EXPECT_NE(v.status().message().find(expect), std::string::npos) << v.status().message();
  }
  EXPECT_NE(parse_bev_range("0,0,10,5", 0).status().message().find("resolution"),
            std::string::npos);
  EXPECT_TRUE(parse_bev_range("0,-40,70.4,40", 0.1).is_ok());
}

#if TARMAC_WITH_PNG
TEST(Render, PngWrittenAndReadBack) {
  RgbImage img(37, 23, kBevBackground);
  img.set(3, 4, Rgb{250, 10, 20});
  img.set(36, 22, Rgb{1, 2, 3});
  const fs::path out = temp_path("round_trip.png");
  ASSERT_TRUE(write_png(img, out.string()).is_ok());

  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_file(&image, out.string().c_str())) << image.message;
  image.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(image));
  ASSERT_TRUE(png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr)) << image.message;
  EXPECT_EQ(image.width, 37u);
  EXPECT_EQ(image.height, 23u);
  EXPECT_EQ(pixels, img.pixels);
  fs::remove(out);

  Status s = write_png(img, "/nonexistent/dir/out.png");
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("cannot write"), std::string::npos);
}
#else
TEST(Render, PngNeedsLibpng) {
  EXPECT_EQ(write_png(RgbImage(2, 2, kBevBackground), "x.png").code(), StatusCode::kUnavailable);
}
#endif

}  // namespace
}  // namespace tarmac

// `tarmac render --points=F.bin [--gt=F] [--pred=F] -o out.png`: a bird's-eye-view picture of a
// lidar scan with ground-truth and predicted boxes (docs/eval3d.md, "tarmac render").
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "perception/eval/labels.h"
#include "perception/render/bev_render.h"

namespace tarmac::cli {

namespace {

struct RenderOptions {
  std::string points;
  std::string gt;
  std::string pred;
  std::string output;
  std::string range = "0,-40,70.4,40";
  double resolution = 0.1;
  std::string color_by = "height";
  float min_score = 0;
  bool no_legend = false;
};

StatusOr<std::vector<LabeledBox>> read_boxes(const std::string& path, bool with_score) {
  TARMAC_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  return parse_label_text(text, path, with_score);
}

int render_command(const RenderOptions& o) {
  if (!png_supported()) return fail("tarmac was built without libpng; cannot write PNG pictures");
  BevRenderOptions ro;
  auto view = parse_bev_range(o.range, o.resolution);
  if (!view.is_ok()) return fail(view.status().message());
  ro.view = *view;
  if (o.color_by == "height") {
    ro.coloring = PointColoring::kHeight;
  } else if (o.color_by == "intensity") {
    ro.coloring = PointColoring::kIntensity;
  } else {
    return fail("--color-by must be 'height' or 'intensity', not '" + o.color_by + "'");
  }
  ro.min_score = o.min_score;
  ro.legend = !o.no_legend;

  BevScene scene;
  auto points = read_kitti_points(o.points);
  if (!points.is_ok()) return fail(points.status().message());
  scene.points = std::move(*points);
  if (!o.gt.empty()) {
    auto gt = read_boxes(o.gt, /*with_score=*/false);
    if (!gt.is_ok()) return fail(gt.status().message());
    scene.gt = std::move(*gt);
  }
  if (!o.pred.empty()) {
    auto pred = read_boxes(o.pred, /*with_score=*/true);
    if (!pred.is_ok()) return fail(pred.status().message());
    scene.pred = std::move(*pred);
  }
  auto img = render_bev(scene, ro);
  if (!img.is_ok()) return fail(img.status().message());
  const std::string out =
      o.output.empty() ? std::filesystem::path(o.points).stem().string() + "_bev.png" : o.output;
  Status s = write_png(*img, out);
  if (!s.is_ok()) return fail(s.message());
  std::printf("Wrote %s (%d x %d pixels, %zu points, %zu ground-truth and %zu predicted boxes)\n",
              out.c_str(), img->width, img->height, scene.points.size() / 4, scene.gt.size(),
              scene.pred.size());
  return 0;
}

}  // namespace

void add_render_command(CLI::App& app, Action* action) {
  auto o = std::make_shared<RenderOptions>();
  CLI::App* sub = app.add_subcommand(
      "render", "Bird's-eye-view PNG of a lidar scan with ground-truth and predicted boxes");
  sub->add_option("--points", o->points, "KITTI .bin scan (float32 x, y, z, intensity)")
      ->required();
  sub->add_option("--gt", o->gt, "Ground-truth label file (x y z dx dy dz heading class)");
  sub->add_option("--pred", o->pred, "Prediction file (x y z dx dy dz heading class score)");
  sub->add_option("-o,--output", o->output, "Output PNG (default: <points stem>_bev.png)");
  sub->add_option("--range", o->range,
                  "Shown area xmin,ymin,xmax,ymax in metres (default 0,-40,70.4,40)");
  sub->add_option("--resolution", o->resolution, "Metres per pixel (default 0.1)");
  sub->add_option("--color-by", o->color_by, "Point colour: height (default) or intensity");
  sub->add_option("--min-score", o->min_score, "Hide predictions scored below this");
  sub->add_flag("--no-legend", o->no_legend, "Leave out the class legend strip");
  sub->callback([o, action] { *action = [o] { return render_command(*o); }; });
}

}  // namespace tarmac::cli

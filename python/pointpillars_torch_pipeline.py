#!/usr/bin/env python3
"""OpenPCDet's KITTI PointPillars end to end in plain PyTorch: the baseline for tarmac's lidar
pipeline benchmark, written as a user would write it without custom kernels.

  pipeline = Pipeline(model, config, device)          # model: pointpillars.PointPillars
  boxes, ms = pipeline.run_frame(points)              # points: float32 [N, 4] on the device
  # boxes: float32 [K, 9] (x, y, z, dx, dy, dz, heading, score, label); ms: per-stage times

Stages (timed with CUDA events on a GPU, perf_counter on the CPU):
  voxelize       non-finite and out-of-range points dropped, float32 floor indices, pillars
                 numbered by first appearance (torch.unique + scatter_reduce), a stable sort
                 for the point slots, scatter into [P, 32, 4], and the ten point features
  pfn            the pillar feature net (Linear, BatchNorm, ReLU, max)
  scatter        pillar features into the [1, 64, 496, 432] pseudo-image
  backbone_head  BaseBEVBackbone + AnchorHeadSingle
  decode_nms     scores, threshold, top nms_pre_max, box decoding with the direction bin, and
                 rotated NMS: exact rotated-rectangle IoU for every pair of candidates whose
                 circumcircles meet (vectorized: vertices inside the other box plus edge
                 intersections, sorted by angle, shoelace), then the greedy pass on the host
  total          all of the above
It follows the conventions of pointpillars.py and pointpillars_postprocess.py (the reference),
and on the CPU in float32 gives the reference's boxes (tests/pipelines checks it).

Benchmark (median ms per stage over --iters after --warmup, per frame):
  python/pointpillars_torch_pipeline.py --bench --frames ../shared/data/kitti \\
      [--model build/pointpillars | --checkpoint ckpt.pth] [--warmup 10] [--iters 50] \\
      [--fp16] [--device cuda] [--json out.json]
--model takes export_pointpillars.py's output folder (its pointpillars.json and weights, the
network tarmac runs); without it the seeded weights are built here (calibrated on --frames, on
the CPU); where that folder holds references for the frames, the last run's boxes are compared
with them. --fp16 runs the network in float16 (module.half()); decoding and NMS stay float32.
On a GPU, float32 allows TF32 (tarmac's default) unless --no-tf32; cudnn.benchmark is on.
"""
import argparse
import glob
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import pointpillars as pp  # noqa: E402
import pointpillars_postprocess as post  # noqa: E402

STAGES = ("voxelize", "pfn", "scatter", "backbone_head", "decode_nms", "total")
IOU_PAIRS_PER_CHUNK = 1 << 18
INSIDE_EPS = 1e-6


class StageTimer:
    """Marks between stages: CUDA events on a GPU, host clocks on the CPU."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"
        self.marks = []

    def mark(self):
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self.marks.append(event)
        else:
            self.marks.append(time.perf_counter())

    def stage_ms(self):
        if self.cuda:
            self.marks[-1].synchronize()
            ms = [a.elapsed_time(b) for a, b in zip(self.marks, self.marks[1:])]
        else:
            ms = [(b - a) * 1e3 for a, b in zip(self.marks, self.marks[1:])]
        return dict(zip(STAGES, ms + [sum(ms)]))


def box_corners(bev):
    """[n, 5] (x, y, dx, dy, heading) -> [n, 4, 2] counter-clockwise corners."""
    c, s = torch.cos(bev[:, 4]), torch.sin(bev[:, 4])
    hx = bev[:, 2:3] / 2 * bev.new_tensor([1, -1, -1, 1])
    hy = bev[:, 3:4] / 2 * bev.new_tensor([1, 1, -1, -1])
    x = bev[:, 0:1] + hx * c[:, None] - hy * s[:, None]
    y = bev[:, 1:2] + hx * s[:, None] + hy * c[:, None]
    return torch.stack([x, y], dim=2)


def cross2(a, b):
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def inside(points, poly):
    """points [m, k, 2] inside (or on) convex counter-clockwise poly [m, 4, 2]: [m, k]."""
    edge = poly.roll(-1, dims=1) - poly                       # [m, 4, 2]
    rel = points[:, :, None, :] - poly[:, None, :, :]         # [m, k, 4, 2]
    return (cross2(edge[:, None], rel) >= -INSIDE_EPS).all(dim=2)


def intersection_area(a, b):
    """Area of the intersection of convex quadrilaterals a, b [m, 4, 2] (counter-clockwise)."""
    m = a.shape[0]
    r = (a.roll(-1, dims=1) - a)[:, :, None]                  # [m, 4, 1, 2] edges of a
    s = (b.roll(-1, dims=1) - b)[:, None]                     # [m, 1, 4, 2] edges of b
    qp = b[:, None] - a[:, :, None]                           # [m, 4, 4, 2]
    denom = cross2(r, s)
    safe = torch.where(denom == 0, torch.ones_like(denom), denom)
    t, u = cross2(qp, s) / safe, cross2(qp, r) / safe
    hit = (denom != 0) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    crossings = (a[:, :, None] + t[..., None] * r).reshape(m, 16, 2)
    pts = torch.cat([a, b, crossings], dim=1)                 # [m, 24, 2]
    valid = torch.cat([inside(a, b), inside(b, a), hit.reshape(m, 16)], dim=1)
    count = valid.sum(dim=1)
    w = valid[..., None].to(pts.dtype)
    centre = (pts * w).sum(dim=1) / count.clamp(min=1)[:, None].to(pts.dtype)
    rel = pts - centre[:, None]
    angle = torch.atan2(rel[..., 1], rel[..., 0]).masked_fill(~valid, math.inf)
    order = angle.argsort(dim=1)
    rel = rel.gather(1, order[..., None].expand(-1, -1, 2))
    valid = valid.gather(1, order)
    rel = torch.where(valid[..., None], rel, rel[:, :1])     # unused slots repeat the first
    area = 0.5 * cross2(rel, rel.roll(-1, dims=1)).sum(dim=1).abs()
    return torch.where(count >= 3, area, torch.zeros_like(area))


def rotated_iou_pairs(bev_a, bev_b):
    """IoU of boxes bev_a[i] and bev_b[i], [m, 5] each, in the frame of box a's centre."""
    centre = bev_a[:, :2].clone()
    a, b = bev_a.clone(), bev_b.clone()
    a[:, :2] -= centre
    b[:, :2] -= centre
    inter = intersection_area(box_corners(a), box_corners(b))
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return inter / union.clamp(min=1e-12)


def nms_rotated(bev, labels, threshold, max_keep, class_agnostic=True):
    """Greedy rotated NMS over boxes in score order; returns kept row indices (a long tensor on
    the boxes' device)."""
    n = bev.shape[0]
    if n == 0:
        return torch.zeros(0, dtype=torch.long, device=bev.device)
    radius = 0.5 * torch.hypot(bev[:, 2], bev[:, 3])
    distance = torch.cdist(bev[:, :2], bev[:, :2], compute_mode="donot_use_mm_for_euclid_dist")
    near = distance < radius[:, None] + radius[None, :]
    near = torch.triu(near, diagonal=1)
    if not class_agnostic:
        near &= labels[:, None] == labels[None, :]
    ii, jj = near.nonzero(as_tuple=True)
    over = torch.zeros(ii.shape[0], dtype=torch.bool, device=bev.device)
    for start in range(0, ii.shape[0], IOU_PAIRS_PER_CHUNK):
        sl = slice(start, start + IOU_PAIRS_PER_CHUNK)
        over[sl] = rotated_iou_pairs(bev[ii[sl]], bev[jj[sl]]) > threshold
    suppress = torch.zeros((n, n), dtype=torch.bool, device=bev.device)
    suppress[ii[over], jj[over]] = True
    suppress = suppress.cpu().numpy()
    removed = np.zeros(n, dtype=bool)
    keep = []
    for i in range(n):
        if removed[i]:
            continue
        keep.append(i)
        if len(keep) == max_keep:
            break
        removed |= suppress[i]
    return torch.tensor(keep, dtype=torch.long, device=bev.device)


class Pipeline:
    """The whole path on one device; the model is moved there (float16 with fp16)."""

    def __init__(self, model, config, device, fp16=False):
        self.device = torch.device(device)
        self.dtype = torch.float16 if fp16 else torch.float32
        self.model = model.to(self.device, self.dtype).eval()
        self.config = config
        f32 = dict(dtype=torch.float32, device=self.device)
        r, size = config["point_cloud_range"], config["voxel_size"]
        self.lo = torch.tensor(r[:3], **f32)
        self.size = torch.tensor(size, **f32)
        self.offset = torch.tensor([size[i] / 2 + r[i] for i in range(3)], **f32)
        self.grid = tuple(config["grid_size"])                 # nx, ny, nz
        self.grid_f = torch.tensor(self.grid, **f32)
        self.anchors = torch.from_numpy(post.make_anchors(config)).to(self.device)

    def voxelize(self, points):
        """points [N, 4] -> (features [P, M, 10], pillar linear index [P])."""
        cfg, (nx, ny, _) = self.config, self.grid
        max_points = cfg["max_points_per_voxel"]
        pts = points[torch.isfinite(points).all(dim=1)]
        fidx = torch.floor((pts[:, :3] - self.lo) / self.size)
        in_range = ((fidx >= 0) & (fidx < self.grid_f)).all(dim=1)
        pts, idx = pts[in_range], fidx[in_range].long()
        linear = (idx[:, 2] * ny + idx[:, 1]) * nx + idx[:, 0]
        unique, inverse = torch.unique(linear, return_inverse=True)
        n = linear.shape[0]
        arange = torch.arange(n, device=self.device)
        first = torch.full_like(unique, n).scatter_reduce_(0, inverse, arange, "amin")
        order = first.argsort()                                # pillar number -> unique slot
        rank = torch.empty_like(order)
        rank[order] = torch.arange(order.shape[0], device=self.device)
        pillar = rank[inverse]
        num_pillars = min(order.shape[0], cfg["max_voxels"])
        if num_pillars < order.shape[0]:
            kept = pillar < num_pillars
            pts, pillar = pts[kept], pillar[kept]
            arange = arange[:pillar.shape[0]]
        sorted_pillar, perm = torch.sort(pillar, stable=True)
        counts = torch.bincount(pillar, minlength=num_pillars)
        starts = counts.cumsum(0) - counts
        slot = arange - starts[sorted_pillar]
        ok = slot < max_points
        voxels = pts.new_zeros((num_pillars, max_points, 4))
        voxels[sorted_pillar[ok], slot[ok]] = pts[perm[ok]]
        num = counts.clamp(max=max_points)
        pillar_linear = unique[order[:num_pillars]]
        ixyz = torch.stack([pillar_linear % nx, (pillar_linear // nx) % ny,
                            pillar_linear // (nx * ny)], dim=1)
        xyz = voxels[:, :, :3]
        mean = xyz.sum(dim=1) / num[:, None].to(torch.float32)
        centre = ixyz.to(torch.float32) * self.size + self.offset
        features = torch.cat([voxels, xyz - mean[:, None], xyz - centre[:, None]], dim=2)
        mask = torch.arange(max_points, device=self.device)[None, :] < num[:, None]
        return features * mask[:, :, None], pillar_linear

    def scatter(self, pillar_features, pillar_linear):
        nx, ny, nz = self.grid
        c = pillar_features.shape[1]
        canvas = pillar_features.new_zeros((c, nz * ny * nx))
        canvas[:, pillar_linear] = pillar_features.t()
        return canvas.view(1, c * nz, ny, nx)

    def decode(self, cls_preds, box_preds, dir_cls_preds):
        """Head maps -> float32 [K, 9] boxes after threshold, top-k, decoding and NMS."""
        cfg = self.config
        cls = cls_preds.reshape(-1, len(cfg["classes"])).float()
        label = cls.argmax(dim=1)
        score = torch.sigmoid(cls.gather(1, label[:, None])[:, 0])
        index = torch.nonzero(score >= cfg["score_threshold"]).squeeze(1)
        _, order = torch.sort(score[index], descending=True, stable=True)
        index = index[order[:cfg["nms_pre_max"]]]
        t = box_preds.reshape(-1, 7)[index].float()
        a = self.anchors[index]
        diagonal = torch.sqrt(a[:, 3] * a[:, 3] + a[:, 4] * a[:, 4])
        heading = t[:, 6] + a[:, 6]
        dirs = dir_cls_preds.reshape(score.shape[0], -1)[index].float().argmax(dim=1)
        period = 2 * np.pi / cfg["num_dir_bins"]
        rot = heading - cfg["dir_offset"]
        rot = rot - torch.floor(rot / period + cfg["dir_limit_offset"]) * period
        boxes = torch.stack([
            t[:, 0] * diagonal + a[:, 0], t[:, 1] * diagonal + a[:, 1], t[:, 2] * a[:, 5] + a[:, 2],
            torch.exp(t[:, 3]) * a[:, 3], torch.exp(t[:, 4]) * a[:, 4],
            torch.exp(t[:, 5]) * a[:, 5],
            rot + cfg["dir_offset"] + period * dirs.to(torch.float32)], dim=1)
        keep = nms_rotated(boxes[:, [0, 1, 3, 4, 6]], label[index], cfg["nms_iou_threshold"],
                           cfg["max_detections"], cfg.get("class_agnostic_nms", True))
        return torch.cat([boxes[keep], score[index][keep, None],
                          label[index][keep, None].to(torch.float32)], dim=1)

    @torch.no_grad()
    def run_frame(self, points):
        """points float32 [N, 4] on the device -> (boxes float32 [K, 9], {stage: ms})."""
        timer = StageTimer(self.device)
        timer.mark()
        features, pillar_linear = self.voxelize(points)
        timer.mark()
        pillar_features = self.model.vfe(features.to(self.dtype))
        timer.mark()
        spatial = self.scatter(pillar_features, pillar_linear)
        timer.mark()
        heads = self.model.head(spatial)
        timer.mark()
        boxes = self.decode(*heads)
        timer.mark()
        return boxes, timer.stage_ms()


def load_model(model_dir=None, checkpoint=None, frames=(), seed=0):
    """(model on the CPU, config): export_pointpillars.py's folder, a checkpoint, or seeded."""
    config = pp.pipeline_config()
    if model_dir:
        with open(os.path.join(model_dir, "pointpillars.json")) as f:
            config = json.load(f)
        checkpoint = os.path.join(model_dir, config["checkpoint"])
    points = [] if checkpoint else [pp.load_points(p) for p in frames]
    return pp.build_model(seed, checkpoint, points), config


def compare_reference(model_dir, frame_path, boxes):
    """The boxes against export_pointpillars.py's reference for this frame, if it has one."""
    name = os.path.splitext(os.path.basename(frame_path))[0]
    path = os.path.join(model_dir or "", "ref", name, "manifest.json")
    if not model_dir or not os.path.isfile(path):
        return None
    with open(path) as f:
        entry = json.load(f)["arrays"]["boxes"]
    want = np.fromfile(os.path.join(os.path.dirname(path), entry["file"]),
                       dtype=entry["dtype"]).reshape(entry["shape"])
    got = boxes.cpu().numpy()
    same = got.shape == want.shape
    return {"boxes": int(want.shape[0]),
            "same_labels": bool(same and (got[:, 8] == want[:, 8]).all()),
            "max_abs_diff": float(np.abs(got - want).max()) if same and len(want) else None}


def bench(args):
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = not args.no_tf32
    paths = sorted(glob.glob(os.path.join(args.frames, "*.bin")))
    if not paths:
        sys.exit(f"error: no .bin frames in {args.frames}")
    model, config = load_model(args.model, args.checkpoint, paths, args.seed)
    pipeline = Pipeline(model, config, device, args.fp16)
    rows = []
    for path in paths:
        points = torch.from_numpy(pp.load_points(path)).to(device)
        for _ in range(args.warmup):
            pipeline.run_frame(points)
        times = {s: [] for s in STAGES}
        for _ in range(args.iters):
            boxes, ms = pipeline.run_frame(points)
            for s in STAGES:
                times[s].append(ms[s])
        rows.append({"frame": os.path.basename(path), "points": int(points.shape[0]),
                     "boxes": int(boxes.shape[0]),
                     "median_ms": {s: statistics.median(v) for s, v in times.items()},
                     "reference": compare_reference(args.model, path, boxes)})
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    precision = "fp16" if args.fp16 else ("fp32" if args.no_tf32 or device.type != "cuda"
                                          else "fp32 (TF32 on)")
    print(f"PyTorch {torch.__version__} plain pipeline on {name}, {precision}, "
          f"median of {args.iters} iterations after {args.warmup} warm-up (ms)")
    print(f"{'frame':<12}{'points':>8}{'boxes':>7}" + "".join(f"{s:>15}" for s in STAGES))
    for r in rows:
        print(f"{r['frame']:<12}{r['points']:>8}{r['boxes']:>7}"
              + "".join(f"{r['median_ms'][s]:>15.3f}" for s in STAGES))
    for r in rows:
        if r["reference"]:
            ref = r["reference"]
            print(f"{r['frame']}: {r['boxes']} boxes, reference {ref['boxes']}; same labels "
                  f"{ref['same_labels']}, largest difference {ref['max_abs_diff']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": name, "torch": torch.__version__, "precision": precision,
                       "warmup": args.warmup, "iterations": args.iters, "stages": STAGES,
                       "frames": rows}, f, indent=1)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", action="store_true", help="run the benchmark")
    parser.add_argument("--frames", required=True, help="folder of KITTI .bin frames")
    parser.add_argument("--model", help="export_pointpillars.py output folder")
    parser.add_argument("--checkpoint", help="OpenPCDet checkpoint (model_state)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--fp16", action="store_true")
    parser.add_argument("--no-tf32", action="store_true", help="exact float32 on a GPU")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if not args.bench:
        parser.error("nothing to do: pass --bench")
    if args.iters < 1 or args.warmup < 0:
        parser.error("--iters must be >= 1 and --warmup >= 0")
    return bench(args)


if __name__ == "__main__":
    sys.exit(main())

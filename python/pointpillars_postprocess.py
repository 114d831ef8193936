"""The reference post-processing of OpenPCDet's KITTI PointPillars: anchors, box decoding and
rotated bird's-eye-view NMS, written plainly in numpy to define the pipeline's results.

  boxes = postprocess(cls_preds, box_preds, dir_cls_preds, config)  # float32 [K, 9]

Conventions (the pipeline's, from OpenPCDet's AnchorGenerator, AnchorHeadTemplate, ResidualCoder
and class_agnostic_nms; see pointpillars.pipeline_config() for the values):
- Anchors, flat index n = (j * W + i) * A + a with a = class * R + r over the H x W feature map:
  centre x_i = xmin + i * (xmax - xmin) / (W - 1), y_j likewise with H (computed in float64,
  rounded to float32 as torch.arange does), z = bottom + dz / 2 in float32.
- Head channels: class logits a * C + c, box residuals a * 7 + k, direction logits a * 2 + b.
- Decoding in float32 (ResidualCoder), then the direction bin: heading = limit_period(heading -
  dir_offset, dir_limit_offset, 2 pi / bins) + dir_offset + (2 pi / bins) * argmax(dir logits).
- Score = sigmoid(max class logit), label = its argmax (0-based); keep score >= threshold;
  order by score descending, ties by lower anchor index; the first nms_pre_max go to NMS.
- Greedy NMS: a box is dropped when its BEV IoU with a kept higher-scored box is greater than
  the threshold; IoU is the exact intersection area of the two rotated rectangles (polygon
  clipping in float64) over the union. Class-agnostic unless config["class_agnostic_nms"] is
  false: then within each label, merged by score (ties by anchor index). At most
  max_detections boxes.
- Output rows: (x, y, z, dx, dy, dz, heading, score, label), float32.
"""
import math

import numpy as np

BOX_COLUMNS = ("x", "y", "z", "dx", "dy", "dz", "heading", "score", "label")


def feature_map_size(config):
    """(H, W) of the head's maps: the pillar grid divided by the feature map stride."""
    nx, ny = config["grid_size"][:2]
    stride = config["feature_map_stride"]
    return ny // stride, nx // stride


def make_anchors(config):
    """All anchors, float32 [H * W * A, 7] (x, y, z, dx, dy, dz, heading), in flat-index order."""
    h, w = feature_map_size(config)
    r = config["point_cloud_range"]
    xs = (r[0] + np.arange(w, dtype=np.float64) * ((r[3] - r[0]) / (w - 1))).astype(np.float32)
    ys = (r[1] + np.arange(h, dtype=np.float64) * ((r[4] - r[1]) / (h - 1))).astype(np.float32)
    per_location = []  # [A, 5]: z, dx, dy, dz, heading
    for cls in config["classes"]:
        dx, dy, dz = (np.float32(v) for v in cls["size"])
        z = np.float32(cls["anchor_bottom_height"]) + dz / np.float32(2)
        for rot in cls["rotations"]:
            per_location.append([z, dx, dy, dz, np.float32(rot)])
    per_location = np.array(per_location, dtype=np.float32)
    a = len(per_location)
    anchors = np.empty((h, w, a, 7), dtype=np.float32)
    anchors[:, :, :, 0] = xs[None, :, None]
    anchors[:, :, :, 1] = ys[:, None, None]
    anchors[:, :, :, 2:] = per_location[None, None]
    return anchors.reshape(-1, 7)


def limit_period(val, offset, period):
    return val - np.floor(val / period + offset) * period


def decode_boxes(residuals, dir_logits, anchors, config):
    """ResidualCoder decoding plus the direction bin, float32: residuals [n, 7], dir_logits
    [n, bins], anchors [n, 7] -> boxes [n, 7]."""
    t = np.asarray(residuals, dtype=np.float32)
    a = np.asarray(anchors, dtype=np.float32)
    diagonal = np.sqrt(a[:, 3] * a[:, 3] + a[:, 4] * a[:, 4])
    boxes = np.empty_like(t)
    boxes[:, 0] = t[:, 0] * diagonal + a[:, 0]
    boxes[:, 1] = t[:, 1] * diagonal + a[:, 1]
    boxes[:, 2] = t[:, 2] * a[:, 5] + a[:, 2]
    boxes[:, 3:6] = np.exp(t[:, 3:6]) * a[:, 3:6]
    heading = t[:, 6] + a[:, 6]
    period = np.float32(2 * np.pi / config["num_dir_bins"])
    offset = np.float32(config["dir_offset"])
    label = np.argmax(np.asarray(dir_logits, dtype=np.float32), axis=1).astype(np.float32)
    rot = limit_period(heading - offset, np.float32(config["dir_limit_offset"]), period)
    boxes[:, 6] = rot + offset + period * label
    return boxes


def box_corners(box):
    """The BEV corners of (x, y, dx, dy, heading), counter-clockwise, float64 [4, 2]."""
    x, y, dx, dy, heading = (float(v) for v in box)
    c, s = math.cos(heading), math.sin(heading)
    half = ((dx / 2, dy / 2), (-dx / 2, dy / 2), (-dx / 2, -dy / 2), (dx / 2, -dy / 2))
    return [(x + px * c - py * s, y + px * s + py * c) for px, py in half]


def clip_polygon(subject, clip):
    """Sutherland-Hodgman: the part of convex polygon `subject` inside convex polygon `clip`
    (both counter-clockwise lists of (x, y))."""
    out = list(subject)
    for k in range(len(clip)):
        (ax, ay), (bx, by) = clip[k - 1], clip[k]
        side = [(bx - ax) * (py - ay) - (by - ay) * (px - ax) for px, py in out]
        points, out = out, []
        for i, cur in enumerate(points):
            prev, d_prev, d_cur = points[i - 1], side[i - 1], side[i]
            if (d_cur >= 0) != (d_prev >= 0):  # the edge prev -> cur crosses the line
                f = d_prev / (d_prev - d_cur)
                out.append((prev[0] + (cur[0] - prev[0]) * f, prev[1] + (cur[1] - prev[1]) * f))
            if d_cur >= 0:
                out.append(cur)
        if not out:
            break
    return out


def polygon_area(points):
    n = len(points)
    return abs(sum(points[i - 1][0] * points[i][1] - points[i][0] * points[i - 1][1]
                   for i in range(n))) / 2 if n >= 3 else 0.0


def rotated_iou(a, b):
    """Exact BEV IoU of two boxes given as (x, y, dx, dy, heading)."""
    inter = polygon_area(clip_polygon(box_corners(a), box_corners(b)))
    union = float(a[2]) * float(a[3]) + float(b[2]) * float(b[3]) - inter
    return inter / union if union > 0 else 0.0


def nms(bev, threshold, max_keep):
    """Greedy NMS over boxes already in score order: bev float [n, 5] (x, y, dx, dy, heading).
    Returns the kept row indices, at most max_keep. Only pairs whose circumcircles meet can
    overlap, so only those are clipped."""
    bev = np.asarray(bev, dtype=np.float64)
    n = len(bev)
    radius = 0.5 * np.hypot(bev[:, 2], bev[:, 3])
    suppressed = np.zeros(n, dtype=bool)
    keep = []
    for i in range(n):
        if suppressed[i]:
            continue
        keep.append(i)
        if len(keep) == max_keep:
            break
        rest = np.arange(i + 1, n)
        near = np.hypot(bev[rest, 0] - bev[i, 0], bev[rest, 1] - bev[i, 1]) \
            < radius[rest] + radius[i]
        for j in rest[near & ~suppressed[rest]]:
            if rotated_iou(bev[i], bev[j]) > threshold:
                suppressed[j] = True
    return np.array(keep, dtype=np.int64)


def score_order(scores, index):
    """Positions of `scores` sorted by score descending, ties by lower `index`."""
    return np.lexsort((index, -scores))


def scores_labels(cls_preds, num_classes):
    """Per anchor: score = sigmoid(max class logit) float32, label = its argmax."""
    cls = np.asarray(cls_preds, dtype=np.float32).reshape(-1, num_classes)
    with np.errstate(over="ignore"):
        score = np.float32(1) / (np.float32(1) + np.exp(-cls.max(axis=1)))
    return score.astype(np.float32), cls.argmax(axis=1)


def postprocess(cls_preds, box_preds, dir_cls_preds, config, anchors=None):
    """Head maps (NHWC, batch 1) -> float32 [K, 9] boxes (module docstring)."""
    if anchors is None:
        anchors = make_anchors(config)
    n = len(anchors)
    num_classes = len(config["classes"])
    score, label = scores_labels(cls_preds, num_classes)
    index = np.flatnonzero(score >= np.float32(config["score_threshold"]))
    index = index[score_order(score[index], index)][:config["nms_pre_max"]]
    residuals = np.asarray(box_preds, dtype=np.float32).reshape(n, 7)[index]
    dirs = np.asarray(dir_cls_preds, dtype=np.float32).reshape(n, -1)[index]
    boxes = decode_boxes(residuals, dirs, anchors[index], config)
    bev = boxes[:, [0, 1, 3, 4, 6]]
    threshold, max_det = config["nms_iou_threshold"], config["max_detections"]
    if config.get("class_agnostic_nms", True):
        keep = nms(bev, threshold, max_det)
    else:
        keep = []
        for c in range(num_classes):
            rows = np.flatnonzero(label[index] == c)
            keep.append(rows[nms(bev[rows], threshold, max_det)])
        keep = np.concatenate(keep) if keep else np.zeros(0, np.int64)
        keep = keep[score_order(score[index][keep], index[keep])][:max_det]
    out = np.empty((len(keep), 9), dtype=np.float32)
    out[:, :7] = boxes[keep]
    out[:, 7] = score[index][keep]
    out[:, 8] = label[index][keep]
    return out

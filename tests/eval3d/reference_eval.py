#!/usr/bin/env python3
"""Independent check of `tarmac eval3d`.

Writes random ground-truth and prediction folders (fixed seed: several classes, jittered boxes,
misses, duplicates, false positives, class confusions, 0-point ground truth, tied scores, frames
without prediction files), runs `tarmac eval3d --json`, recomputes every AP here and requires
agreement to 1e-6. The geometry is computed differently from tarmac's: the intersection polygon
is built from the corners of each box inside the other plus all edge crossings, ordered by angle
around their centroid, instead of by clipping one polygon edge by edge.

usage: reference_eval.py --tarmac PATH --workdir DIR
Exit codes: 0 agreement, 1 disagreement or failure, 77 numpy missing (skipped).
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys

try:
    import numpy as np
except ImportError:  # pragma: no cover
    print("SKIP: numpy is not available")
    sys.exit(77)

SEED = 20240607
NUM_FRAMES = 48
CLASSES = {  # name: (mean dx, dy, dz)
    "Car": (4.2, 1.8, 1.6),
    "Pedestrian": (0.8, 0.7, 1.75),
    "Cyclist": (1.8, 0.6, 1.7),
}
R40 = 40


# ----------------------------------------------------------------------------- data


def f32(v):
    """The value a float32 reader gets from the text we write."""
    return float(np.float32(v))


def fmt_box(b):
    return " ".join("%.3f" % v for v in b)


def make_dataset(root, rng):
    gt_dir = os.path.join(root, "gt")
    pred_dir = os.path.join(root, "pred")
    os.makedirs(gt_dir)
    os.makedirs(pred_dir)
    json_frames = []
    for f in range(NUM_FRAMES):
        stem = "%06d" % f
        gt_lines, counts, pred_lines = [], [], []
        for cls, (mdx, mdy, mdz) in CLASSES.items():
            for _ in range(rng.integers(0, 7)):
                x = rng.uniform(-5, 60)
                y = rng.uniform(-25, 25)
                z = rng.uniform(-1.6, -0.4)
                box = [x, y, z,
                       mdx * rng.uniform(0.8, 1.2), mdy * rng.uniform(0.8, 1.2),
                       mdz * rng.uniform(0.85, 1.15), rng.uniform(-math.pi, math.pi)]
                gt_lines.append("%s %s" % (fmt_box(box), cls))
                counts.append(0 if rng.random() < 0.12 else int(rng.integers(1, 400)))
                # Detections: a jittered copy most of the time, now and then a second one.
                copies = (1 if rng.random() < 0.8 else 0) + (1 if rng.random() < 0.1 else 0)
                for _ in range(copies):
                    s = rng.uniform(0.01, 0.3)
                    p = [box[0] + rng.normal(0, s), box[1] + rng.normal(0, s),
                         box[2] + rng.normal(0, 0.15),
                         box[3] * (1 + rng.normal(0, 0.06)), box[4] * (1 + rng.normal(0, 0.06)),
                         box[5] * (1 + rng.normal(0, 0.06)), box[6] + rng.normal(0, 0.1)]
                    p[3:6] = [max(v, 0.05) for v in p[3:6]]
                    label = cls if rng.random() > 0.05 else rng.choice(list(CLASSES))
                    score = min(1.0, max(0.0, 0.98 - 1.6 * s + rng.normal(0, 0.12)))
                    pred_lines.append((p, label, score))
            # False positives near and far.
            for _ in range(rng.poisson(1.2)):
                p = [rng.uniform(-5, 60), rng.uniform(-25, 25), rng.uniform(-1.6, -0.4),
                     mdx * rng.uniform(0.8, 1.2), mdy * rng.uniform(0.8, 1.2),
                     mdz * rng.uniform(0.85, 1.15), rng.uniform(-math.pi, math.pi)]
                pred_lines.append((p, cls, rng.uniform(0.0, 0.7)))
        if rng.random() < 0.1:  # a class that is never evaluated
            pred_lines.append(([10, 0, -1, 12, 2.5, 3, 0], "Tram", 0.5))
        with open(os.path.join(gt_dir, stem + ".txt"), "w") as fh:
            fh.write("".join(l + "\n" for l in gt_lines))
        if f % 2 == 0:  # point counts for half of the frames
            with open(os.path.join(gt_dir, stem + ".counts"), "w") as fh:
                fh.write("".join("%d\n" % c for c in counts))
        if f % 11 == 5:
            continue  # no prediction file: zero predictions
        rng.shuffle(pred_lines)
        with open(os.path.join(pred_dir, stem + ".txt"), "w") as fh:
            for p, label, score in pred_lines:
                # Two decimals: many equal scores across and within frames.
                fh.write("%s %s %.2f\n" % (fmt_box(p), label, score))
        boxes = []
        for p, label, score in pred_lines:
            vals = [float("%.3f" % v) for v in p]
            boxes.append(dict(zip(["x", "y", "z", "dx", "dy", "dz", "heading"], vals),
                              score=float("%.2f" % score), label=label))
        json_frames.append({"frame": stem, "boxes": boxes})
    with open(os.path.join(root, "results.json"), "w") as fh:
        json.dump({"frames": json_frames}, fh)
    return gt_dir, pred_dir, os.path.join(root, "results.json")


def read_boxes(path, with_score):
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as fh:
        for line in fh:
            t = line.split()
            if not t:
                continue
            box = [f32(v) for v in t[:7]]
            out.append({"box": box, "cls": t[7], "score": f32(t[8]) if with_score else 1.0,
                        "ignored": False})
    return out


def read_dataset(gt_dir, pred_dir):
    frames = []
    for name in sorted(os.listdir(gt_dir)):
        if not name.endswith(".txt"):
            continue
        stem = name[:-4]
        gt = read_boxes(os.path.join(gt_dir, name), False)
        counts = os.path.join(gt_dir, stem + ".counts")
        if os.path.exists(counts):
            with open(counts) as fh:
                values = [int(l) for l in fh if l.strip()]
            for b, c in zip(gt, values):
                b["ignored"] = c == 0
        pred = read_boxes(os.path.join(pred_dir, name), True)
        frames.append((gt, pred))
    return frames


# ----------------------------------------------------------------------------- geometry


def corners(b, ox, oy):
    x, y, _, dx, dy, _, h = b
    c, s = math.cos(h), math.sin(h)
    pts = []
    for lx, ly in ((dx / 2, -dy / 2), (dx / 2, dy / 2), (-dx / 2, dy / 2), (-dx / 2, -dy / 2)):
        pts.append((x - ox + lx * c - ly * s, y - oy + lx * s + ly * c))
    return pts


def inside_convex(p, poly):
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        if (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) < -1e-12:
            return False
    return True


def segment_crossing(p1, p2, q1, q2):
    r = (p2[0] - p1[0], p2[1] - p1[1])
    s = (q2[0] - q1[0], q2[1] - q1[1])
    den = r[0] * s[1] - r[1] * s[0]
    if abs(den) < 1e-15:
        return None
    w = (q1[0] - p1[0], q1[1] - p1[1])
    t = (w[0] * s[1] - w[1] * s[0]) / den
    u = (w[0] * r[1] - w[1] * r[0]) / den
    if -1e-12 <= t <= 1 + 1e-12 and -1e-12 <= u <= 1 + 1e-12:
        return (p1[0] + t * r[0], p1[1] + t * r[1])
    return None


def bev_overlap(a, b):
    ca = corners(a, a[0], a[1])
    cb = corners(b, a[0], a[1])
    pts = [p for p in ca if inside_convex(p, cb)] + [p for p in cb if inside_convex(p, ca)]
    for i in range(4):
        for j in range(4):
            x = segment_crossing(ca[i], ca[(i + 1) % 4], cb[j], cb[(j + 1) % 4])
            if x is not None:
                pts.append(x)
    if len(pts) < 3:
        return 0.0
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    pts.sort(key=lambda p: math.atan2(p[1] - my, p[0] - mx))
    area = 0.0
    for i in range(len(pts)):
        x0, y0 = pts[i]
        x1, y1 = pts[(i + 1) % len(pts)]
        area += x0 * y1 - x1 * y0
    return max(0.0, area / 2)


def iou(a, b, kind):
    inter = bev_overlap(a, b)
    if kind == "bev":
        union = a[3] * a[4] + b[3] * b[4] - inter
        return inter / union if inter > 0 else 0.0
    zlo = max(a[2] - a[5] / 2, b[2] - b[5] / 2)
    zhi = min(a[2] + a[5] / 2, b[2] + b[5] / 2)
    inter *= max(0.0, zhi - zlo)
    union = a[3] * a[4] * a[5] + b[3] * b[4] * b[5] - inter
    return inter / union if inter > 0 else 0.0


# ----------------------------------------------------------------------------- evaluation


def match(gt, pred, kind, thr):
    """Outcomes 'tp', 'fp', 'ign' per prediction, by the rules of docs/eval3d.md."""
    order = sorted(range(len(pred)), key=lambda i: (-pred[i]["score"], i))
    taken = [False] * len(gt)
    out = [None] * len(pred)
    for p in order:
        best = {False: (-1, 0.0), True: (-1, 0.0)}
        for g, gb in enumerate(gt):
            if taken[g]:
                continue
            v = iou(pred[p]["box"], gb["box"], kind)
            if v < thr:
                continue
            k = gb["ignored"]
            if best[k][0] < 0 or v > best[k][1]:
                best[k] = (g, v)
        if best[False][0] >= 0:
            taken[best[False][0]] = True
            out[p] = "tp"
        elif best[True][0] >= 0:
            taken[best[True][0]] = True
            out[p] = "ign"
        else:
            out[p] = "fp"
    return out


def r40(scored, num_gt):
    """(ap or None, number of curve points)."""
    scored = sorted((s for s in scored if s[1] != "ign"), key=lambda s: -s[0])
    points = []  # (tp, precision) at each distinct score
    tp = fp = 0
    for i, (score, res) in enumerate(scored):
        if res == "tp":
            tp += 1
        else:
            fp += 1
        if i + 1 < len(scored) and scored[i + 1][0] == score:
            continue
        points.append((tp, tp / (tp + fp)))
    if num_gt == 0:
        return None, len(points)
    total = 0.0
    for k in range(1, R40 + 1):
        reach = [p for t, p in points if t * R40 >= k * num_gt]
        total += max(reach) if reach else 0.0
    return total / R40, len(points)


def evaluate(frames, classes, thresholds, edges):
    ranges = [(0.0, None)] + [(edges[i], edges[i + 1] if i + 1 < len(edges) else None)
                              for i in range(len(edges))]
    result = {}
    for cls in classes:
        thr = thresholds[cls]
        per_range = []
        for lo, hi in ranges:
            def keep(b):
                x, y = b["box"][0], b["box"][1]
                d = math.sqrt(x * x + y * y)
                return d >= lo and (hi is None or d < hi)
            entry = {"num_gt": 0, "num_ignored_gt": 0, "num_pred": 0}
            scored = {"bev": [], "3d": []}
            for gt, pred in frames:
                g = [b for b in gt if b["cls"] == cls and keep(b)]
                p = [b for b in pred if b["cls"] == cls and keep(b)]
                entry["num_gt"] += sum(1 for b in g if not b["ignored"])
                entry["num_ignored_gt"] += sum(1 for b in g if b["ignored"])
                entry["num_pred"] += len(p)
                for kind in ("bev", "3d"):
                    for b, res in zip(p, match(g, p, kind, thr)):
                        scored[kind].append((b["score"], res))
            for kind in ("bev", "3d"):
                entry[kind], entry[kind + "_points"] = r40(scored[kind], entry["num_gt"])
            per_range.append(entry)
        result[cls] = per_range
    return result


# ----------------------------------------------------------------------------- comparison


def compare(label, tarmac_json, ref, classes):
    errors = []
    got_classes = [c["class"] for c in tarmac_json["classes"]]
    if got_classes != classes:
        return ["%s: classes %s, expected %s" % (label, got_classes, classes)]
    checked = 0
    for c in tarmac_json["classes"]:
        ranges = [c["overall"]] + c["bins"]
        for i, (got, want) in enumerate(zip(ranges, ref[c["class"]])):
            where = "%s: %s %s" % (label, c["class"], got["range"])
            for key in ("num_gt", "num_ignored_gt", "num_pred"):
                if got[key] != want[key]:
                    errors.append("%s: %s %d, expected %d" % (where, key, got[key], want[key]))
            for kind in ("bev", "3d"):
                a, b = got[kind]["ap"], want[kind]
                checked += 1
                if (a is None) != (b is None) or (a is not None and abs(a - b) > 1e-6):
                    errors.append("%s: AP_%s %s, expected %s" % (where, kind, a, b))
                if len(got[kind]["curve"]["precision"]) != want[kind + "_points"]:
                    errors.append("%s: %s curve has %d points, expected %d" % (
                        where, kind, len(got[kind]["curve"]["precision"]),
                        want[kind + "_points"]))
    print("%s: %d AP values compared" % (label, checked))
    return errors


def run_tarmac(tarmac, args, json_path):
    cmd = [tarmac, "eval3d"] + args + ["--json=" + json_path]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    print("$ " + " ".join(cmd))
    print(proc.stdout, end="")
    if proc.returncode != 0:
        print(proc.stderr, end="")
        raise SystemExit("tarmac eval3d failed with exit code %d" % proc.returncode)
    with open(json_path) as fh:
        return json.load(fh)


def default_threshold(cls):
    return 0.7 if cls.lower() in ("car", "van", "truck", "bus", "trailer", "tram",
                                  "construction_vehicle", "vehicle") else 0.5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tarmac", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    rng = np.random.default_rng(SEED)
    gt_dir, pred_dir, results_json = make_dataset(args.workdir, rng)
    frames = read_dataset(gt_dir, pred_dir)
    all_classes = sorted(CLASSES)

    errors = []
    # 1: defaults (classes from the ground truth, KITTI thresholds, bins 0,20,40).
    thresholds = {c: default_threshold(c) for c in all_classes}
    got = run_tarmac(args.tarmac, ["--gt=" + gt_dir, "--pred=" + pred_dir],
                     os.path.join(args.workdir, "default.json"))
    ref = evaluate(frames, all_classes, thresholds, [0.0, 20.0, 40.0])
    errors += compare("defaults", got, ref, all_classes)
    # The same predictions as one JSON results file give the same numbers.
    got_json = run_tarmac(args.tarmac, ["--gt=" + gt_dir, "--pred=" + results_json],
                          os.path.join(args.workdir, "from_json.json"))
    errors += compare("results.json", got_json, ref, all_classes)
    # 2: chosen classes, thresholds and bins.
    chosen = ["Pedestrian", "Car"]
    thresholds = {"Car": 0.5, "Pedestrian": 0.3}
    got = run_tarmac(args.tarmac, ["--gt=" + gt_dir, "--pred=" + pred_dir,
                                   "--classes=Pedestrian,Car", "--iou=Car:0.5,Pedestrian:0.3",
                                   "--bins=0,15,30,45"],
                     os.path.join(args.workdir, "chosen.json"))
    ref = evaluate(frames, chosen, thresholds, [0.0, 15.0, 30.0, 45.0])
    errors += compare("chosen", got, ref, chosen)

    # The data must exercise what it is meant to: some but not all boxes matched, ignored boxes.
    aps = [e[k] for c in ref.values() for e in c for k in ("bev", "3d") if e[k] is not None]
    if not any(0.05 < a < 0.95 for a in aps) or sum(e["num_ignored_gt"] for e in ref["Car"]) == 0:
        errors.append("the random data set does not exercise partial matches and ignored boxes")
    if errors:
        print("\n".join("MISMATCH " + e for e in errors))
        return 1
    print("tarmac eval3d agrees with the reference evaluation")
    return 0


if __name__ == "__main__":
    sys.exit(main())

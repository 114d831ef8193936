#!/usr/bin/env python3
"""Checks of the PointPillars pipeline reference: python/pointpillars.py,
pointpillars_postprocess.py, export_pointpillars.py and pointpillars_torch_pipeline.py, on the
folder the export wrote (the ctest fixture pointpillars_model) and the KITTI frames it used.

- ONNX: pfn.onnx and backbone.onnx in ONNX Runtime against the PyTorch model on a real frame
  (relative L2 <= 1e-4), their names and shapes, the dynamic pillar axis.
- Reference files: manifests consistent with the arrays; the pillar features re-scattered
  give the stored spatial_features summary; the head outputs and boxes reproduce.
- Voxelization: the vectorized reference against a plain loop over the points (one frame and
  synthetic clouds with non-finite points, range edges, full pillars and a max_voxels cut).
- Decoding and NMS: hand cases (anchor layout, residuals, direction bins, IoU of overlapping,
  rotated, nested and disjoint boxes, NMS keep/drop, score ties) and the PyTorch pipeline's
  vectorized IoU against the exact polygon clipping.
- Checkpoints: a state_dict under OpenPCDet's keys, saved as OpenPCDet does, loads through
  export_pointpillars.py --checkpoint; a wrong one is refused with the key named.
- The plain PyTorch pipeline on the CPU in float32 gives the reference's boxes, and its
  benchmark command runs.

  tests/pipelines/pointpillars_reference_test.py --model BUILD/pointpillars [--frames DIR]
Exit 0: passed; 1: a failure; 77: skipped (torch, onnx or onnxruntime missing, or no export).
"""
import argparse
import contextlib
import io
import json
import math
import os
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "python"))
ARGS = None
SKIP = 77


def rel_l2(a, b):
    import numpy as np
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


class Fixture:
    """The export folder, its model and references, loaded once."""
    _cached = None

    @classmethod
    def get(cls):
        if cls._cached is None:
            import export_pointpillars as ex
            import pointpillars as pp
            self = cls()
            with open(os.path.join(ARGS.model, "pointpillars.json")) as f:
                self.config = json.load(f)
            self.model = pp.build_model(checkpoint=os.path.join(ARGS.model,
                                                                self.config["checkpoint"]))
            ref_dir = os.path.join(ARGS.model, "ref")
            self.frames = sorted(os.listdir(ref_dir)) if os.path.isdir(ref_dir) else []
            self.refs = {f: ex.read_reference(os.path.join(ref_dir, f)) for f in self.frames}
            cls._cached = self
        return cls._cached

    def points(self, frame):
        import pointpillars as pp
        return pp.load_points(os.path.join(ARGS.frames, self.refs[frame][0]["source"]))

    def largest_frame(self):
        return max(self.frames, key=lambda f: self.refs[f][0]["num_pillars"])


class OnnxTest(unittest.TestCase):
    def test_pfn_and_backbone_match_pytorch(self):
        import numpy as np
        import onnxruntime as ort
        import torch
        import pointpillars as pp
        fx = Fixture.get()
        self.assertTrue(fx.frames, "the export wrote no references")
        manifest, arrays = fx.refs[fx.largest_frame()]
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        pfn = ort.InferenceSession(os.path.join(ARGS.model, fx.config["pfn_onnx"]), opts)
        (inp,), (out,) = pfn.get_inputs(), pfn.get_outputs()
        self.assertEqual((inp.name, inp.shape), ("voxel_features", ["num_pillars", 32, 10]))
        self.assertEqual((out.name, out.shape), ("pillar_features", ["num_pillars", 64]))
        features = arrays["voxel_features"]
        got = pfn.run(None, {"voxel_features": features})[0]
        with torch.no_grad():
            want = fx.model.vfe(torch.from_numpy(features)).numpy()
        self.assertLessEqual(rel_l2(got, want), 1e-4)
        self.assertLessEqual(rel_l2(want, arrays["pillar_features"]), 1e-6)
        small = pfn.run(None, {"voxel_features": features[:7]})[0]  # another pillar count
        self.assertLessEqual(rel_l2(small, want[:7]), 1e-4)

        backbone = ort.InferenceSession(os.path.join(ARGS.model, fx.config["backbone_onnx"]),
                                        opts)
        self.assertEqual([(i.name, i.shape) for i in backbone.get_inputs()],
                         [("spatial_features", [1, 64, 496, 432])])
        self.assertEqual([(o.name, o.shape) for o in backbone.get_outputs()],
                         [("cls_preds", [1, 248, 216, 18]), ("box_preds", [1, 248, 216, 42]),
                          ("dir_cls_preds", [1, 248, 216, 12])])
        spatial = pp.scatter_to_bev(torch.from_numpy(arrays["pillar_features"]),
                                    torch.from_numpy(arrays["coords"]))
        summary = manifest["spatial_features"]
        self.assertEqual(int(torch.count_nonzero(spatial)), summary["nonzero"])
        self.assertAlmostEqual(float(spatial.double().sum()), summary["sum"],
                               delta=1e-9 * summary["abs_sum"])
        got = backbone.run(None, {"spatial_features": spatial.numpy()})
        with torch.no_grad():
            want = [t.numpy() for t in fx.model.head(spatial)]
        for name, g, w in zip(pp.OUTPUT_NAMES, got, want):
            self.assertLessEqual(rel_l2(g, w), 1e-4, name)
            self.assertLessEqual(rel_l2(w, arrays[name]), 1e-5, name)


class ReferenceFilesTest(unittest.TestCase):
    def test_manifests(self):
        fx = Fixture.get()
        self.assertEqual(len(fx.frames), len([f for f in os.listdir(ARGS.frames)
                                              if f.endswith(".bin")]))
        for frame, (m, a) in fx.refs.items():
            p = m["num_pillars"]
            self.assertGreater(p, 0, frame)
            self.assertLessEqual(p, fx.config["max_voxels"])
            self.assertEqual(list(a["coords"].shape), [p, 4])
            self.assertEqual(list(a["voxel_features"].shape), [p, 32, 10])
            self.assertEqual(list(a["pillar_features"].shape), [p, 64])
            self.assertEqual(a["boxes"].shape[1], 9)
            self.assertEqual(len(a["boxes"]), m["num_boxes"])
            self.assertEqual(int(a["num_points"].sum()), m["points_kept"])
            self.assertLessEqual(m["points_kept"], m["points_in_range"])
            self.assertLessEqual(m["points_in_range"], m["points_in"])
            self.assertTrue((a["coords"][:, :2] == 0).all())
            scores = a["boxes"][:, 7]
            self.assertTrue((scores[:-1] >= scores[1:]).all(), frame)
            self.assertTrue((scores >= fx.config["score_threshold"]).all(), frame)

    def test_boxes_reproduce(self):
        import numpy as np
        import export_pointpillars as ex
        import pointpillars_postprocess as post
        fx = Fixture.get()
        for frame in fx.frames:
            a = fx.refs[frame][1]
            boxes = post.postprocess(a["cls_preds"], a["box_preds"], a["dir_cls_preds"],
                                     fx.config)
            np.testing.assert_array_equal(boxes, a["boxes"], frame)
        frame = fx.largest_frame()
        ref = ex.run_reference(fx.model, fx.points(frame), fx.config)
        for name, want in fx.refs[frame][1].items():
            got = ref["arrays"][name]
            self.assertEqual(got.shape, want.shape, name)
            self.assertLessEqual(rel_l2(got, want), 1e-6, name)


def loop_voxelize(points, max_voxels=40000, max_points=32):
    """A plain loop over the points, from the pipeline conventions, independent of
    pointpillars.voxelize: (coords, num_points, voxel_features, counts)."""
    import numpy as np
    f32 = np.float32
    lo_decimal, size_decimal = (0.0, -39.68, -3.0), (0.16, 0.16, 4.0)
    lo, size = [f32(v) for v in lo_decimal], [f32(v) for v in size_decimal]
    # The centre offset vx / 2 + xmin from the configuration's values, rounded to float32 once.
    offset = [f32(size_decimal[k] / 2 + lo_decimal[k]) for k in range(3)]
    grid = [432, 496, 1]
    pillars = {}  # (iz, iy, ix) -> list of points, in first-appearance order (dict order)
    in_range = 0
    for p in points:
        if not all(math.isfinite(float(v)) for v in p):
            continue
        index = [math.floor(float((f32(p[k]) - lo[k]) / size[k])) for k in range(3)]
        if not all(0 <= index[k] < grid[k] for k in range(3)):
            continue
        in_range += 1
        key = (index[2], index[1], index[0])
        if key not in pillars and len(pillars) == max_voxels:
            continue
        pillars.setdefault(key, [])
        if len(pillars[key]) < max_points:
            pillars[key].append([f32(v) for v in p])
    coords = np.array([[0, *k] for k in pillars], dtype=np.int32).reshape(-1, 4)
    num = np.array([len(v) for v in pillars.values()], dtype=np.int32)
    features = np.zeros((len(pillars), max_points, 10), dtype=np.float32)
    for i, (key, pts) in enumerate(pillars.items()):
        total = [f32(0), f32(0), f32(0)]
        for q in pts:
            total = [total[k] + q[k] for k in range(3)]
        mean = [total[k] / f32(len(pts)) for k in range(3)]
        ixyz = (key[2], key[1], key[0])
        centre = [f32(ixyz[k]) * size[k] + offset[k] for k in range(3)]
        for j, q in enumerate(pts):
            features[i, j] = q + [q[k] - mean[k] for k in range(3)] \
                + [q[k] - centre[k] for k in range(3)]
    return coords, num, features, in_range


class VoxelizationTest(unittest.TestCase):
    def check(self, points, max_voxels=40000):
        import numpy as np
        import pointpillars as pp
        v = pp.voxelize(points, max_voxels=max_voxels)
        features = pp.pillar_point_features(v["voxels"], v["num_points"], v["coords"])
        coords, num, want, in_range = loop_voxelize(points, max_voxels)
        np.testing.assert_array_equal(v["coords"], coords)
        np.testing.assert_array_equal(v["num_points"], num)
        np.testing.assert_array_equal(features, want)
        self.assertEqual(v["points_in_range"], in_range)
        return v

    def test_real_frame(self):
        fx = Fixture.get()
        frame = fx.frames[0]
        points = fx.points(frame)
        v = self.check(points)
        m = fx.refs[frame][0]
        self.assertEqual(v["points_in_range"], m["points_in_range"])
        self.assertEqual(len(v["coords"]), m["num_pillars"])

    def test_synthetic_edges(self):
        import numpy as np
        rng = np.random.default_rng(3)
        pts = np.concatenate([
            rng.uniform([-2, -42, -4, 0], [72, 42, 2, 1], (3000, 4)),
            np.tile([[10.0, 0.05, -1.0, 0.5]], (40, 1)) + rng.uniform(0, 0.1, (40, 4)),
            [[0.0, 0.0, 0.0, 0.1], [69.12, 0, 0, 0], [69.119995, 0, 0, 0], [-1e-7, 0, 0, 0],
             [5, -39.68, 0, 0], [5, 39.68, 0, 0], [5, 0, -3.0, 0], [5, 0, 1.0, 0],
             [5, 0, 0.999999, 0], [np.nan, 1, 0, 0], [1, np.inf, 0, 0], [1, 1, 0, -np.inf],
             [0.16, 0.16, 0, 0], [0.32, -39.52, 0, 0], [1e30, 0, 0, 0]],
        ]).astype(np.float32)
        v = self.check(pts)
        self.assertEqual(v["points_finite"], len(pts) - 3)
        self.assertEqual(v["num_points"].max(), 32)  # the 40-point cluster is one full pillar
        cut = self.check(pts, max_voxels=50)
        self.assertEqual(len(cut["coords"]), 50)
        self.assertGreater(cut["pillars_in_range"], 50)
        empty = self.check(np.zeros((0, 4), np.float32))
        self.assertEqual(empty["voxels"].shape, (0, 32, 4))


class PostprocessTest(unittest.TestCase):
    def config(self, **kw):
        import pointpillars as pp
        return {**pp.pipeline_config(), **kw}

    def test_anchor_layout(self):
        import numpy as np
        import pointpillars_postprocess as post
        cfg = self.config()
        a = post.make_anchors(cfg)
        self.assertEqual(a.shape, (248 * 216 * 6, 7))
        j, i, k = 17, 203, 3  # Pedestrian (class 1), rotation 1.57
        n = (j * 216 + i) * 6 + k
        np.testing.assert_allclose(a[n], [i * 69.12 / 215, -39.68 + j * 79.36 / 247,
                                          -0.6 + 1.73 / 2, 0.8, 0.6, 1.73, 1.57], rtol=1e-6)
        self.assertAlmostEqual(float(a[(247 * 216 + 215) * 6, 0]), 69.12, places=4)
        self.assertAlmostEqual(float(a[(247 * 216 + 215) * 6, 1]), 39.68, places=4)
        # Head channels: class a * C + c, box a * 7 + k, direction a * 2 + b.
        cls = np.full((1, 248, 216, 18), -10, np.float32)
        box = np.zeros((1, 248, 216, 42), np.float32)
        dirs = np.zeros((1, 248, 216, 12), np.float32)
        cls[0, j, i, k * 3 + 2] = 3.0           # anchor k scored as Cyclist
        box[0, j, i, k * 7 + 3] = math.log(2)   # dx twice the anchor's
        dirs[0, j, i, k * 2 + 1] = 1.0          # direction bin 1
        out = post.postprocess(cls, box, dirs, cfg)
        self.assertEqual(out.shape, (1, 9))
        want_heading = 1.57 + math.pi  # 1.57 is in bin 0's period; bin 1 adds pi
        np.testing.assert_allclose(out[0], [*a[n, :3], 1.6, 0.6, 1.73, want_heading,
                                            1 / (1 + math.exp(-3)), 2], rtol=1e-5)

    def test_decode(self):
        import numpy as np
        import pointpillars_postprocess as post
        cfg = self.config()
        anchor = np.array([[10, 2, -1, 3.9, 1.6, 1.56, 0.0]], np.float32)
        t = np.array([[0.5, -0.25, 0.1, math.log(1.5), 0, math.log(0.5), 1.0]], np.float32)
        diag = math.hypot(3.9, 1.6)
        # dir_offset 0.78539: bin 0 holds headings in [0.78539, 0.78539 + pi).
        for bins, heading in (([1, 0], 1.0), ([0, 1], 1.0 + math.pi)):
            box = post.decode_boxes(t, np.array([bins], np.float32), anchor, cfg)[0]
            np.testing.assert_allclose(box, [10 + 0.5 * diag, 2 - 0.25 * diag, -1 + 0.156,
                                             5.85, 1.6, 0.78, heading], rtol=1e-6)
        # Headings outside bin 0's half turn are moved into it before the bin is added.
        for raw, bins, heading in ((-1.0, [1, 0], -1.0 + math.pi), (0.3, [1, 0], 0.3 + math.pi),
                                   (0.3, [0, 1], 0.3 + 2 * math.pi),
                                   (4.0, [1, 0], 4.0 - math.pi)):
            t[0, 6] = raw
            box = post.decode_boxes(t, np.array([bins], np.float32), anchor, cfg)[0]
            self.assertAlmostEqual(float(box[6]), heading, places=5, msg=(raw, bins))

    def test_iou_hand_cases(self):
        import numpy as np
        import torch
        import pointpillars_postprocess as post
        import pointpillars_torch_pipeline as tp
        s = math.sqrt(2)
        cases = [  # box a, box b (x, y, dx, dy, heading), IoU
            ((0, 0, 2, 2, 0), (0, 0, 2, 2, 0), 1.0),
            ((0, 0, 2, 2, 0), (1, 0, 2, 2, 0), 1 / 3),
            ((0, 0, 1, 1, 0), (0, 0, 1, 1, math.pi / 4), 1 / s),
            ((5, 5, 4, 2, math.pi / 2), (5, 5, 2, 4, 0), 1.0),
            ((0, 0, 4, 4, 0.3), (0.2, -0.1, 1, 2, 1.1), 2 / 16),
            ((0, 0, 2, 2, 0), (2, 0, 2, 2, 0), 0.0),       # touching edges
            ((0, 0, 2, 2, 0), (3, 3, 2, 2, 0.7), 0.0),
            ((40, -20, 4, 2, 0), (41, -20, 4, 2, math.pi), 3 / 5),
        ]
        for a, b, want in cases:
            self.assertAlmostEqual(post.rotated_iou(a, b), want, places=9, msg=(a, b))
            self.assertAlmostEqual(post.rotated_iou(b, a), want, places=9, msg=(b, a))
        ta = torch.tensor([c[0] for c in cases], dtype=torch.float32)
        tb = torch.tensor([c[1] for c in cases], dtype=torch.float32)
        np.testing.assert_allclose(tp.rotated_iou_pairs(ta, tb).numpy(),
                                   [c[2] for c in cases], atol=2e-6)
        rng = np.random.default_rng(5)
        a = np.column_stack([rng.uniform(0, 3, (500, 2)), rng.uniform(0.3, 4, (500, 2)),
                             rng.uniform(-4, 4, 500)])
        b = np.column_stack([rng.uniform(0, 3, (500, 2)), rng.uniform(0.3, 4, (500, 2)),
                             rng.uniform(-4, 4, 500)])
        want = [post.rotated_iou(x, y) for x, y in zip(a, b)]
        got = tp.rotated_iou_pairs(torch.from_numpy(a).float(), torch.from_numpy(b).float())
        np.testing.assert_allclose(got.numpy(), want, atol=2e-5)

    def test_nms(self):
        import numpy as np
        import pointpillars_postprocess as post
        bev = np.array([[0, 0, 4, 2, 0],      # kept (highest score)
                        [0.5, 0, 4, 2, 0],    # overlaps 0: dropped
                        [4.0, 0, 4, 2, 0],    # touches 0 only: kept
                        [4.2, 0.5, 4, 2, 0.1],  # overlaps 2: dropped
                        [20, 20, 1, 1, 0]])   # alone: kept
        self.assertEqual(post.nms(bev, 0.01, 500).tolist(), [0, 2, 4])
        self.assertEqual(post.nms(bev, 0.01, 2).tolist(), [0, 2])
        self.assertEqual(post.nms(bev, 0.99, 500).tolist(), [0, 1, 2, 3, 4])

    def test_postprocess_order_ties_and_classes(self):
        import numpy as np
        import torch
        import pointpillars_postprocess as post
        import pointpillars_torch_pipeline as tp
        cls = np.full((1, 248, 216, 18), -10, np.float32)
        box = np.zeros((1, 248, 216, 42), np.float32)
        dirs = np.zeros((1, 248, 216, 12), np.float32)
        cls[0, 100, 50, 0 * 3 + 0] = 1.0   # car, rotation 0
        cls[0, 100, 51, 0 * 3 + 0] = 2.0   # the neighbouring car, higher: suppresses it
        cls[0, 100, 50, 2 * 3 + 1] = 1.5   # a pedestrian inside the first car
        cls[0, 10, 10, 4 * 3 + 2] = 0.5    # two cyclists far apart with equal scores:
        cls[0, 10, 200, 4 * 3 + 2] = 0.5   # the lower anchor index first
        models = {"agnostic": True, "per class": False}
        for name, agnostic in models.items():
            cfg = self.config(class_agnostic_nms=agnostic)
            out = post.postprocess(cls, box, dirs, cfg)
            labels = out[:, 8].tolist()
            if agnostic:
                self.assertEqual(labels, [0, 2, 2], name)
            else:  # the pedestrian survives within its class
                self.assertEqual(labels, [0, 1, 2, 2], name)
            self.assertLess(out[-2, 0], out[-1, 0], "equal scores: lower anchor index first")
            pipe = tp.Pipeline(tp.pp.PointPillars(), cfg, "cpu")
            got = pipe.decode(*(torch.from_numpy(x) for x in (cls, box, dirs)))
            np.testing.assert_allclose(got.numpy(), out, rtol=1e-6, atol=1e-6)


class CheckpointTest(unittest.TestCase):
    def test_openpcdet_keys_load(self):
        import numpy as np
        import onnxruntime as ort
        import torch
        import export_pointpillars as ex
        fx = Fixture.get()
        state = fx.model.state_dict()
        for key in ("vfe.pfn_layers.0.linear.weight", "vfe.pfn_layers.0.norm.running_var",
                    "backbone_2d.blocks.0.1.weight", "backbone_2d.blocks.0.11.running_mean",
                    "backbone_2d.blocks.2.16.weight", "backbone_2d.blocks.2.17.bias",
                    "backbone_2d.deblocks.2.0.weight", "backbone_2d.deblocks.0.1.weight",
                    "dense_head.conv_cls.bias", "dense_head.conv_box.weight",
                    "dense_head.conv_dir_cls.weight"):
            self.assertIn(key, state)
        self.assertFalse([k for k in state if not k.startswith(("vfe.", "backbone_2d.",
                                                                 "dense_head."))])
        # A checkpoint as OpenPCDet saves one: other weights, other keys beside the model's.
        g = torch.Generator().manual_seed(11)
        model_state = {k: (v * (1 + 0.1 * torch.rand(v.shape, generator=g))
                           if v.is_floating_point() else v.clone()) for k, v in state.items()}
        model_state["global_step"] = torch.tensor([1234])
        model_state["dense_head.anchors_unused"] = torch.zeros(3)
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = os.path.join(tmp, "checkpoint_epoch_80.pth")
            torch.save({"epoch": 80, "it": 0, "model_state": model_state,
                        "optimizer_state": {"state": {}, "param_groups": []},
                        "version": "pcdet+0.6.0"}, ckpt)
            out = os.path.join(tmp, "out")
            with contextlib.redirect_stdout(io.StringIO()):
                self.assertEqual(ex.main(["--out", out, "--checkpoint", ckpt, "--frames", ""]), 0)
            saved = torch.load(os.path.join(out, "pointpillars.pth"))["model_state"]
            for k, v in state.items():
                self.assertTrue(torch.equal(saved[k], model_state[k]), k)
            features = fx.refs[fx.frames[0]][1]["voxel_features"]
            sess = ort.InferenceSession(os.path.join(out, "pfn.onnx"))
            got = sess.run(None, {"voxel_features": features})[0]
            import pointpillars as pp
            loaded = pp.build_model(checkpoint=ckpt)
            with torch.no_grad():
                want = loaded.vfe(torch.from_numpy(features)).numpy()
                old = fx.model.vfe(torch.from_numpy(features)).numpy()
            self.assertLessEqual(rel_l2(got, want), 1e-4)
            self.assertGreater(rel_l2(want, old), 1e-3)
            del model_state["backbone_2d.blocks.1.4.weight"]
            model_state["vfe.pfn_layers.0.linear.weight"] = torch.zeros(64, 9)
            torch.save({"model_state": model_state}, ckpt)
            err = io.StringIO()
            with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as e:
                ex.main(["--out", out, "--checkpoint", ckpt, "--frames", ""])
            self.assertIn("backbone_2d.blocks.1.4.weight", str(e.exception))
            self.assertIn("vfe.pfn_layers.0.linear.weight (64, 9)", str(e.exception))
        self.assertTrue(np.isfinite(got).all())


class TorchPipelineTest(unittest.TestCase):
    def test_same_boxes_as_reference(self):
        import numpy as np
        import torch
        import pointpillars_torch_pipeline as tp
        fx = Fixture.get()
        pipe = tp.Pipeline(fx.model, fx.config, "cpu")
        total = 0
        for frame in fx.frames:
            a = fx.refs[frame][1]
            points = torch.from_numpy(fx.points(frame))
            features, linear = pipe.voxelize(points)
            np.testing.assert_allclose(features.numpy(), a["voxel_features"], atol=2e-5)
            c = a["coords"].astype(np.int64)
            np.testing.assert_array_equal(linear.numpy(), (c[:, 2] * 432 + c[:, 3]))
            boxes, ms = pipe.run_frame(points)
            self.assertEqual(sorted(ms), sorted(tp.STAGES))
            want = a["boxes"]
            self.assertEqual(boxes.shape, want.shape, frame)
            got = boxes.numpy()
            np.testing.assert_array_equal(got[:, 8], want[:, 8], frame)
            np.testing.assert_allclose(got[:, :7], want[:, :7], atol=1e-4, err_msg=frame)
            np.testing.assert_allclose(got[:, 7], want[:, 7], atol=1e-5, err_msg=frame)
            total += len(want)
        self.assertGreater(total, 0)

    def test_bench_command(self):
        import pointpillars_torch_pipeline as tp
        fx = Fixture.get()
        with tempfile.TemporaryDirectory() as tmp:
            frames = os.path.join(tmp, "frames")
            os.mkdir(frames)
            src = os.path.join(os.path.abspath(ARGS.frames), fx.refs[fx.frames[-1]][0]["source"])
            os.symlink(src, os.path.join(frames, os.path.basename(src)))
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                tp.main(["--bench", "--frames", frames, "--model", ARGS.model, "--device", "cpu",
                         "--warmup", "0", "--iters", "1", "--json", os.path.join(tmp, "r.json")])
            with open(os.path.join(tmp, "r.json")) as f:
                result = json.load(f)
        self.assertEqual(len(result["frames"]), 1)
        self.assertEqual(result["frames"][0]["boxes"], fx.refs[fx.frames[-1]][0]["num_boxes"])
        ref = result["frames"][0]["reference"]
        self.assertTrue(ref["same_labels"])
        self.assertLessEqual(ref["max_abs_diff"] or 0, 1e-4)
        self.assertIn("backbone_head", out.getvalue())


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="export_pointpillars.py output folder")
    parser.add_argument("--frames", default=os.path.join(REPO, "..", "shared", "data", "kitti"))
    ARGS, rest = parser.parse_known_args()
    try:
        import numpy  # noqa: F401
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import torch
    except ImportError as e:
        print(f"skipped: {e}")
        return SKIP
    if not os.path.isfile(os.path.join(ARGS.model, "pointpillars.json")):
        print(f"skipped: no export in {ARGS.model} (the fixture pipelines_export_pointpillars "
              "writes it)")
        return SKIP
    if not os.path.isdir(ARGS.frames):
        print(f"skipped: no KITTI frames in {ARGS.frames}")
        return SKIP
    torch.set_num_threads(min(torch.get_num_threads(), 2))
    result = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())

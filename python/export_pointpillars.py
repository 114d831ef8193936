#!/usr/bin/env python3
"""Exports OpenPCDet's KITTI PointPillars (python/pointpillars.py) for tarmac's lidar pipeline,
with reference outputs of every stage on real lidar frames.

  python/export_pointpillars.py --out DIR [--checkpoint ckpt.pth] [--seed 0]
      [--frames ../shared/data/kitti | --frames ''] [--opset 17]

Writes to DIR:
  pfn.onnx            "voxel_features" float32 [num_pillars, 32, 10] -> "pillar_features"
                      [num_pillars, 64] (num_pillars a dynamic axis)
  backbone.onnx       "spatial_features" [1, 64, 496, 432] -> "cls_preds" [1, 248, 216, 18],
                      "box_preds" [1, 248, 216, 42], "dir_cls_preds" [1, 248, 216, 12]
  pointpillars.json   the pipeline configuration (pointpillars.pipeline_config()) with the two
                      ONNX files and the weights, paths relative to the json file
  pointpillars.pth    the weights as an OpenPCDet checkpoint ({"model_state": ...}), so the
                      PyTorch pipeline (pointpillars_torch_pipeline.py --model DIR) runs the
                      same network
  ref/<frame>/        with --frames (every *.bin there, KITTI x, y, z, intensity float32): the
                      PyTorch model's float32 CPU outputs of each stage as raw little-endian
                      files and manifest.json, which names each array's file, dtype and shape
                      and holds the counts (points_in, points_in_range, num_pillars, ...) and a
                      summary of spatial_features (sum, nonzero), which is not stored (55 MB).

Weights: the checkpoint's, or the seeded ones of pointpillars.build_model(), whose BatchNorm
statistics are calibrated on the --frames frames (needed then). About half a minute on 2 cores.
"""
import argparse
import glob
import json
import os
import sys
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import pointpillars as pp  # noqa: E402
import pointpillars_postprocess as post  # noqa: E402

DEFAULT_FRAMES = os.path.join(os.path.dirname(HERE), "..", "shared", "data", "kitti")
PFN_ONNX, BACKBONE_ONNX, CONFIG_JSON, WEIGHTS = (
    "pfn.onnx", "backbone.onnx", "pointpillars.json", "pointpillars.pth")


def frame_paths(folder):
    return sorted(glob.glob(os.path.join(folder, "*.bin"))) if folder else []


def export_onnx(model, out_dir, opset):
    """Legacy TorchScript exporter (dynamo=False), as the project's other exports. The wrappers
    are put in eval mode first: the exporter restores the mode it found, recursively, and a
    wrapper left in training mode would switch the model's BatchNorms to training."""
    warnings.filterwarnings("ignore", "You are using the legacy", DeprecationWarning)
    warnings.filterwarnings("ignore", "Constant folding - Only steps=1", UserWarning)
    warnings.filterwarnings("ignore", "The feature will be removed", DeprecationWarning)
    pillars = torch.zeros(64, pp.MAX_POINTS_PER_VOXEL, pp.POINT_FEATURES)
    with torch.no_grad():
        torch.onnx.export(
            pp.PfnGraph(model).eval(), (pillars,),
            os.path.join(out_dir, PFN_ONNX), dynamo=False, opset_version=opset,
            input_names=[pp.PFN_INPUT_NAME], output_names=[pp.PFN_OUTPUT_NAME],
            dynamic_axes={pp.PFN_INPUT_NAME: {0: "num_pillars"},
                          pp.PFN_OUTPUT_NAME: {0: "num_pillars"}})
        torch.onnx.export(
            pp.BackboneGraph(model).eval(), (torch.zeros(pp.INPUT_SHAPE),),
            os.path.join(out_dir, BACKBONE_ONNX), dynamo=False, opset_version=opset,
            input_names=[pp.INPUT_NAME], output_names=list(pp.OUTPUT_NAMES))
    model.eval()
    set_static_output_shapes(os.path.join(out_dir, BACKBONE_ONNX), model)


def set_static_output_shapes(path, model):
    """Declares the backbone's output shapes: the exporter leaves them symbolic because the
    pads of ZeroPad2d stay a computation (a Slice with step -1 that it does not fold)."""
    import onnx
    h, w = post.feature_map_size(pp.pipeline_config())
    head = model.dense_head
    channels = {"cls_preds": head.conv_cls.out_channels, "box_preds": head.conv_box.out_channels,
                "dir_cls_preds": head.conv_dir_cls.out_channels}
    graph = onnx.load(path)
    for output in graph.graph.output:
        dims = output.type.tensor_type.shape.dim
        for dim, value in zip(dims, (1, h, w, channels[output.name])):
            dim.Clear()
            dim.dim_value = value
    onnx.checker.check_model(graph)
    onnx.save(graph, path)


def save_checkpoint(model, path):
    torch.save({"model_state": model.state_dict(), "epoch": 0,
                "version": "tarmac pointpillars.py"}, path)


def run_reference(model, points, config, anchors=None):
    """Every stage of one frame in float32 on the CPU: a dict of numpy arrays and counts."""
    v = pp.voxelize(points, config["max_voxels"], config["max_points_per_voxel"])
    features = pp.pillar_point_features(v["voxels"], v["num_points"], v["coords"])
    with torch.no_grad():
        pillars = model.vfe(torch.from_numpy(features))
        spatial = pp.scatter_to_bev(pillars, torch.from_numpy(v["coords"]))
        heads = [t.numpy() for t in model.head(spatial)]
    boxes = post.postprocess(*heads, config, anchors)
    score, _ = post.scores_labels(heads[0], len(config["classes"]))
    counts = {k: v[k] for k in ("points_in", "points_finite", "points_in_range",
                                "points_kept", "pillars_in_range")}
    counts.update(num_pillars=int(len(v["coords"])),
                  score_candidates=int((score >= np.float32(config["score_threshold"])).sum()),
                  num_boxes=int(len(boxes)))
    spatial = spatial.numpy()
    return {
        "counts": counts,
        "spatial_features": {"shape": list(spatial.shape),
                             "sum": float(spatial.sum(dtype=np.float64)),
                             "abs_sum": float(np.abs(spatial).sum(dtype=np.float64)),
                             "nonzero": int(np.count_nonzero(spatial))},
        "arrays": {"coords": v["coords"], "num_points": v["num_points"],
                   "voxel_features": features, "pillar_features": pillars.numpy(),
                   "cls_preds": heads[0], "box_preds": heads[1], "dir_cls_preds": heads[2],
                   "boxes": boxes},
    }


def write_reference(ref, folder, source):
    os.makedirs(folder, exist_ok=True)
    arrays = {}
    for name, a in ref["arrays"].items():
        a = np.ascontiguousarray(a)
        dtype = {np.dtype(np.float32): "<f4", np.dtype(np.int32): "<i4"}[a.dtype]
        a.astype(dtype).tofile(os.path.join(folder, name + ".bin"))
        arrays[name] = {"file": name + ".bin", "dtype": str(a.dtype), "shape": list(a.shape)}
    manifest = {"source": os.path.basename(source), **ref["counts"],
                "spatial_features": ref["spatial_features"],
                "boxes_columns": list(post.BOX_COLUMNS), "arrays": arrays}
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def read_reference(folder):
    """(manifest, {name: array}) of one frame's reference."""
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    arrays = {name: np.fromfile(os.path.join(folder, a["file"]), dtype=a["dtype"]).reshape(
        a["shape"]) for name, a in manifest["arrays"].items()}
    return manifest, arrays


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--checkpoint", help="OpenPCDet checkpoint (model_state) to load")
    parser.add_argument("--seed", type=int, default=0, help="seed of the seeded weights")
    parser.add_argument("--frames", default=DEFAULT_FRAMES,
                        help="folder of KITTI .bin frames for references ('' for none)")
    parser.add_argument("--opset", type=int, default=17)
    args = parser.parse_args(argv)
    torch.set_num_threads(min(torch.get_num_threads(), os.cpu_count() or 1))
    frames = frame_paths(args.frames)
    if args.frames and not frames:
        parser.error(f"--frames {args.frames}: no .bin files there")
    if not args.checkpoint and not frames:
        parser.error("seeded weights are calibrated on lidar frames: give --frames or "
                     "--checkpoint")
    points = [pp.load_points(p) for p in frames]
    try:
        model = pp.build_model(args.seed, args.checkpoint, points)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        sys.exit(f"error: {e}")
    os.makedirs(args.out, exist_ok=True)
    export_onnx(model, args.out, args.opset)
    save_checkpoint(model, os.path.join(args.out, WEIGHTS))
    config = pp.pipeline_config()
    with open(os.path.join(args.out, CONFIG_JSON), "w") as f:
        json.dump({**config, "pfn_onnx": PFN_ONNX, "backbone_onnx": BACKBONE_ONNX,
                   "checkpoint": WEIGHTS}, f, indent=1)
    anchors = post.make_anchors(config)
    for path, p in zip(frames, points):
        name = os.path.splitext(os.path.basename(path))[0]
        ref = run_reference(model, p, config, anchors)
        write_reference(ref, os.path.join(args.out, "ref", name), path)
        c = ref["counts"]
        print(f"{name}: {c['points_in']} points, {c['points_in_range']} in range, "
              f"{c['num_pillars']} pillars, {c['score_candidates']} anchors >= "
              f"{config['score_threshold']}, {c['num_boxes']} boxes")
    print(f"wrote {args.out}/{{{PFN_ONNX},{BACKBONE_ONNX},{CONFIG_JSON},{WEIGHTS}}}"
          + (f" and ref/ for {len(frames)} frames" if frames else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

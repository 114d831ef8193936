"""OpenPCDet's KITTI PointPillars (tools/cfgs/kitti_models/pointpillar.yaml) in PyTorch.

The project's own modules, built from the published architecture (PillarVFE, PointPillarScatter,
BaseBEVBackbone, AnchorHeadSingle), not OpenPCDet's code. Module names follow OpenPCDet's, so
the state_dict keys are those of a real checkpoint (vfe.pfn_layers.0.linear.weight,
backbone_2d.blocks.0.1.weight, dense_head.conv_cls.bias, ...) and load_checkpoint() reads
`torch.load(ckpt)["model_state"]` as OpenPCDet writes it.

Two uses:
- PointPillarsBackboneHead / build(): the dense, convolution-heavy part alone, input the
  scattered pseudo-image `spatial_features` [N, 64, 496, 432], outputs the head's three raw maps
  in NHWC as AnchorHeadSingle returns them: a real-model test and GPU benchmark
  (torchvision_models.py). Weights are PyTorch's default initialisation after the caller's
  torch.manual_seed, BatchNorm statistics re-estimated on random batches by
  torchvision_models.recalibrate_batchnorm.
- PointPillars / build_model(): the whole network (pillar feature net + scatter + backbone +
  head) for the lidar pipeline: python/export_pointpillars.py exports it and writes reference
  outputs, python/pointpillars_torch_pipeline.py runs it end to end. voxelize() and
  pillar_point_features() here are the numpy reference of the pipeline conventions (pillar
  order, float32 index arithmetic, the ten point features); pointpillars_postprocess.py holds
  the anchors, box decoding and rotated NMS.

Seeded weights (no checkpoint): PyTorch's default initialisation after torch.manual_seed, then
OpenPCDet's head initialisation (class bias -log((1 - 0.01) / 0.01), box weights of standard
deviation 0.001), then every BatchNorm's statistics set from real lidar frames so that it
outputs zero mean and unit variance over them (calibrate_batchnorm). Then the class conv's
weights are multiplied by CLS_WEIGHT_SCALE = 0.5, the one number chosen by looking at the
outputs: unscaled, the five KITTI frames 000000-000004 have 34, 3346, 714, 383 and 4183 anchors
of score >= 0.1 (one over nms_pre_max), because an untrained network's logits have heavy tails
where the pseudo-image is dense; at 0.5 they have 0, 251, 29, 16 and 429 (the best score of
000000, a frame of few but crowded pillars, is 0.06), all scores distinct, and 0 to 55 boxes
survive NMS: a detector's workload without float-rounding ties deciding the NMS. (Calibration
makes the network scale-free up to the head, so for the class logits this is the same as
calibrating to an output standard deviation of 0.5, as torchvision_models does.)
"""
import numpy as np
import torch

INPUT_SHAPE = (1, 64, 496, 432)
INPUT_NAME = "spatial_features"
OUTPUT_NAMES = ["cls_preds", "box_preds", "dir_cls_preds"]

LAYER_NUMS = (3, 5, 5)
LAYER_STRIDES = (2, 2, 2)
NUM_FILTERS = (64, 128, 256)
UPSAMPLE_STRIDES = (1, 2, 4)
NUM_UPSAMPLE_FILTERS = (128, 128, 128)
NUM_CLASSES = 3           # Car, Pedestrian, Cyclist
ANCHORS_PER_LOCATION = 6  # 3 classes x 2 rotations (0 and 90 degrees)
BOX_CODE_SIZE = 7         # x, y, z, dx, dy, dz, heading
NUM_DIR_BINS = 2
BN_EPS = 1e-3
BN_MOMENTUM = 0.01


def conv_bn_relu(c_in, c_out, stride, zero_pad):
    """3x3 conv + BN + ReLU. The first conv of a block pads with an explicit ZeroPad2d and
    padding=0, as OpenPCDet does, so the export keeps a Pad node for the pad-folding pass."""
    layers = [torch.nn.ZeroPad2d(1)] if zero_pad else []
    layers += [torch.nn.Conv2d(c_in, c_out, 3, stride=stride, padding=0 if zero_pad else 1,
                               bias=False),
               torch.nn.BatchNorm2d(c_out, eps=BN_EPS, momentum=BN_MOMENTUM),
               torch.nn.ReLU()]
    return layers


class BevBackbone(torch.nn.Module):
    """BaseBEVBackbone: three strided conv blocks, each upsampled back to the first block's
    resolution (stride 2 of the input) by a transposed conv, and concatenated on channels."""

    def __init__(self, c_in=INPUT_SHAPE[1]):
        super().__init__()
        self.blocks = torch.nn.ModuleList()
        self.deblocks = torch.nn.ModuleList()
        for layers, stride, filters, up_stride, up_filters in zip(
                LAYER_NUMS, LAYER_STRIDES, NUM_FILTERS, UPSAMPLE_STRIDES, NUM_UPSAMPLE_FILTERS):
            block = conv_bn_relu(c_in, filters, stride, zero_pad=True)
            for _ in range(layers):
                block += conv_bn_relu(filters, filters, 1, zero_pad=False)
            self.blocks.append(torch.nn.Sequential(*block))
            # A stride-1 "upsample" is a 1x1 transposed conv, kept as ConvTranspose like the
            # others rather than turned into a Conv.
            self.deblocks.append(torch.nn.Sequential(
                torch.nn.ConvTranspose2d(filters, up_filters, up_stride, stride=up_stride,
                                         bias=False),
                torch.nn.BatchNorm2d(up_filters, eps=BN_EPS, momentum=BN_MOMENTUM),
                torch.nn.ReLU()))
            c_in = filters
        self.out_channels = sum(NUM_UPSAMPLE_FILTERS)

    def forward(self, x):
        ups = []
        for block, deblock in zip(self.blocks, self.deblocks):
            x = block(x)
            ups.append(deblock(x))
        return torch.cat(ups, dim=1)


class AnchorHead(torch.nn.Module):
    """AnchorHeadSingle's three 1x1 convs (class scores, box residuals, direction bins),
    with the outputs permuted to NHWC as OpenPCDet returns them."""

    def __init__(self, c_in):
        super().__init__()
        a = ANCHORS_PER_LOCATION
        self.conv_cls = torch.nn.Conv2d(c_in, a * NUM_CLASSES, 1)
        self.conv_box = torch.nn.Conv2d(c_in, a * BOX_CODE_SIZE, 1)
        self.conv_dir_cls = torch.nn.Conv2d(c_in, a * NUM_DIR_BINS, 1)

    def forward(self, x):
        return tuple(conv(x).permute(0, 2, 3, 1).contiguous()
                     for conv in (self.conv_cls, self.conv_box, self.conv_dir_cls))


class PointPillarsBackboneHead(torch.nn.Module):
    """spatial_features [N, 64, 496, 432] -> (cls_preds [N, 248, 216, 18],
    box_preds [N, 248, 216, 42], dir_cls_preds [N, 248, 216, 12])."""

    def __init__(self):
        super().__init__()
        self.backbone_2d = BevBackbone()
        self.dense_head = AnchorHead(self.backbone_2d.out_channels)

    def forward(self, spatial_features):
        return self.dense_head(self.backbone_2d(spatial_features))


def build():
    """Returns (module with fresh weights, input shape, output names); the caller seeds and
    recalibrates BatchNorm (torchvision_models.build)."""
    return PointPillarsBackboneHead(), INPUT_SHAPE, list(OUTPUT_NAMES)


# ---------------------------------------------------------------------------------------------
# The whole network and its pipeline conventions.

POINT_CLOUD_RANGE = (0.0, -39.68, -3.0, 69.12, 39.68, 1.0)  # xmin, ymin, zmin, xmax, ymax, zmax
VOXEL_SIZE = (0.16, 0.16, 4.0)
MAX_POINTS_PER_VOXEL = 32
MAX_VOXELS = 40000            # OpenPCDet's test-time MAX_NUMBER_OF_VOXELS
POINT_FEATURES = 10           # x, y, z, intensity, 3 offsets from the mean, 3 from the centre
PFN_FILTERS = 64
CLASSES = (  # name, anchor size (dx, dy, dz), anchor bottom height
    ("Car", (3.9, 1.6, 1.56), -1.78),
    ("Pedestrian", (0.8, 0.6, 1.73), -0.6),
    ("Cyclist", (1.76, 0.6, 1.73), -0.6),
)
ANCHOR_ROTATIONS = (0.0, 1.57)
DIR_OFFSET = 0.78539
DIR_LIMIT_OFFSET = 0.0
CLS_PRIOR = 0.01              # OpenPCDet's focal-loss prior for the class bias
BOX_WEIGHT_STD = 0.001        # OpenPCDet's init of the box conv
BN_OUTPUT_STD = 1.0           # calibrate_batchnorm's target
CLS_WEIGHT_SCALE = 0.5        # see the module docstring
PFN_INPUT_NAME = "voxel_features"
PFN_OUTPUT_NAME = "pillar_features"
# The keys of a checkpoint this module reads; anything else in a model_state (global_step,
# other modules of other configurations) is ignored.
CHECKPOINT_PREFIXES = ("vfe.pfn_layers.", "backbone_2d.", "dense_head.conv_")


def grid_size():
    """(nx, ny, nz) = round((max - min) / size) per axis: (432, 496, 1)."""
    return tuple(int(round((POINT_CLOUD_RANGE[i + 3] - POINT_CLOUD_RANGE[i]) / VOXEL_SIZE[i]))
                 for i in range(3))


def pipeline_config():
    """The pipeline configuration, as export_pointpillars.py writes it to pointpillars.json."""
    return {
        "point_cloud_range": list(POINT_CLOUD_RANGE),
        "voxel_size": list(VOXEL_SIZE),
        "grid_size": list(grid_size()),
        "max_voxels": MAX_VOXELS,
        "max_points_per_voxel": MAX_POINTS_PER_VOXEL,
        "num_point_features": 4,
        "features": {"use_absolute_xyz": True, "with_distance": False},
        "num_bev_features": PFN_FILTERS,
        "feature_map_stride": 2,
        "classes": [{"name": name, "size": list(size), "rotations": list(ANCHOR_ROTATIONS),
                     "anchor_bottom_height": bottom} for name, size, bottom in CLASSES],
        "dir_offset": DIR_OFFSET,
        "dir_limit_offset": DIR_LIMIT_OFFSET,
        "num_dir_bins": NUM_DIR_BINS,
        "score_threshold": 0.1,
        "nms_iou_threshold": 0.01,
        "nms_pre_max": 4096,
        "max_detections": 500,
        "class_agnostic_nms": True,
    }


def load_points(path):
    """A KITTI velodyne .bin file: float32 [N, 4] (x, y, z, intensity)."""
    return np.fromfile(path, dtype="<f4").reshape(-1, 4)


def voxelize(points, max_voxels=MAX_VOXELS, max_points=MAX_POINTS_PER_VOXEL):
    """The reference voxelization. points: float32 [N, 4]. Returns a dict:
    voxels float32 [P, max_points, 4] (zero padded), coords int32 [P, 4] = (0, iz, iy, ix),
    num_points int32 [P], and the counts points_in, points_finite, points_in_range,
    points_kept, pillars_in_range (before the max_voxels cut).

    Pillars are numbered in the order of their first kept point; points keep their input order
    within a pillar; only the first max_points points of a pillar and the first max_voxels
    pillars are kept. The index arithmetic is float32: floor((x - xmin) / vx), two IEEE float32
    operations then floor, as numpy does it on float32 arrays."""
    points = np.ascontiguousarray(points, dtype=np.float32).reshape(-1, 4)
    finite = np.isfinite(points).all(axis=1)
    pts = points[finite]
    lo = np.array(POINT_CLOUD_RANGE[:3], dtype=np.float32)
    size = np.array(VOXEL_SIZE, dtype=np.float32)
    grid = np.array(grid_size())
    fidx = np.floor((pts[:, :3] - lo) / size)  # float32 [N, 3]: ix, iy, iz
    in_range = ((fidx >= 0) & (fidx < grid.astype(np.float32))).all(axis=1)
    pts, idx = pts[in_range], fidx[in_range].astype(np.int64)
    nx, ny, _ = grid
    linear = (idx[:, 2] * ny + idx[:, 1]) * nx + idx[:, 0]
    _, first, inverse = np.unique(linear, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")        # pillar number -> unique slot
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    pillar = rank[inverse.reshape(-1)]              # pillar number of each point
    num_pillars = min(len(order), max_voxels)
    keep = pillar < num_pillars
    pts, idx, pillar = pts[keep], idx[keep], pillar[keep]
    counts = np.bincount(pillar, minlength=num_pillars)
    by_pillar = np.argsort(pillar, kind="stable")   # input order within a pillar
    starts = np.cumsum(counts) - counts
    slot = np.empty_like(pillar)
    slot[by_pillar] = np.arange(len(pillar)) - starts[pillar[by_pillar]]
    kept = slot < max_points
    voxels = np.zeros((num_pillars, max_points, 4), dtype=np.float32)
    voxels[pillar[kept], slot[kept]] = pts[kept]
    coords = np.zeros((num_pillars, 4), dtype=np.int32)
    first_point = by_pillar[starts]                 # each pillar's first point
    coords[:, 1:] = idx[first_point][:, ::-1]       # (iz, iy, ix)
    return {"voxels": voxels, "coords": coords,
            "num_points": np.minimum(counts, max_points).astype(np.int32),
            "points_in": int(len(points)), "points_finite": int(finite.sum()),
            "points_in_range": int(in_range.sum()), "points_kept": int(kept.sum()),
            "pillars_in_range": int(len(order))}


def pillar_point_features(voxels, num_points, coords):
    """PillarVFE's ten features per point slot (USE_ABSLOTE_XYZ, no distance), float32
    [P, max_points, 10]; padded slots all zero. The pillar mean is the float32 sum of its
    points in slot order divided by num_points; the centre is ix * vx + (vx / 2 + xmin) as a
    float32 multiply and add, with the offset (vx / 2 + xmin) rounded to float32 once."""
    voxels = np.asarray(voxels, dtype=np.float32)
    p, m, _ = voxels.shape
    xyz = voxels[:, :, :3]
    total = np.zeros((p, 3), dtype=np.float32)
    for j in range(m):  # sequential float32 sum; padded slots add exact zeros
        total += xyz[:, j]
    mean = total / num_points.astype(np.float32)[:, None]
    size = np.array(VOXEL_SIZE, dtype=np.float32)
    offset = np.array([VOXEL_SIZE[i] / 2 + POINT_CLOUD_RANGE[i] for i in range(3)],
                      dtype=np.float32)
    index_xyz = coords[:, [3, 2, 1]].astype(np.float32)  # (ix, iy, iz)
    centre = index_xyz * size + offset
    features = np.concatenate(
        [voxels, xyz - mean[:, None, :], xyz - centre[:, None, :]], axis=2)
    mask = np.arange(m)[None, :] < num_points[:, None]
    return (features * mask[:, :, None]).astype(np.float32)


class PFNLayer(torch.nn.Module):
    """OpenPCDet's PFNLayer with USE_NORM, as the last (here only) layer: Linear without bias,
    BatchNorm1d over the flattened [P * slots, C], ReLU, max over the point slots (padded slots
    included, as OpenPCDet does)."""

    def __init__(self, c_in=POINT_FEATURES, c_out=PFN_FILTERS):
        super().__init__()
        self.linear = torch.nn.Linear(c_in, c_out, bias=False)
        self.norm = torch.nn.BatchNorm1d(c_out, eps=BN_EPS, momentum=BN_MOMENTUM)

    def forward(self, voxel_features):  # [P, slots, 10]
        p, slots, _ = voxel_features.shape
        x = self.linear(voxel_features)                                  # [P, slots, 64]
        x = self.norm(x.reshape(p * slots, -1)).reshape(p, slots, -1)
        return torch.relu(x).amax(dim=1)                                 # [P, 64]

    def forward_channels_first(self, voxel_features):
        """The same arithmetic with BatchNorm on [P, 64, slots]: what pfn.onnx holds, as it
        exports without shape arithmetic on the dynamic pillar count (MatMul, Transpose,
        BatchNormalization, Relu, ReduceMax). Eager PyTorch runs the form above 3-4 times
        faster on a GPU."""
        x = self.linear(voxel_features).transpose(1, 2)  # [P, 64, slots]
        return torch.relu(self.norm(x)).amax(dim=2)      # [P, 64]


class PillarVFE(torch.nn.Module):
    """The network part of PillarVFE (its point features are computed outside the network):
    one PFNLayer of 64 filters, under OpenPCDet's name pfn_layers."""

    def __init__(self):
        super().__init__()
        self.pfn_layers = torch.nn.ModuleList([PFNLayer()])

    def forward(self, voxel_features):  # [P, slots, 10] -> [P, 64]
        for layer in self.pfn_layers:
            voxel_features = layer(voxel_features)
        return voxel_features


def scatter_to_bev(pillar_features, coords):
    """PointPillarScatter: pillar_features [P, 64], coords int [P, 4] -> spatial_features
    [1, 64, ny, nx], zero where no pillar is."""
    nx, ny, nz = grid_size()
    c = pillar_features.shape[1]
    canvas = pillar_features.new_zeros((c, nz * ny * nx))
    coords = coords.long()
    index = (coords[:, 1] * ny + coords[:, 2]) * nx + coords[:, 3]
    canvas[:, index] = pillar_features.t()
    return canvas.view(1, c * nz, ny, nx)


class PointPillars(torch.nn.Module):
    """The whole network under OpenPCDet's module names (vfe, backbone_2d, dense_head):
    (voxel_features [P, 32, 10], coords [P, 4]) -> (cls_preds [1, 248, 216, 18],
    box_preds [1, 248, 216, 42], dir_cls_preds [1, 248, 216, 12])."""

    def __init__(self):
        super().__init__()
        self.vfe = PillarVFE()
        self.backbone_2d = BevBackbone(PFN_FILTERS)
        self.dense_head = AnchorHead(self.backbone_2d.out_channels)

    def head(self, spatial_features):
        return self.dense_head(self.backbone_2d(spatial_features))

    def forward(self, voxel_features, coords):
        return self.head(scatter_to_bev(self.vfe(voxel_features), coords))


class PfnGraph(torch.nn.Module):
    """What pfn.onnx holds: voxel_features [P, 32, 10] -> pillar_features [P, 64]."""

    def __init__(self, model):
        super().__init__()
        self.vfe = model.vfe

    def forward(self, voxel_features):
        for layer in self.vfe.pfn_layers:
            voxel_features = layer.forward_channels_first(voxel_features)
        return voxel_features


class BackboneGraph(torch.nn.Module):
    """What backbone.onnx holds: spatial_features -> (cls_preds, box_preds, dir_cls_preds)."""

    def __init__(self, model):
        super().__init__()
        self.backbone_2d = model.backbone_2d
        self.dense_head = model.dense_head

    def forward(self, spatial_features):
        return self.dense_head(self.backbone_2d(spatial_features))


def init_head(head):
    """OpenPCDet's AnchorHeadSingle.init_weights: the class bias at the focal-loss prior and
    the box conv's weights drawn with standard deviation BOX_WEIGHT_STD."""
    torch.nn.init.constant_(head.conv_cls.bias, -float(np.log((1 - CLS_PRIOR) / CLS_PRIOR)))
    torch.nn.init.normal_(head.conv_box.weight, mean=0.0, std=BOX_WEIGHT_STD)


def frame_inputs(points):
    """(voxel_features, coords) tensors of one frame, by the reference voxelization."""
    v = voxelize(points)
    features = pillar_point_features(v["voxels"], v["num_points"], v["coords"])
    return torch.from_numpy(features), torch.from_numpy(v["coords"])


def calibrate_batchnorm(model, frames):
    """Sets every BatchNorm's statistics from the frames (a list of (voxel_features, coords)),
    layer by layer in eval mode, so that each outputs mean 0 and standard deviation
    BN_OUTPUT_STD over all of them given the calibrated layers before it."""
    model.eval()

    def set_stats(module, inputs):
        x = inputs[0]
        var, mean = torch.var_mean(x, [0] + list(range(2, x.dim())), unbiased=False)
        module.running_mean.copy_(mean)
        module.running_var.copy_(var / BN_OUTPUT_STD**2)
        module.num_batches_tracked.fill_(1)

    hooks = [m.register_forward_pre_hook(set_stats) for m in model.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    try:
        with torch.no_grad():
            pillars = model.vfe(torch.cat([f for f, _ in frames]))
            bev, start = [], 0
            for features, coords in frames:
                bev.append(scatter_to_bev(pillars[start:start + len(features)], coords))
                start += len(features)
            model.head(torch.cat(bev))
    finally:
        for h in hooks:
            h.remove()
    return model


def load_checkpoint(model, path):
    """Loads the model's weights from an OpenPCDet checkpoint ({"model_state": ...}; a bare
    state_dict also works). Raises ValueError naming the keys that are missing or mismatched."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    state = ckpt.get("model_state", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a checkpoint (expected a dict with 'model_state')")
    own = model.state_dict()
    picked = {k: v for k, v in state.items() if k.startswith(CHECKPOINT_PREFIXES)}
    missing = [k for k in own if k not in picked and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in picked if k not in own]
    wrong = [f"{k} {tuple(v.shape)} (expected {tuple(own[k].shape)})"
             for k, v in picked.items() if k in own and v.shape != own[k].shape]
    if missing or unexpected or wrong:
        raise ValueError(f"{path}: not OpenPCDet's KITTI PointPillars: missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]}, wrong shape {wrong[:5]}")
    model.load_state_dict(picked, strict=False)
    return model


def build_model(seed=0, checkpoint=None, frames=None):
    """The whole network in eval mode, float32. With a checkpoint, its weights; without, the
    seeded weights of the module docstring, calibrated on `frames` (a list of float32 [N, 4]
    point arrays, required then)."""
    torch.manual_seed(seed)
    model = PointPillars()
    init_head(model.dense_head)
    if checkpoint:
        return load_checkpoint(model, checkpoint).eval()
    if not frames:
        raise ValueError("seeded weights need lidar frames to calibrate BatchNorm on")
    calibrate_batchnorm(model, [frame_inputs(p) for p in frames])
    with torch.no_grad():
        model.dense_head.conv_cls.weight.mul_(CLS_WEIGHT_SCALE)
    return model.eval()

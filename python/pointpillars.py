"""The BEV backbone and anchor head of OpenPCDet's KITTI PointPillars, written out in PyTorch.

The project's own module, built from the published architecture (tools/cfgs/kitti_models/
pointpillar.yaml: BaseBEVBackbone + AnchorHeadSingle), not OpenPCDet's code. It is the dense,
convolution-heavy part of a LiDAR detector, which is why it is a real-model test and benchmark:
the pillar encoder and scatter before it and the box decoding and NMS after it are left out,
so the input is the scattered pseudo-image `spatial_features` [N, 64, 496, 432] and the outputs
are the head's three raw maps in NHWC, as AnchorHeadSingle returns them.

Weights are PyTorch's default initialisation after torch.manual_seed (build() in
torchvision_models.py seeds), not OpenPCDet's head init (focal-loss prior bias, box weights of
standard deviation 0.001), which would only scale the outputs; BatchNorm statistics are
re-estimated by torchvision_models.recalibrate_batchnorm so that activations are O(1).
"""
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

"""The torchvision models of the real-model tests, built and exported with PyTorch, and the
project's PointPillars BEV backbone + anchor head (pointpillars.py), built the same way.

Weights are torchvision's random initialisation after torch.manual_seed(SEED); nothing is
downloaded. That initialisation makes the eval-mode activations of the MobileNet-based models
shrink layer after layer (kaiming fan-out init of depthwise convs), to outputs around 1e-14
for SSDlite, where no nonlinearity ever leaves its linear range. So the weights stay as
initialised, but the BatchNorm running statistics are re-estimated on seeded random batches
and set so that each BatchNorm outputs standard deviation 0.5: activations of the order of
one, as in a trained network, in a network that still damps rounding noise (at 1.0 the
residual stacks amplify it: ResNet-50's float32 output then differs from float64 by 1.6e-5).
"""
import warnings

import torch
import torchvision

import pointpillars

SEED = 0
CALIBRATION_BATCHES = 2
BATCHNORM_OUTPUT_STD = 0.5


class SsdHead(torch.nn.Module):
    """SSD backbone + head, without the input transform and the box post-processing."""

    def __init__(self, ssd):
        super().__init__()
        self.backbone = ssd.backbone
        self.head = ssd.head

    def forward(self, x):
        out = self.head(list(self.backbone(x).values()))
        return out["bbox_regression"], out["cls_logits"]


class EncoderBlock(torch.nn.Module):
    """A pre-norm transformer encoder block (LayerNorm, self-attention, GELU MLP), written out
    so that exports before opset 17/20 decompose LayerNorm and GELU into elementwise ops."""

    def __init__(self, dim=64, heads=4, hidden=128):
        super().__init__()
        self.heads = heads
        self.norm1 = torch.nn.LayerNorm(dim)
        self.qkv = torch.nn.Linear(dim, 3 * dim)
        self.proj = torch.nn.Linear(dim, dim)
        self.norm2 = torch.nn.LayerNorm(dim)
        self.fc1 = torch.nn.Linear(dim, hidden)
        self.fc2 = torch.nn.Linear(hidden, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        att = torch.softmax(q @ k.transpose(-2, -1) * (c // self.heads) ** -0.5, dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, n, c))
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.norm2(x))))


def recalibrate_batchnorm(model, shape):
    """Sets every BatchNorm's running statistics from seeded random batches (see above)."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    generator = torch.Generator().manual_seed(SEED + 1)
    model.train()
    with torch.no_grad():
        for _ in range(CALIBRATION_BATCHES):
            model(torch.randn((8,) + shape[1:], generator=generator))
    for m in norms:
        m.running_var /= BATCHNORM_OUTPUT_STD**2
    return model.eval()


def build(name):
    """Returns (eval-mode module, input shape, output names)."""
    torch.manual_seed(SEED)
    if name == "resnet50":
        model = torchvision.models.resnet50(weights=None)
        shape, outputs = (1, 3, 224, 224), ["output"]
    elif name == "mobilenet_v3_small":
        model = torchvision.models.mobilenet_v3_small(weights=None)
        shape, outputs = (1, 3, 224, 224), ["output"]
    elif name == "mobilenet_v3_small_raw":
        model = torchvision.models.mobilenet_v3_small(weights=None)
        shape, outputs = (1, 3, 224, 224), ["output"]
    elif name == "encoder_block":
        model, shape, outputs = EncoderBlock(), (2, 16, 64), ["output"]
    elif name == "ssdlite":
        ssd = torchvision.models.detection.ssdlite320_mobilenet_v3_large(
            weights=None, weights_backbone=None)
        model, shape, outputs = SsdHead(ssd), (1, 3, 320, 320), ["bbox_regression", "cls_logits"]
    elif name == "pointpillars_backbone":
        model, shape, outputs = pointpillars.build()
    else:
        raise ValueError(f"unknown model '{name}'")
    return recalibrate_batchnorm(model, shape), shape, outputs


# Graph input names other than "input": a model's own name for its input, as its ONNX file has it.
INPUT_NAMES = {"pointpillars_backbone": pointpillars.INPUT_NAME}


def input_name(name):
    """The ONNX input name `name` is exported with."""
    return INPUT_NAMES.get(name, "input")


# Models exported as a user's raw export looks: an older opset, no constant folding (so
# BatchNormalization, Identity and shape arithmetic stay) and a symbolic batch dimension.
RAW_EXPORTS = {"mobilenet_v3_small_raw": 13, "encoder_block": 13}


def export(model, shape, input_name, output_names, path, opset, raw=False):
    """Legacy TorchScript exporter (dynamo=False); fixed shapes unless `raw`."""
    warnings.filterwarnings("ignore", "You are using the legacy", DeprecationWarning)
    dynamic = {input_name: {0: "batch"}} if raw else None
    with torch.no_grad():
        torch.onnx.export(model, (torch.zeros(shape),), path, dynamo=False,
                          opset_version=opset, input_names=[input_name],
                          output_names=output_names, do_constant_folding=not raw,
                          dynamic_axes=dynamic)


def run(model, x):
    """Runs the module on a numpy array; returns a list of numpy arrays."""
    with torch.no_grad():
        out = model(torch.from_numpy(x))
    return [t.numpy() for t in (out if isinstance(out, tuple) else (out,))]

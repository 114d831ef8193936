#!/usr/bin/env python3
"""Writes a >1,000-node exported graph for timing the graph passes (bench/pass_speed.cc).

A stack of transformer encoder blocks after a small convolutional stem, exported as a user's
raw export looks (opset 13, no constant folding, symbolic batch): decomposed LayerNorm and
GELU, BatchNormalization after convolutions, Identity nodes and shape arithmetic.

  python bench/make_large_graph.py --out=build/bench/large_graph.onnx [--blocks=11]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--blocks", type=int, default=11)
    args = ap.parse_args()
    import onnx
    import torch
    import torchvision_models

    class Net(torch.nn.Module):
        def __init__(self, blocks):
            super().__init__()
            self.stem = torch.nn.Sequential(
                torch.nn.Conv2d(3, 32, 3, 2, 1), torch.nn.BatchNorm2d(32), torch.nn.SiLU(),
                torch.nn.Conv2d(32, 64, 3, 2, 1), torch.nn.BatchNorm2d(64), torch.nn.SiLU())
            self.blocks = torch.nn.Sequential(
                *[torchvision_models.EncoderBlock() for _ in range(blocks)])

        def forward(self, x):
            y = self.stem(x)
            y = y.flatten(2).transpose(1, 2)  # [B, HW, C]
            return self.blocks(y)

    torch.manual_seed(0)
    model = Net(args.blocks).eval()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torchvision_models.export(model, (1, 3, 32, 32), "input", ["output"], args.out, 13, raw=True)
    print(f"{args.out}: {len(onnx.load(args.out).graph.node)} nodes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

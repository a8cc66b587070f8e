r"""The authors' generator as a PyTorch network, the speed baseline of `benchmarks.forward`.

Written for this benchmark (not copied) to run the same operations, in the same order and
layout, as the authors' PyTorch implementation (branch LGTSM of amjltc295/Free-Form-Video-
Inpainting, read for this purpose), so that its time stands for theirs on the same machine:

* tensors are [B, C, T, H, W]; the input is [masked frames, known mask, zero guidance]
  concatenated after transposing [B, T, C, H, W] inputs;
* every 2D convolution module is wrapped by `torch.nn.utils.spectral_norm`, whose pre-forward
  hook normalises the weight on every call although the wrapped per-frame convolution keeps
  using the raw weight (reference-verified.md: SN has no effect in the 2D/TSM convolutions);
* the gating branch (and both branches of the 2d variant) convolves the video frame by frame:
  `unbind` over T, one `Conv2d` call per frame, `stack`;
* the LGTSM feature branch applies the learnable shift (one Conv3d with kernel (3, 1, 1) per
  shifted channel group, over the group viewed as [B*C_g, 1, T, H, W]), transposes to
  [B*T, C, H, W], runs one batched `Conv2d`, and transposes back;
* LeakyReLU(0.2) in place, `torch.sigmoid` gating; the 3D variant uses `Conv3d` with real
  spectral normalisation; deconvs are `F.interpolate(scale_factor=(1, 2, 2))` + gated conv.

Module and parameter names follow the authors' state_dict, so their checkpoints (and
../shared/golden/*/weights.npz) load with `load_state_dict(strict=True)`, and the outputs are
checked against the golden outputs (tests/test_benchmarks.py) before the time is taken as
theirs.

  python -m benchmarks.torch_reference --golden ../shared/golden/lgtsm-nf16   # parity check
"""

import argparse
import json
import os

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lgtsm_tf.models.generator import GENERATOR_LAYERS
from lgtsm_tf.models.variants import get_variant

DOWNSAMPLE_LAYERS = 12  # conv1 .. conv8 with the dilated convs; the rest is the upsampling part


class ShiftGroupConv(nn.Module):
    """One shifted group's temporal kernel: Conv3d(1, 1, (3, 1, 1)) over [B*C_g, 1, T, H, W]."""

    def __init__(self, taps):
        super().__init__()
        self.conv = nn.Conv3d(1, 1, (len(taps), 1, 1), padding=(len(taps) // 2, 0, 0),
                              bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor(taps).view(1, 1, len(taps), 1, 1))

    def forward(self, x):
        b, c, t, h, w = x.shape
        return self.conv(x.contiguous().view(b * c, 1, t, h, w)).view(b, c, t, h, w)


class LearnableShift(nn.Module):
    """The reference's LGTSM shift on [B, C, T, H, W]: 2 groups of floor(C / 2) // 2 channels."""

    def __init__(self):
        super().__init__()
        self.pre_shift_conv = ShiftGroupConv([0.0, 0.0, 1.0])   # takes the next frame
        self.post_shift_conv = ShiftGroupConv([1.0, 0.0, 0.0])  # takes the previous frame

    def forward(self, x):
        c = x.shape[1]
        size = int(c * 0.5) // 2
        first, second, rest = x.split([size, size, c - 2 * size], dim=1)
        return torch.cat([self.pre_shift_conv(first), self.post_shift_conv(second), rest], dim=1)


class FrameByFrameConv(nn.Module):
    """A Conv2d run on each frame of [B, C, T, H, W] separately (unbind T, conv, stack)."""

    def __init__(self, c_in, c_out, kernel, stride, padding, dilation):
        super().__init__()
        self.layer = nn.Conv2d(c_in, c_out, kernel, stride, padding, dilation)
        self.weight = self.layer.weight  # what spectral_norm wraps (and then ignores)
        self.bias = self.layer.bias

    def forward(self, x):
        return torch.stack([self.layer(frame) for frame in torch.unbind(x, dim=2)], dim=2)


class ShiftedBatchedConv(FrameByFrameConv):
    """The LGTSM feature convolution: learnable shift, then one Conv2d over all frames."""

    def __init__(self, *args):
        super().__init__(*args)
        self.learnableTSM = LearnableShift()

    def forward(self, x):
        b, c, t, h, w = x.shape
        shifted = self.learnableTSM(x).transpose(1, 2).contiguous()
        y = self.layer(shifted.view(b * t, c, h, w))
        return y.view(b, t, *y.shape[1:]).transpose(1, 2)


class GatedConv(nn.Module):
    def __init__(self, kind, shift, c_in, c_out, kernel, stride, padding, dilation, last):
        super().__init__()
        if kind == "3d":
            def make(_):
                return nn.Conv3d(c_in, c_out, (3, kernel, kernel), (1, stride, stride),
                                 (1, padding, padding), (1, dilation, dilation))
        else:
            def make(feature):
                cls = ShiftedBatchedConv if feature and shift else FrameByFrameConv
                return cls(c_in, c_out, kernel, stride, padding, dilation)
        self.featureConv = make(True)
        self.gatingConv = make(False)
        if not last:  # conv11 has no normalisation
            self.featureConv = nn.utils.spectral_norm(self.featureConv)
            self.gatingConv = nn.utils.spectral_norm(self.gatingConv)
        self.activation = None if last else nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x):
        gating = self.gatingConv(x)
        feature = self.featureConv(x)
        if self.activation is not None:
            feature = self.activation(feature)
        return torch.sigmoid(gating) * feature


class GatedDeconv(nn.Module):
    def __init__(self, *args):
        super().__init__()
        self.conv = GatedConv(*args)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=(1, 2, 2)))


class ReferenceGenerator(nn.Module):
    """The reference generator (CoarseNet, no skips, no refinement).

    forward(frames [B, T, 3, H, W] in [0, 1], masks [B, T, 1, H, W] with 1 = KNOWN, the
    reference's convention) -> composited frames [B, T, 3, H, W].
    """

    def __init__(self, variant="lgtsm", nf=64):
        super().__init__()
        cfg = get_variant(variant)
        kind = "3d" if cfg["conv"] == "3d" else "2d"
        shift = cfg.get("temporal_shift") in ("learnable", "fixed")
        self.coarse_net = nn.Module()
        self.coarse_net.downsample_module = nn.Module()
        self.coarse_net.upsample_module = nn.Module()
        self.order = []
        c_in = 5
        for i, (name, mult, kernel, stride, padding, dilation, upsample) in enumerate(
                GENERATOR_LAYERS):
            c_out = 3 if mult is None else int(nf * mult)
            args = (kind, shift, c_in, c_out, kernel, stride, padding, dilation, mult is None)
            module = GatedDeconv(*args) if upsample else GatedConv(*args)
            part = (self.coarse_net.downsample_module if i < DOWNSAMPLE_LAYERS
                    else self.coarse_net.upsample_module)
            setattr(part, name, module)
            self.order.append(module)
            c_in = c_out

    def forward(self, frames, masks):
        masked = frames * masks
        known = masks.transpose(1, 2)
        x = torch.cat([masked.transpose(1, 2), known, torch.full_like(known, 0.0)], dim=1)
        for module in self.order:
            x = module(x)
        return x.transpose(1, 2) * (1 - masks) + masked


def load_reference_state(model, state):
    """Loads the authors' state_dict (name -> array, e.g. an .npz) strictly into `model`."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    if missing:
        raise KeyError(f"state_dict lacks {len(missing)} weights, e.g. {missing[:3]}")
    model.load_state_dict({key: torch.as_tensor(np.asarray(state[key])) for key in own},
                          strict=True)
    return model


def golden_max_diff(golden_dir):
    """Max |ours - golden| of the composited outputs of a golden set directory."""
    with open(os.path.join(golden_dir, "meta.json")) as f:
        meta = json.load(f)
    model = ReferenceGenerator(meta["variant"], meta["nf"]).eval()
    load_reference_state(model, np.load(os.path.join(golden_dir, "weights.npz")))
    inputs = np.load(os.path.join(golden_dir, "inputs.npz"))
    expected = np.load(os.path.join(golden_dir, "outputs.npz"))["outputs"]
    with torch.no_grad():
        out = model(torch.as_tensor(inputs["frames"]), torch.as_tensor(inputs["masks"])).numpy()
    return float(np.abs(out - expected).max())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--golden", nargs="+", required=True, help="golden set directories")
    args = parser.parse_args(argv)
    for path in args.golden:
        print(f"{path}: max |torch reference - golden| = {golden_max_diff(path):.3g}")


if __name__ == "__main__":
    main()

"""LPIPS (Zhang et al., CVPR 2018), AlexNet backbone with learned linear layers, version 0.1.

Needs PyTorch (the optional ``lgtsm-tf[torch]`` extra); this module imports it at import time,
so import it only when LPIPS was asked for (`lgtsm_tf.evaluation.evaluator` does).

The network is written here (not imported from the ``lpips`` package, which is not a dependency)
and computes what ``lpips.LPIPS(net="alex", version="0.1")`` computes with its defaults:

1. inputs RGB in [-1, 1] (uint8 frames are mapped with x / 127.5 - 1), shifted and scaled per
   channel: (x - shift) / scale with shift (-0.030, -0.088, -0.188), scale (0.458, 0.448, 0.450);
2. AlexNet's convolutional features (torchvision's layout) taken after the 5 ReLUs
   (64, 192, 384, 256, 256 channels);
3. each feature map normalised to unit length over channels (x / (||x|| + 1e-10));
4. squared differences weighted per channel by a non-negative 1x1 conv ("lin" layer, no bias),
   averaged over the spatial positions and summed over the 5 layers. One value per frame.

Weights, given by path (nothing is downloaded): one file or several separated by commas, whose
tensors are merged:
* a full LPIPS state_dict (what ``lpips.LPIPS(net="alex").state_dict()`` saves: ``net.slice1.0
  .weight`` ... and ``lin0.model.1.weight`` ...), or
* the lpips package's linear-layer file ``weights/v0.1/alex.pth`` **plus** torchvision's ImageNet
  AlexNet file (``alexnet-owt-7be5be79.pth``, keys ``features.N.*``; its classifier is ignored):
  ``--lpips_weights=alex.pth,alexnet-owt-7be5be79.pth``.

The tests here run on randomly initialised weights generated with this architecture and saved to
a temporary file (the real files cannot be downloaded on the development machines), so the code
path, the key layout and the arithmetic above are tested, but no value has been compared with
the ``lpips`` package on real weights: do not present numbers as comparable to published ones
before that check has been made.
"""

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from lgtsm_tf.evaluation.torch_weights import check_keys, load_state_dict

FLAG = "--lpips_weights"
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
CHANNELS = (64, 192, 384, 256, 256)
EPS = 1e-10
#: torchvision alexnet `features.N` index -> LPIPS slice holding it.
_TORCHVISION_SLICES = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}
#: Smallest frame side AlexNet's strides and pools accept.
MIN_SIZE = 31

SETTINGS = {
    "network": "AlexNet (torchvision layout) + linear layers, LPIPS version 0.1",
    "input": "whole frame, uint8/127.5 - 1 in [-1, 1], no resizing",
    "reduction": "spatial mean per layer, sum over the 5 layers; per frame",
    "comparable_to_published": "only with the real lpips v0.1 alex + torchvision AlexNet weights",
}


class ScalingLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))

    def forward(self, x):
        return (x - self.shift) / self.scale


class AlexNetFeatures(nn.Module):
    """torchvision AlexNet `features`, split after each ReLU (module indices kept)."""

    def __init__(self):
        super().__init__()
        layers = [
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(),
            nn.MaxPool2d(3, stride=2), nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(),
            nn.MaxPool2d(3, stride=2), nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
        ]
        bounds = (0, 2, 5, 8, 10, 12)
        for s in range(5):
            part = OrderedDict((str(i), layers[i]) for i in range(bounds[s], bounds[s + 1]))
            self.add_module(f"slice{s + 1}", nn.Sequential(part))

    def forward(self, x):
        outs = []
        for s in range(5):
            x = getattr(self, f"slice{s + 1}")(x)
            outs.append(x)
        return outs


class LinearLayer(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.model = nn.Sequential(OrderedDict(
            [("0", nn.Dropout()), ("1", nn.Conv2d(channels, 1, 1, bias=False))]))

    def forward(self, x):
        return self.model(x)


class LPIPS(nn.Module):
    """LPIPS v0.1 AlexNet-lin; forward(a, b) on [N, 3, H, W] in [-1, 1] -> [N] distances."""

    def __init__(self):
        super().__init__()
        self.scaling_layer = ScalingLayer()
        self.net = AlexNetFeatures()
        for k, c in enumerate(CHANNELS):
            self.add_module(f"lin{k}", LinearLayer(c))
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, a, b):
        fa, fb = self.net(self.scaling_layer(a)), self.net(self.scaling_layer(b))
        total = 0.0
        for k in range(len(CHANNELS)):
            na = fa[k] / (torch.sqrt(torch.sum(fa[k] ** 2, dim=1, keepdim=True)) + EPS)
            nb = fb[k] / (torch.sqrt(torch.sum(fb[k] ** 2, dim=1, keepdim=True)) + EPS)
            total = total + getattr(self, f"lin{k}")((na - nb) ** 2).mean(dim=(2, 3))
        return total[:, 0]


def _rename(key: str) -> str:
    """torchvision `features.N.x` -> `net.sliceS.N.x`; other keys unchanged."""
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "features" and parts[1].isdigit():
        index = int(parts[1])
        if index in _TORCHVISION_SLICES:
            return f"net.slice{_TORCHVISION_SLICES[index]}.{index}.{parts[2]}"
    return key


def load(paths: str) -> LPIPS:
    """Builds the network and loads weights from one path or several separated by commas."""
    merged, sources = {}, []
    for path in [p.strip() for p in str(paths).split(",") if p.strip()]:
        state = load_state_dict(path, FLAG)
        sources.append(path)
        for key, value in state.items():
            if key.startswith("classifier."):
                continue  # torchvision AlexNet's classifier: not used by LPIPS
            merged[_rename(key)] = value
    if not sources:
        raise ValueError(f"{FLAG}: no path given")
    model = LPIPS()
    check_keys(" + ".join(sources), FLAG, model, merged, optional_prefixes=("scaling_layer.",))
    return model


def save_random(path: str, seed: int = 0) -> None:
    """Saves a randomly initialised LPIPS state_dict (for tests; NOT the real weights).

    The linear layers are made non-negative, as trained LPIPS weights are.
    """
    torch.manual_seed(seed)
    model = LPIPS()
    for k in range(len(CHANNELS)):
        weight = getattr(model, f"lin{k}").model[1].weight
        weight.copy_(weight.abs())
    torch.save(model.state_dict(), path)


class LPIPSMetric:
    """Per-frame LPIPS between uint8 frame batches with a loaded network."""

    def __init__(self, model: LPIPS):
        self.model = model

    def __call__(self, truth: np.ndarray, result: np.ndarray) -> np.ndarray:
        """truth, result uint8 [N, H, W, 3] -> float64 [N] distances."""
        h, w = truth.shape[1:3]
        if min(h, w) < MIN_SIZE:
            raise ValueError(f"LPIPS needs frames of at least {MIN_SIZE}x{MIN_SIZE} pixels, "
                             f"got {w}x{h}")

        def tensor(x):
            return torch.from_numpy(np.ascontiguousarray(x, np.float32)).permute(0, 3, 1, 2) \
                / 127.5 - 1.0

        with torch.no_grad():
            return self.model(tensor(truth), tensor(result)).double().numpy()

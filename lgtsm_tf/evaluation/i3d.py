"""VFID: Fréchet distance between I3D features of real and result videos.

Needs PyTorch (the optional ``lgtsm-tf[torch]`` extra); imported only when ``--i3d_weights`` is
given. The Fréchet distance itself (`frechet_distance`) is numpy/scipy and lives in
`lgtsm_tf.evaluation.frechet` so it can be used without torch.

The network is Inception-v1 I3D (Carreira and Zisserman, CVPR 2017) in the layout of the
PyTorch port the video-inpainting papers use (piergiaj's ``pytorch_i3d.InceptionI3d``; its
``rgb_imagenet.pt``, 400 Kinetics classes, loads here with its own key names: ``Conv3d_1a_7x7
.conv3d.weight``, ``Mixed_3b.b1b.bn.running_mean``, ..., ``logits.conv3d.bias``). Written here,
not imported: 3D convolutions without bias, batch norm (eps 1e-3) and ReLU, TensorFlow-style
"SAME" padding computed from the input size (zeros, also before max-pooling), inception blocks
with four branches.

The video feature is what LGTSM's `evaluate.py`, E2FGVI and ProPainter compute (their
``get_i3d_activations(..., target_endpoint="Logits")``): the **Mixed_5c** output averaged over
time, height and width, 1024 values per video, from the **whole video at once** (all frames,
one clip), with frames uint8 / 255 in **[0, 1]** (as those evaluations feed it, although I3D was
trained on [-1, 1]), at the frame size given (they evaluate at 432x240). VFID is then the
Fréchet distance between the Gaussians fitted to the real and the result features over all
videos, which needs at least two videos.

Memory grows with the video length (the whole clip goes through the network at once, as in
those evaluations). The tests run on randomly initialised weights generated with this
architecture and saved to a temporary file (the real file cannot be downloaded on the
development machines): the code path, key layout and arithmetic are tested, but no value has
been compared with the PyTorch port on real weights, so do not present VFID numbers as
comparable to published ones before that check has been made.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lgtsm_tf.evaluation.torch_weights import check_keys, load_state_dict

FLAG = "--i3d_weights"
FEATURE_DIM = 1024

SETTINGS = {
    "network": "Inception-v1 I3D (pytorch_i3d layout, e.g. rgb_imagenet.pt)",
    "feature": "Mixed_5c mean over T, H, W (1024-d) of the whole video as one clip",
    "input": "uint8/255 in [0, 1] (as LGTSM/E2FGVI/ProPainter evaluate), frame size as given",
    "distance": "Frechet distance between real and result feature Gaussians over videos",
    "comparable_to_published": "only with the real rgb_imagenet.pt weights at 432x240",
}


def _same_padding(size, kernel, stride):
    if size % stride == 0:
        pad = max(kernel - stride, 0)
    else:
        pad = max(kernel - size % stride, 0)
    return pad // 2, pad - pad // 2


def _pad_same(x, kernel, stride):
    t, h, w = x.shape[2:]
    pt, ph, pw = (_same_padding(s, k, st) for s, k, st in zip((t, h, w), kernel, stride))
    return F.pad(x, (pw[0], pw[1], ph[0], ph[1], pt[0], pt[1]))


class Unit3D(nn.Module):
    """Conv3d (no bias unless asked) + optional BatchNorm3d(eps 1e-3) + optional ReLU."""

    def __init__(self, cin, cout, kernel=(1, 1, 1), stride=(1, 1, 1), batch_norm=True,
                 relu=True, bias=False):
        super().__init__()
        self.kernel, self.stride, self.relu = tuple(kernel), tuple(stride), relu
        self.conv3d = nn.Conv3d(cin, cout, self.kernel, stride=self.stride, padding=0,
                                bias=bias)
        self.bn = nn.BatchNorm3d(cout, eps=0.001, momentum=0.01) if batch_norm else None

    def forward(self, x):
        x = self.conv3d(_pad_same(x, self.kernel, self.stride))
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.relu else x


class MaxPoolSame(nn.Module):
    def __init__(self, kernel, stride):
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)

    def forward(self, x):
        return F.max_pool3d(_pad_same(x, self.kernel, self.stride), self.kernel, self.stride)


class Inception(nn.Module):
    """Four branches: 1x1; 1x1 -> 3x3x3; 1x1 -> 3x3x3; 3x3x3 max-pool -> 1x1."""

    def __init__(self, cin, widths):
        super().__init__()
        self.b0 = Unit3D(cin, widths[0])
        self.b1a = Unit3D(cin, widths[1])
        self.b1b = Unit3D(widths[1], widths[2], (3, 3, 3))
        self.b2a = Unit3D(cin, widths[3])
        self.b2b = Unit3D(widths[3], widths[4], (3, 3, 3))
        self.b3a = MaxPoolSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(cin, widths[5])

    def forward(self, x):
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)),
                          self.b3b(self.b3a(x))], dim=1)


# (name, kind, arguments) in order, up to Mixed_5c.
_LAYERS = (
    ("Conv3d_1a_7x7", "unit", (3, 64, (7, 7, 7), (2, 2, 2))),
    ("MaxPool3d_2a_3x3", "pool", ((1, 3, 3), (1, 2, 2))),
    ("Conv3d_2b_1x1", "unit", (64, 64, (1, 1, 1), (1, 1, 1))),
    ("Conv3d_2c_3x3", "unit", (64, 192, (3, 3, 3), (1, 1, 1))),
    ("MaxPool3d_3a_3x3", "pool", ((1, 3, 3), (1, 2, 2))),
    ("Mixed_3b", "mixed", (192, (64, 96, 128, 16, 32, 32))),
    ("Mixed_3c", "mixed", (256, (128, 128, 192, 32, 96, 64))),
    ("MaxPool3d_4a_3x3", "pool", ((3, 3, 3), (2, 2, 2))),
    ("Mixed_4b", "mixed", (480, (192, 96, 208, 16, 48, 64))),
    ("Mixed_4c", "mixed", (512, (160, 112, 224, 24, 64, 64))),
    ("Mixed_4d", "mixed", (512, (128, 128, 256, 24, 64, 64))),
    ("Mixed_4e", "mixed", (512, (112, 144, 288, 32, 64, 64))),
    ("Mixed_4f", "mixed", (528, (256, 160, 320, 32, 128, 128))),
    ("MaxPool3d_5a_2x2", "pool", ((2, 2, 2), (2, 2, 2))),
    ("Mixed_5b", "mixed", (832, (256, 160, 320, 32, 128, 128))),
    ("Mixed_5c", "mixed", (832, (384, 192, 384, 48, 128, 128))),
)


class InceptionI3d(nn.Module):
    """I3D up to Mixed_5c, plus the (unused) 400-class `logits` layer so checkpoints load."""

    def __init__(self, num_classes=400):
        super().__init__()
        self.order = []
        for name, kind, args in _LAYERS:
            if kind == "unit":
                module = Unit3D(args[0], args[1], args[2], args[3])
            elif kind == "pool":
                module = MaxPoolSame(*args)
            else:
                module = Inception(*args)
            self.add_module(name, module)
            self.order.append(name)
        self.logits = Unit3D(FEATURE_DIM, num_classes, batch_norm=False, relu=False, bias=True)
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    def features(self, video):
        """video float [B, 3, T, H, W] -> [B, 1024]: Mixed_5c averaged over T, H and W."""
        x = video
        for name in self.order:
            x = getattr(self, name)(x)
        return x.mean(dim=(2, 3, 4))


def load(path: str) -> InceptionI3d:
    """Builds I3D and loads a state_dict (logits layer optional, any class count)."""
    state = load_state_dict(path, FLAG)
    classes = state.get("logits.conv3d.weight")
    model = InceptionI3d(400 if classes is None else int(classes.shape[0]))
    check_keys(path, FLAG, model, state, optional_prefixes=("logits.",))
    return model


def save_random(path: str, seed: int = 0, num_classes: int = 400) -> None:
    """Saves a randomly initialised I3D state_dict (for tests; NOT the real weights)."""
    torch.manual_seed(seed)
    torch.save(InceptionI3d(num_classes).state_dict(), path)


class I3DFeatures:
    """Video features with a loaded network: uint8 [T, H, W, 3] -> float64 [1024]."""

    def __init__(self, model: InceptionI3d):
        self.model = model

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        video = torch.from_numpy(np.ascontiguousarray(frames, np.float32) / 255.0)
        video = video.permute(3, 0, 1, 2).unsqueeze(0)  # [1, 3, T, H, W]
        with torch.no_grad():
            return self.model.features(video)[0].double().numpy()

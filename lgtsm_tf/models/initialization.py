"""Initial weights of a freshly built generator or discriminator.

Two schemes, chosen with `initialize(model, scheme, seed)` (or `--init` in `trainers/train.py`);
neither changes the architecture, the weights' names or shapes, so checkpoints and the
reference's state_dicts load into either:

- ``"reference"``: PyTorch's default convolution init, which the authors train from:
  kernel and bias ~ U(+-1/sqrt(fan_in)). This is what `build_generator` creates. Each gated
  layer ``sigmoid(g) * lrelu(f)`` then keeps about 1/12 of its input's second moment (1/3 from
  the kernel's variance 1/(3 fan_in), 0.52 from the LeakyReLU, 1/4 from a half-open gate), so
  after the generator's 17 layers the signal is ~1e-9 of the input and mostly bias, and the
  gradients of the first twelve layers are below Adam's epsilon: a from-scratch run can only
  learn the last layers' constant colour (measured per layer by `benchmarks/signal_flow.py`).
- ``"scaled"`` (the default for training from scratch): variance-preserving for the gated
  product. Feature kernels ~ N(0, gain^2 / fan_in) with ``gain^2 = 1 / (E[act(f)^2] / Var f
  * sigmoid(b_g)^2)`` (0.52 for LeakyReLU 0.2, 1 for the linear last layer), zero feature
  biases; gate kernels ~ N(0, (0.5)^2 / fan_in) and gate biases ``b_g = 1`` so every gate starts
  73 % open and responds to its input; so each layer passes its input's scale on, forwards and
  backwards. The last layer's feature kernel is scaled down (`LAST_LAYER_GAIN`) and its bias set
  to 0.5, so the first fill is mid-grey plus a small image-dependent term instead of noise.
  Learnable temporal-shift taps keep their one-hot initial values (fixed TSM at step 0).

Fan-in counts every tap: kh * kw * C_in (2D) or kt * kh * kw * C_in (3D). Spectral-normalised
layers (the 3D variant) normalise the kernel anyway; their kernels get the same draw, which only
sets the direction.
"""

import math

import numpy as np

from lgtsm_tf.layers.gated_conv import GatedConv
from lgtsm_tf.layers.padded_conv import PaddedConv

SCHEMES = ("reference", "scaled")

#: Gate bias of the "scaled" scheme: sigmoid(1) = 0.73 open at initialisation.
GATE_BIAS = 1.0
#: Standard deviation of gate kernels times sqrt(fan_in).
GATE_GAIN = 0.5
#: E[act(f)^2] / Var(f) for a zero-mean Gaussian f.
ACTIVATION_SECOND_MOMENT = {"leaky_relu": (1.0 + 0.2 ** 2) / 2.0, None: 1.0}
#: Feature-kernel gain of the last (linear) layer relative to variance preserving.
LAST_LAYER_GAIN = 0.1
#: Initial fill of the last layer's feature bias (mid-grey before the gate's 0.73).
LAST_LAYER_BIAS = 0.5


def _convolutions(model):
    """(gated layer or None, conv) for every PaddedConv of `model`, in build order."""
    out = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, GatedConv):
            out.append((layer, layer.feature))
            out.append((layer, layer.gating))
        elif isinstance(layer, PaddedConv) and not any(layer is c for _, c in out):
            out.append((None, layer))
    return out


def _fan_in(conv):
    return int(np.prod(conv.kernel.shape[:-1]))


def _reference_draw(conv, rng):
    bound = 1.0 / math.sqrt(_fan_in(conv))
    conv.kernel.assign(rng.uniform(-bound, bound, conv.kernel.shape).astype("float32"))
    if conv.bias is not None:
        conv.bias.assign(rng.uniform(-bound, bound, conv.bias.shape).astype("float32"))


def _scaled_draw(gated, conv, rng):
    fan_in = _fan_in(conv)
    if gated is None:  # a plain (discriminator) conv: He init for LeakyReLU, zero bias
        std = math.sqrt(1.0 / (ACTIVATION_SECOND_MOMENT["leaky_relu"] * fan_in))
        bias = np.zeros(conv.bias.shape) if conv.bias is not None else None
    elif conv is gated.gating:
        std = GATE_GAIN / math.sqrt(fan_in)
        bias = np.full(conv.bias.shape, GATE_BIAS)
    else:
        open_gate = 1.0 / (1.0 + math.exp(-GATE_BIAS))
        moment = ACTIVATION_SECOND_MOMENT[gated.activation]
        std = 1.0 / math.sqrt(moment * open_gate ** 2 * fan_in)
        bias = np.zeros(conv.bias.shape)
        if gated.activation is None:  # the generator's last layer
            std *= LAST_LAYER_GAIN
            bias = np.full(conv.bias.shape, LAST_LAYER_BIAS / open_gate)
    conv.kernel.assign(rng.normal(0.0, std, conv.kernel.shape).astype("float32"))
    if conv.bias is not None:
        conv.bias.assign(bias.astype("float32"))


def initialize(model, scheme="scaled", seed=0):
    """Re-draws the convolution weights of a built generator or discriminator in place.

    Args:
      model: a model from `build_generator` / `build_discriminator` (built).
      scheme: one of `SCHEMES` (see the module docstring).
      seed: the draw depends only on the seed and the layer order.

    Returns:
      `model`.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; choose one of {list(SCHEMES)}")
    convs = _convolutions(model)
    if not convs:
        raise ValueError(f"{model.name}: no convolutions to initialise")
    rng = np.random.default_rng(seed)
    for gated, conv in convs:
        if scheme == "reference":
            _reference_draw(conv, rng)
        else:
            _scaled_draw(gated, conv, rng)
    return model


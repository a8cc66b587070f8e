"""The LGTSM generator (the reference's CoarseNet, no skips, no refinement) as a Keras model."""

import keras

from lgtsm_tf import contract
from lgtsm_tf.layers import (Composite, GatedConv2D, GatedConv3D, GatedUpsample,
                             InpaintingInput)
from lgtsm_tf.models.network import NetworkConfig, network_inputs
from lgtsm_tf.models.variants import get_variant

# name, output channels as a multiple of nf, kernel, stride, padding, dilation, upsample first.
# Spatial arithmetic from the reference (verified against the authors' code).
GENERATOR_LAYERS = (
    ("conv1", 1, 5, 1, 1, 1, False),
    ("conv2", 2, 4, 2, 2, 1, False),
    ("conv3", 2, 3, 1, 1, 1, False),
    ("conv4", 4, 4, 2, 1, 1, False),
    ("conv5", 4, 3, 1, 1, 1, False),
    ("conv6", 4, 3, 1, 1, 1, False),
    ("dilated_conv1", 4, 3, 1, 2, 2, False),
    ("dilated_conv2", 4, 3, 1, 4, 4, False),
    ("dilated_conv3", 4, 3, 1, 8, 8, False),
    ("dilated_conv4", 4, 3, 1, 16, 16, False),
    ("conv7", 4, 3, 1, 1, 1, False),
    ("conv8", 4, 3, 1, 1, 1, False),
    ("deconv1", 2, 3, 1, 1, 1, True),
    ("conv9", 2, 3, 1, 1, 1, False),
    ("deconv2", 1, 3, 1, 1, 1, True),
    ("conv10", 0.5, 3, 1, 1, 1, False),
    ("conv11", None, 3, 1, 1, 1, False),  # 3 output channels, no activation, no SN
)


def _gated_conv(variant_cfg, name, filters, kernel, stride, padding, dilation, activation,
                spectral_norm, shift_kwargs, dtype):
    if variant_cfg["conv"] == "3d":
        return GatedConv3D(filters, (3, kernel, kernel), strides=(1, stride, stride),
                           padding=(1, padding, padding), dilation_rate=(1, dilation, dilation),
                           activation=activation, spectral_norm=spectral_norm, name=name,
                           dtype=dtype)
    return GatedConv2D(filters, kernel, strides=stride, padding=padding, dilation_rate=dilation,
                       activation=activation, spectral_norm=spectral_norm,
                       temporal_shift=variant_cfg["temporal_shift"], name=name, dtype=dtype,
                       **shift_kwargs)


@keras.saving.register_keras_serializable(package="lgtsm_tf")
class InpaintingGenerator(NetworkConfig, keras.Model):
    """The inpainting generator: a functional `keras.Model` that knows how it was built.

    Args:
      variant: "lgtsm" (paper model), "gtsm", "2d" or "3d" (see `lgtsm_tf.models.variants`).
      nf: base channel count (64 in the paper), an even number >= 2.
      shift_ratio, shift_groups, shift_width, per_channel_shift: the temporal shift of the 2D
        variants (reference: 0.5, 2, 3, shared per group).
      spectral_norm: None for the variant's reference behaviour (off in 2D variants, where the
        reference's SN has no effect; on in 3D); True/False to force it (conv11 never has SN).
      dtype: dtype policy name of every layer but the float32 composite (None: the global
        policy when built); `with_precision` rebuilds the model under another one.
      name: model name (default "<variant>_generator").

    Inputs {"frames": float [B, T, H, W, 3] in [0, 1], "masks": float [B, T, H, W, 1], 1 = hole};
    output the composited frames [B, T, H, W, 3] float32 (known pixels copied from the input,
    holes from the network). B, T, H, W are dynamic; H and W must be multiples of
    `lgtsm_tf.contract.SIZE_MULTIPLE`. `get_config()` holds the arguments above, so a reloaded
    `.keras` file is an `InpaintingGenerator` again, with its `variant` and `nf`.
    """

    def __init__(self, variant="lgtsm", nf=64, shift_ratio=0.5, shift_groups=2, shift_width=3,
                 per_channel_shift=False, spectral_norm=None, dtype=None, name=None, **kwargs):
        cfg = get_variant(variant)
        if isinstance(nf, bool) or not isinstance(nf, int) or nf < 2 or nf % 2:
            raise ValueError(f"nf must be an even number >= 2, got {nf}")
        sn = cfg["spectral_norm"] if spectral_norm is None else spectral_norm
        shift_kwargs = {"shift_ratio": shift_ratio, "shift_groups": shift_groups,
                        "shift_width": shift_width, "per_channel_shift": per_channel_shift}
        frames, masks = network_inputs()
        x = InpaintingInput(mask_frames=True, size_multiple=contract.SIZE_MULTIPLE,
                            name="inpainting_input", dtype=dtype)([frames, masks])
        for layer_name, mult, kernel, stride, padding, dilation, upsample in GENERATOR_LAYERS:
            last = mult is None
            filters = 3 if last else int(nf * mult)
            conv = _gated_conv(cfg, "conv" if upsample else layer_name, filters, kernel, stride,
                               padding, dilation, None if last else "leaky_relu",
                               False if last else sn, shift_kwargs, dtype)
            x = (GatedUpsample(conv, name=layer_name, dtype=dtype) if upsample else conv)(x)
        outputs = Composite(name="composite")([x, frames, masks])
        super().__init__({contract.FRAMES: frames, contract.MASKS: masks}, outputs,
                         name=name or f"{variant}_generator", **kwargs)
        self._set_arguments(variant=variant, nf=nf, spectral_norm=sn, dtype=dtype,
                            **shift_kwargs)


def build_generator(variant="lgtsm", nf=64, shift_ratio=0.5, shift_groups=2, shift_width=3,
                    per_channel_shift=False, spectral_norm=None, name=None, dtype=None):
    """`InpaintingGenerator(...)` (see there for the arguments, inputs and output)."""
    return InpaintingGenerator(variant, nf, shift_ratio=shift_ratio, shift_groups=shift_groups,
                               shift_width=shift_width, per_channel_shift=per_channel_shift,
                               spectral_norm=spectral_norm, dtype=dtype, name=name)

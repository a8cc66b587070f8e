"""The temporal PatchGAN discriminator (TSMGAN for the shift variants) as a Keras model."""

import keras

from lgtsm_tf import contract
from lgtsm_tf.layers import FrameConv2D, InpaintingInput, VideoConv3D
from lgtsm_tf.models.network import NetworkConfig, network_inputs
from lgtsm_tf.models.variants import get_variant

# name, output channels as a multiple of nf, spatial padding; kernel 5, spatial stride 2.
DISCRIMINATOR_LAYERS = (
    ("conv1", 1, 1),
    ("conv2", 2, 2),
    ("conv3", 4, 2),
    ("conv4", 4, 2),
    ("conv5", 4, 2),
    ("conv6", 4, 2),  # no activation, no SN
)


@keras.saving.register_keras_serializable(package="lgtsm_tf")
class TemporalDiscriminator(NetworkConfig, keras.Model):
    """The temporal PatchGAN discriminator (SNTemporalPatchGANDiscriminator).

    For "lgtsm"/"gtsm" every conv is a temporal shift + per-frame 2D conv without gating (the
    paper's TSMGAN); "2d" drops the shift; "3d" uses 3D convs (temporal kernel 3) with real
    spectral normalisation. Kernel 5x5, spatial stride 2, channels nf, 2nf, 4nf, 4nf, 4nf, 4nf,
    LeakyReLU 0.2 after all but the last, sigmoid at the end. Arguments as
    `lgtsm_tf.models.InpaintingGenerator`'s (`dtype`: the policy of every layer but the float32
    sigmoid).

    Inputs {"frames": float [B, T, H, W, 3] in [0, 1] (real or generated), "masks": float
    [B, T, H, W, 1], 1 = hole}; output float32 [B, T, H/64, W/64, 4*nf] in (0, 1) (spatial
    sizes by the reference's conv arithmetic).
    """

    def __init__(self, variant="lgtsm", nf=64, shift_ratio=0.5, shift_groups=2, shift_width=3,
                 per_channel_shift=False, spectral_norm=None, dtype=None, name=None, **kwargs):
        cfg = get_variant(variant)
        sn_default = cfg["spectral_norm"] if spectral_norm is None else spectral_norm
        frames, masks = network_inputs()
        x = InpaintingInput(mask_frames=False, size_multiple=1, name="inpainting_input",
                            dtype=dtype)([frames, masks])
        for layer_name, mult, padding in DISCRIMINATOR_LAYERS:
            last = layer_name == "conv6"
            activation = None if last else "leaky_relu"
            sn = False if last else sn_default
            if cfg["conv"] == "3d":
                conv = VideoConv3D(nf * mult, (3, 5, 5), strides=(1, 2, 2),
                                   padding=(1, padding, padding), activation=activation,
                                   spectral_norm=sn, name=layer_name, dtype=dtype)
            else:
                conv = FrameConv2D(nf * mult, 5, strides=2, padding=padding,
                                   activation=activation, spectral_norm=sn,
                                   temporal_shift=cfg["temporal_shift"],
                                   shift_ratio=shift_ratio, shift_groups=shift_groups,
                                   shift_width=shift_width, per_channel_shift=per_channel_shift,
                                   name=layer_name, dtype=dtype)
            x = conv(x)
        outputs = keras.layers.Activation("sigmoid", dtype="float32", name="sigmoid")(x)
        super().__init__({contract.FRAMES: frames, contract.MASKS: masks}, outputs,
                         name=name or f"{variant}_discriminator", **kwargs)
        self._set_arguments(variant=variant, nf=nf, shift_ratio=shift_ratio,
                            shift_groups=shift_groups, shift_width=shift_width,
                            per_channel_shift=per_channel_shift, spectral_norm=sn_default,
                            dtype=dtype)


def build_discriminator(variant="lgtsm", nf=64, shift_ratio=0.5, shift_groups=2, shift_width=3,
                        per_channel_shift=False, spectral_norm=None, name=None, dtype=None):
    """`TemporalDiscriminator(...)` (see there for the arguments, inputs and output)."""
    return TemporalDiscriminator(variant, nf, shift_ratio=shift_ratio, shift_groups=shift_groups,
                                 shift_width=shift_width, per_channel_shift=per_channel_shift,
                                 spectral_norm=spectral_norm, dtype=dtype, name=name)

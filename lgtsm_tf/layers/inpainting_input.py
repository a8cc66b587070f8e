"""InpaintingInput: validates frames and masks and builds the reference's 5-channel input."""

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="lgtsm_tf")
class InpaintingInput(keras.layers.Layer):
    """[frames, masks] -> [B, T, H, W, 5] = [frames * known (3), known (1), guidance zeros (1)].

    frames: float [B, T, H, W, 3] in [0, 1]. masks: float [B, T, H, W, 1], 1 = hole (public
    convention); the reference's networks take known = 1 - masks. With `mask_frames=False`
    (the discriminator) the frames are passed as they are.

    B, T, H and W must agree between frames and masks, and H and W must be multiples of
    `size_multiple` (4 for the generator, whose two stride-2 stages and two x2 upsamplings only
    restore the input size then). Static shapes are checked when the model is built; dynamic
    ones raise `tf.errors.InvalidArgumentError` with the same message when it runs (pad whole
    videos with `lgtsm_tf.inference`, which crops back).
    """

    def __init__(self, mask_frames=True, size_multiple=4, **kwargs):
        super().__init__(**kwargs)
        self.mask_frames = mask_frames
        self.size_multiple = size_multiple

    def _check_static(self, frames_shape, masks_shape):
        if len(frames_shape) != 5 or frames_shape[-1] != 3:
            raise ValueError(f"frames must be [B, T, H, W, 3], got shape {tuple(frames_shape)}")
        if len(masks_shape) != 5 or masks_shape[-1] != 1:
            raise ValueError(f"masks must be [B, T, H, W, 1] (1 = hole), got shape {tuple(masks_shape)}")
        for axis, name in enumerate("BTHW"):
            f, m = frames_shape[axis], masks_shape[axis]
            if f is not None and m is not None and f != m:
                raise ValueError(f"frames and masks differ in {name}: frames {tuple(frames_shape)}, "
                                 f"masks {tuple(masks_shape)}")
        for axis, name in ((2, "height"), (3, "width")):
            size = frames_shape[axis]
            if size is not None and size % self.size_multiple:
                raise ValueError(
                    f"frame {name} {size} is not a multiple of {self.size_multiple}; pad the video "
                    f"(lgtsm_tf.inference pads and crops back) or resize it")

    def build(self, input_shape):
        self._check_static(*input_shape)

    def call(self, inputs):
        frames, masks = inputs
        self._check_static(frames.shape, masks.shape)
        frames_shape, masks_shape = tf.shape(frames), tf.shape(masks)
        checks = [
            tf.debugging.assert_equal(
                frames_shape[:4], masks_shape[:4],
                message="frames and masks must have the same [B, T, H, W]"),
        ]
        if self.size_multiple > 1:
            checks.append(tf.debugging.assert_equal(
                frames_shape[2:4] % self.size_multiple, tf.zeros([2], tf.int32),
                message=f"frame height and width must be multiples of {self.size_multiple}; "
                        f"pad the video (lgtsm_tf.inference pads and crops back)"))
        with tf.control_dependencies(checks):
            known = 1.0 - masks
        if self.mask_frames:
            frames = frames * known
        return ops.concatenate([frames, known, ops.zeros_like(known)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:4], 5)

    def get_config(self):
        return {**super().get_config(), "mask_frames": self.mask_frames,
                "size_multiple": self.size_multiple}

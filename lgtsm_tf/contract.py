"""The model's input/output contract, in one place.

Every path into or out of a generator (the training pipeline, the whole-video inpainter, the
SavedModel and ONNX signatures, the serving clients) converts with these functions, so the
rules below are written once:

* frames: uint8 0..255 at files and serving edges; the model sees float32 ``x / 255`` in [0, 1]
  and its float output goes back to uint8 as ``rint(255 x)`` clipped to 0..255 (round half to
  even, as ``np.rint`` and ``tf.round``).
* masks: **1 = hole**. Integer and bool masks: nonzero = hole; float masks (soft, resampled or
  predicted, in [0, 1]): ``> HOLE_THRESHOLD`` (0.5) = hole. The model sees float32 {0, 1}
  ``[..., T, H, W, 1]``.
* size: the generator needs H and W divisible by :data:`SIZE_MULTIPLE` (two stride-2 stages and
  two x2 upsamplings); other sizes are padded at the bottom and right by reflection (mirror
  without repeating the edge pixel, PyTorch's ``ReflectionPad2d``; a side not longer than its
  padding replicates its edge instead) and the output is cropped back.
* names: the model's input dict and the serving signatures use :data:`FRAMES` and :data:`MASKS`,
  the signatures' output :data:`OUTPUT`; :data:`SIGNATURES` maps signature name to input dtype.

The numpy functions need only numpy (``lgtsm_tf.serving``'s REST client uses them without
TensorFlow); the ``*_tf`` functions import TensorFlow when called and work in graphs with
dynamic shapes (no fixed sizes, no ``tf.cond``: they convert to ONNX and run under TensorRT).
"""

from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

#: Spatial size multiple the generator needs.
SIZE_MULTIPLE = 4
#: A float mask value above this is a hole.
HOLE_THRESHOLD = 0.5
#: Names of the model's inputs (dict keys) and of the serving signatures' inputs and output.
FRAMES, MASKS, OUTPUT = "frames", "masks", "inpainted"
#: Serving signature name -> dtype of its inputs (the output has the same dtype).
SIGNATURES = {"serving_default": "uint8", "serving_float": "float32"}

__all__ = ["SIZE_MULTIPLE", "HOLE_THRESHOLD", "FRAMES", "MASKS", "OUTPUT", "SIGNATURES",
           "to_float", "to_uint8", "holes", "padded_size", "pad_to_multiple",
           "to_float_tf", "to_uint8_tf", "holes_tf", "pad_to_multiple_tf", "model_inputs_tf",
           "input_specs", "check_size"]


# ----------------------------------------------------------------------------- numpy

def to_float(frames) -> np.ndarray:
    """uint8 frames (any shape) -> float32 ``x / 255`` in [0, 1]."""
    return np.asarray(frames).astype(np.float32) / np.float32(255.0)


def to_uint8(frames) -> np.ndarray:
    """float frames in [0, 1] (any shape) -> uint8 ``rint(255 x)`` clipped to 0..255."""
    return np.clip(np.rint(np.asarray(frames) * np.float32(255.0)), 0, 255).astype(np.uint8)


def holes(masks) -> np.ndarray:
    """Masks of any shape -> bool, True = hole: bool as is, integer nonzero, float > 0.5."""
    masks = np.asarray(masks)
    if masks.dtype == np.bool_:
        return masks
    if np.issubdtype(masks.dtype, np.floating):
        return masks > HOLE_THRESHOLD
    return masks != 0


def padded_size(size: int, multiple: int = SIZE_MULTIPLE) -> int:
    """The smallest multiple of ``multiple`` that is >= ``size``."""
    return -(-int(size) // multiple) * multiple


def pad_to_multiple(x: np.ndarray, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
    """``[H, W, C]`` -> ``[H', W', C]`` with H', W' the next multiples of ``multiple``.

    Pads at the bottom and right by reflection; a side not longer than its padding (under 4 px)
    replicates its edge instead. Crop back with ``[:H, :W]``.
    """
    for axis in (0, 1):
        pad = (-x.shape[axis]) % multiple
        if pad:
            widths = [(0, 0)] * x.ndim
            widths[axis] = (0, pad)
            x = np.pad(x, widths, mode="reflect" if x.shape[axis] > pad else "edge")
    return x


# ----------------------------------------------------------------------------- TensorFlow

def to_float_tf(frames):
    """uint8 tensor -> float32 ``x / 255`` in [0, 1]."""
    import tensorflow as tf

    return tf.cast(frames, tf.float32) / 255.0


def to_uint8_tf(frames):
    """float tensor in [0, 1] -> uint8 ``round(255 x)`` (half to even) clipped to 0..255."""
    import tensorflow as tf

    return tf.cast(tf.clip_by_value(tf.round(frames * 255.0), 0.0, 255.0), tf.uint8)


def holes_tf(masks):
    """Mask tensor -> float32 {0, 1}, 1 = hole (:func:`holes`' rule for the tensor's dtype)."""
    import tensorflow as tf

    if masks.dtype.is_floating:
        return tf.cast(masks > HOLE_THRESHOLD, tf.float32)
    return tf.cast(tf.not_equal(masks, tf.zeros([], masks.dtype)), tf.float32)


def model_inputs_tf(frames_uint8, masks) -> Dict[str, object]:
    """uint8 frames ``[..., T, H, W, 3]`` and masks ``[..., T, H, W]`` -> the model's dict
    ``{FRAMES: float32 in [0, 1], MASKS: float32 {0, 1} [..., T, H, W, 1]}``."""
    import tensorflow as tf

    return {FRAMES: to_float_tf(frames_uint8), MASKS: holes_tf(masks)[..., tf.newaxis]}


def pad_to_multiple_tf(video, multiple: int = SIZE_MULTIPLE):
    """Pads H and W of a ``[B, T, H, W, C]`` tensor at the bottom/right to multiples of
    ``multiple``, with the values of :func:`pad_to_multiple` per frame.

    A gather along each axis with indices computed from the runtime size (no ``tf.cond``, no
    fixed sizes), so it converts to ONNX Gather and runs under TensorRT dynamic shapes. Crop
    back with ``[:, :, :H, :W]``.
    """
    import tensorflow as tf

    shape = tf.shape(video)
    for axis in (2, 3):
        size = shape[axis]
        padded = (size + multiple - 1) // multiple * multiple
        pad = padded - size
        index = tf.range(padded)
        beyond = tf.where(size > pad, 2 * (size - 1) - index, size - 1)
        video = tf.gather(video, tf.where(index < size, index, beyond), axis=axis)
    return video


def input_specs(dtype) -> Dict[str, object]:
    """``{FRAMES: TensorSpec [None] * 4 + [3], MASKS: TensorSpec [None] * 4 + [1]}`` of
    ``dtype`` (dynamic batch, time, height and width)."""
    import tensorflow as tf

    return {FRAMES: tf.TensorSpec([None, None, None, None, 3], dtype, name=FRAMES),
            MASKS: tf.TensorSpec([None, None, None, None, 1], dtype, name=MASKS)}


def check_size(height: int, width: int) -> Tuple[int, int]:
    """(height, width) if both are multiples of :data:`SIZE_MULTIPLE`, else ValueError."""
    if height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
        raise ValueError(f"height and width must be multiples of {SIZE_MULTIPLE}, got "
                         f"{height}x{width}")
    return height, width

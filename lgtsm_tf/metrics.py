"""Image-quality metrics on video tensors: MSE, PSNR and SSIM, whole-frame or hole-only.

Inputs: frames float [B, T, H, W, 3] with values in [0, 1] (data range 1; any float dtype, computed
in float32; no clipping is applied, so clamp generator outputs to [0, 1] first as the reference's
evaluation does), masks float [B, T, H, W, 1] with 1 = hole. Any number of leading dimensions works
in place of [B, T]; per-frame functions return one float32 value per frame, shape [B, T], and the
plain functions return the float32 mean over frames (the reference averages metrics per frame).

Hole-only versions (``masks`` given) weight each pixel by its mask value (so binary masks give
"sum over hole pixels / number of hole pixels", and soft masks a weighted mean). A frame without
any hole pixel has no hole-only value: its per-frame entry is **NaN**, and the frame-averaged
functions and the Keras metrics skip NaN frames (the average over no frame at all is NaN).
`hole_frame_weights(masks)` gives the matching [B, T] 0/1 weights.

Differences from the reference's evaluation (`evaluate.py`), on purpose: the reference quantises to
uint8 first, computes PSNR on uint8 arrays without casting (the subtraction wraps modulo 256) and
returns 100 for identical frames, and its `ssim_exact` also runs the Gaussian filter across the
channel axis. Here PSNR is 10*log10(1 / MSE) on the float values (identical frames give +inf, or
`max_psnr`), and SSIM is computed per channel and averaged over channels.
"""

import math

import keras
import numpy as np
import tensorflow as tf

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
_RADIUS = SSIM_WINDOW // 2


def _gaussian_taps():
    k = np.arange(SSIM_WINDOW, dtype=np.float64) - _RADIUS
    g = np.exp(-(k ** 2) / (2.0 * SSIM_SIGMA ** 2))
    return (g / g.sum()).astype(np.float32)  # computed once at import, a graph constant


_GAUSSIAN = _gaussian_taps()


def _f32(x):
    return keras.ops.cast(x, "float32")


def _nan_where_empty(values, counts):
    return tf.where(counts > 0, values, tf.constant(math.nan, tf.float32))


def hole_frame_weights(masks):
    """masks [B, T, H, W, 1] -> [B, T] float32: 1 where the frame has a hole pixel (mask > 0)."""
    return tf.cast(tf.reduce_sum(_f32(masks), axis=[-3, -2, -1]) > 0, tf.float32)


def average_frames(values, weights=None):
    """Mean of per-frame values [B, T] over frames, skipping NaN entries; float32 scalar.

    weights: optional [B, T] (or broadcastable) non-negative frame weights. NaN if no frame counts.
    +inf values (identical frames, uncapped PSNR) are kept, so the mean is then +inf.
    """
    values = _f32(values)
    w = tf.cast(tf.logical_not(tf.math.is_nan(values)), tf.float32)
    if weights is not None:
        w = w * tf.broadcast_to(_f32(weights), tf.shape(values))
    total = tf.reduce_sum(tf.where(w > 0, values * w, 0.0))
    count = tf.reduce_sum(w)
    return _nan_where_empty(total / tf.maximum(count, 1e-30), count)


# --------------------------------------------------------------------------- MSE / PSNR


def mse_per_frame(y_true, y_pred, masks=None):
    """Per-frame mean squared error, [B, T] float32.

    Without masks: mean over H*W*3. With masks: sum(m * (y_true - y_pred)^2) / (3 * sum(m)) over
    the frame, NaN for frames without holes.
    """
    sq = keras.ops.square(_f32(y_true) - _f32(y_pred))
    if masks is None:
        return tf.reduce_mean(sq, axis=[-3, -2, -1])
    m = _f32(masks)
    channels = tf.cast(tf.shape(sq)[-1], tf.float32)
    count = tf.reduce_sum(m, axis=[-3, -2, -1]) * channels
    total = tf.reduce_sum(sq * m, axis=[-3, -2, -1])
    return _nan_where_empty(total / tf.maximum(count, 1e-30), count)


def psnr_from_mse(mse_values, max_psnr=None):
    """10 * log10(1 / mse) for data range 1; mse 0 gives +inf (or `max_psnr`), NaN stays NaN."""
    mse_values = _f32(mse_values)
    psnr_values = -10.0 * tf.math.log(mse_values) / math.log(10.0)
    if max_psnr is not None:
        capped = tf.minimum(psnr_values, float(max_psnr))
        psnr_values = tf.where(tf.math.is_nan(psnr_values), psnr_values, capped)
    return psnr_values


def psnr_per_frame(y_true, y_pred, masks=None, max_psnr=None):
    """Per-frame PSNR in dB for values in [0, 1], [B, T] float32.

    PSNR = 10 * log10(1 / MSE) with MSE from `mse_per_frame` (hole-only when masks are given, NaN
    for frames without holes). Identical frames give +inf unless `max_psnr` (e.g. 100, the
    reference's value for identical frames) caps it.
    """
    return psnr_from_mse(mse_per_frame(y_true, y_pred, masks), max_psnr)


def mse(y_true, y_pred, masks=None):
    """Per-frame MSE averaged over frames (frames without holes skipped when masks are given)."""
    return average_frames(mse_per_frame(y_true, y_pred, masks))


def psnr(y_true, y_pred, masks=None, max_psnr=None):
    """Per-frame PSNR averaged over frames, float32 scalar (not the PSNR of the mean MSE)."""
    return average_frames(psnr_per_frame(y_true, y_pred, masks, max_psnr))


# --------------------------------------------------------------------------- SSIM


def _gaussian_blur_valid(x):
    """Separable 11-tap Gaussian, VALID padding, per channel. x [N, H, W, C] float32."""
    channels = x.shape[-1]
    g = tf.constant(_GAUSSIAN)
    kernel_h = tf.tile(tf.reshape(g, [SSIM_WINDOW, 1, 1, 1]), [1, 1, channels, 1])
    kernel_w = tf.tile(tf.reshape(g, [1, SSIM_WINDOW, 1, 1]), [1, 1, channels, 1])
    x = tf.nn.depthwise_conv2d(x, kernel_h, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(x, kernel_w, [1, 1, 1, 1], "VALID")


def ssim_map(y_true, y_pred):
    """Full-size SSIM map, [..., H, W, C] float32 (same shape as the inputs).

    Per channel: Gaussian window 11 x 11, sigma 1.5 (normalised taps), C1 = (0.01)^2,
    C2 = (0.03)^2 (data range 1), population (biased) local variances:
        S = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)).
    Borders are filled by symmetric (half-sample) reflection, scipy's `mode="reflect"`, so this is
    skimage's `structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1, full=True)` map. H and W must be at least 5. The
    channel count C must be static (an unknown one is taken to be 3 and checked at run time).
    """
    x, y = _f32(y_true), _f32(y_pred)
    if x.shape[-1] is None:  # e.g. a tf.function signature of all-None dims: frames are RGB
        x = tf.ensure_shape(x, [None] * (len(x.shape) - 1) + [3])
    shape = tf.shape(x)
    x4 = tf.reshape(x, tf.concat([[-1], shape[-3:]], axis=0))
    y4 = tf.reshape(y, tf.concat([[-1], shape[-3:]], axis=0))
    stacked = tf.concat([x4, y4, x4 * x4, y4 * y4, x4 * y4], axis=-1)
    pad = [[0, 0], [_RADIUS, _RADIUS], [_RADIUS, _RADIUS], [0, 0]]
    blurred = _gaussian_blur_valid(tf.pad(stacked, pad, mode="SYMMETRIC"))
    mu_x, mu_y, e_xx, e_yy, e_xy = tf.split(blurred, 5, axis=-1)
    var_x = e_xx - mu_x * mu_x
    var_y = e_yy - mu_y * mu_y
    cov = e_xy - mu_x * mu_y
    c1, c2 = SSIM_K1 ** 2, SSIM_K2 ** 2
    s = ((2.0 * mu_x * mu_y + c1) * (2.0 * cov + c2)) / (
        (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2))
    return tf.reshape(s, shape)


def ssim_per_frame(y_true, y_pred, masks=None):
    """Per-frame SSIM, [B, T] float32.

    Without masks: the SSIM map averaged over channels and over the pixels at least 5 pixels from
    the border (where the 11 x 11 window fits; needs H, W >= 11). Per channel this is exactly
    skimage's `structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, channel_axis=-1, data_range=1)` (skimage crops the same border
    before averaging) and `tf.image.ssim(a, b, 1.0)`. The reference's `ssim_exact` differs: it
    also filters across the channel axis.
    With masks: the full-size `ssim_map` (border included) averaged over channels, then over hole
    pixels weighted by the mask; NaN for frames without holes. So an all-hole mask averages over
    the whole map, border included, and differs slightly from the unmasked value.
    """
    s = ssim_map(y_true, y_pred)
    if masks is None:
        return tf.reduce_mean(s[..., _RADIUS:-_RADIUS, _RADIUS:-_RADIUS, :], axis=[-3, -2, -1])
    m = _f32(masks)[..., 0]
    s = tf.reduce_mean(s, axis=-1)
    count = tf.reduce_sum(m, axis=[-2, -1])
    total = tf.reduce_sum(s * m, axis=[-2, -1])
    return _nan_where_empty(total / tf.maximum(count, 1e-30), count)


def ssim(y_true, y_pred, masks=None):
    """Per-frame SSIM averaged over frames (frames without holes skipped when masks are given)."""
    return average_frames(ssim_per_frame(y_true, y_pred, masks))


# --------------------------------------------------------------------------- Keras metrics


class _HoleFrameMean(keras.metrics.Metric):
    """Mean of a per-frame hole metric over all frames with holes seen since the last reset.

    State: float32 `total` (sum of frame values x weights) and `count` (sum of weights), created
    with aggregation "sum" and on-read synchronisation, so under tf.distribute each replica
    accumulates its own frames and `result()` (read in cross-replica context) is the mean over the
    global batch. `result()` is NaN until a frame with a hole has been seen.
    """

    def __init__(self, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype="float32",
                                       name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype="float32",
                                       name="count")

    def _per_frame(self, y_true, y_pred, masks):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, masks, sample_weight=None):
        """y_true, y_pred [B, T, H, W, 3] in [0, 1]; masks [B, T, H, W, 1] (1 = hole);
        sample_weight: optional weights broadcastable to [B, T] (e.g. [B, 1] per clip)."""
        values = self._per_frame(y_true, y_pred, masks)
        w = tf.cast(tf.logical_not(tf.math.is_nan(values)), tf.float32)
        if sample_weight is not None:
            w = w * tf.broadcast_to(_f32(sample_weight), tf.shape(values))
        self.total.assign_add(tf.reduce_sum(tf.where(w > 0, values * w, 0.0)))
        self.count.assign_add(tf.reduce_sum(w))

    def result(self):
        count = tf.convert_to_tensor(self.count)
        return _nan_where_empty(tf.convert_to_tensor(self.total) / tf.maximum(count, 1e-30),
                                count)


@keras.saving.register_keras_serializable(package="lgtsm_tf")
class HolePSNR(_HoleFrameMean):
    """Mean per-frame PSNR (dB) on hole pixels, over frames with holes; float32.

    update_state(y_true, y_pred, masks, sample_weight=None), see `psnr_per_frame`. max_psnr caps
    each frame's value (default 100 dB, the reference's value for identical frames, so one perfect
    frame cannot turn the running mean into +inf; None disables the cap).
    """

    def __init__(self, max_psnr=100.0, name="hole_psnr", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.max_psnr = None if max_psnr is None else float(max_psnr)

    def _per_frame(self, y_true, y_pred, masks):
        return psnr_per_frame(y_true, y_pred, masks, self.max_psnr)

    def get_config(self):
        return {**super().get_config(), "max_psnr": self.max_psnr}


@keras.saving.register_keras_serializable(package="lgtsm_tf")
class HoleSSIM(_HoleFrameMean):
    """Mean per-frame SSIM on hole pixels, over frames with holes; float32.

    update_state(y_true, y_pred, masks, sample_weight=None), see `ssim_per_frame`.
    """

    def __init__(self, name="hole_ssim", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _per_frame(self, y_true, y_pred, masks):
        return ssim_per_frame(y_true, y_pred, masks)

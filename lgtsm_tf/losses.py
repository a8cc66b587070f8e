"""Generator and discriminator losses of LGTSM (the reference's `model/loss.py` and trainer).

All functions take the *composited* generator output `y_hat` (known pixels copied from the input)
and the target `y`, frames float [B, T, H, W, 3] in [0, 1], and masks float [B, T, H, W, 1] with
1 = hole (the reference stores 1 = known; its formulas are converted here). Inputs of any float
dtype (float32, float16, bfloat16) are cast to float32 and every loss is a float32 scalar.

Reduction and tf.distribute
---------------------------
Every loss is a *mean over the batch it is given*. Inside a `tf.distribute` replica context that
is the replica's share of the global batch, so the value is the per-replica mean. Gradients are
summed across replicas (all-reduce SUM), so the caller must divide each loss by
`num_replicas_in_sync` before taking gradients, which `scale_for_distribution(loss)` does:

    with tf.GradientTape() as tape:
        terms = generator_loss_terms(y_hat, y, masks, vgg, weights)
        loss = scale_for_distribution(terms["total"])     # / num_replicas_in_sync
    grads = tape.gradient(loss, generator.trainable_variables)

The summed gradient is then the gradient of the mean over the global batch, provided every replica
gets the same number of samples (batch the dataset with `drop_remainder=True`). For logging, report
the unscaled per-replica values reduced with `strategy.reduce("MEAN", ...)`. Under a single device
or the default strategy `scale_for_distribution` is the identity. (Exception: the reference's style
loss with `fold_batch=True` mixes samples within a replica's batch, so it is not decomposable over
replicas; the distributed value differs from a single-device one at the same global batch.)

Reference weights (LGTSM `config.json` and the released GAN run): L1 1, perceptual 1, style 10,
adversarial 0 in stage 1 and 1 in stage 2 (fine-tuning with the TSMGAN discriminator).
"""

import dataclasses
import numbers

import keras
import tensorflow as tf

GAN_TYPES = ("lsgan", "hinge")


def _f32(x):
    return keras.ops.cast(x, "float32")


def scale_for_distribution(loss):
    """loss / num_replicas_in_sync of the current strategy (identity without a strategy).

    Call it on a per-replica mean loss inside `strategy.run` before computing gradients; see the
    module docstring.
    """
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss if replicas == 1 else loss / float(replicas)


# --------------------------------------------------------------------------- reconstruction


def l1_loss(y_hat, y):
    """mean |y_hat - y| over all B*T*H*W*3 elements (the reference's `ReconLoss`, weight 1).

    With a composited y_hat (y_hat == y outside holes) this equals the hole L1 sum divided by the
    *full* frame area, not by the hole area. Returns a float32 scalar.
    """
    return keras.ops.mean(keras.ops.abs(_f32(y_hat) - _f32(y)))


def hole_l1_loss(y_hat, y, masks):
    """mean over all B*T*H*W*3 elements of |y_hat - y| * m (m = 1 in holes); float32 scalar.

    The reference's `ReconLoss(masked=True)` (`|out*(1-M) - tgt*(1-M)|`, M = 1 known), normalised by
    the full area. masks [B, T, H, W, 1] broadcast over the 3 channels.
    """
    return keras.ops.mean(keras.ops.abs(_f32(y_hat) - _f32(y)) * _f32(masks))


def valid_l1_loss(y_hat, y, masks):
    """mean over all B*T*H*W*3 elements of |y_hat - y| * (1 - m); float32 scalar.

    Zero for composited outputs; useful on the raw (un-composited) generator output.
    """
    return keras.ops.mean(keras.ops.abs(_f32(y_hat) - _f32(y)) * (1.0 - _f32(masks)))


# --------------------------------------------------------------------------- VGG-based


def _check_features(feats_hat, feats):
    feats_hat, feats = list(feats_hat), list(feats)
    if not feats_hat or len(feats_hat) != len(feats):
        raise ValueError(f"expected two equally long, non-empty feature lists, got "
                         f"{len(feats_hat)} and {len(feats)}")
    return feats_hat, feats


def perceptual_loss(feats_hat, feats):
    """sum over layers of mean |F_i(y_hat) - F_i(y)| (the reference's `VGGLoss`); float32 scalar.

    feats_hat, feats: sequences of feature maps (e.g. `VGGFeatures` outputs [B, T, h_i, w_i, C_i]).
    The reference computes the per-frame sum of layer means and averages over frames; every frame
    has the same number of elements, so that equals the plain mean over B and T per layer.
    """
    feats_hat, feats = _check_features(feats_hat, feats)
    return sum(keras.ops.mean(keras.ops.abs(_f32(a) - _f32(b))) for a, b in zip(feats_hat, feats))


def gram_matrices(features, fold_batch=True):
    """Gram matrices per frame, float32.

    features: [B, T, h, w, C] (or [B, h, w, C], one frame).
    fold_batch=True (reference): per frame, F is the features reshaped to [B*C, h*w] and
      G = F F^T / (B*C*h*w), shape [T, B*C, B*C] (cross-sample blocks included; for B = 1 this is
      the usual Gram). fold_batch=False: per sample and frame, G = F_b F_b^T / (C*h*w) with F_b
      [C, h*w], shape [B, T, C, C].
    """
    x = _f32(features)
    if len(x.shape) == 4:
        x = x[:, None]
    if len(x.shape) != 5:
        raise ValueError(f"features must be [B, T, h, w, C] or [B, h, w, C], got {x.shape}")
    shape = tf.shape(x)
    b, t, c = shape[0], shape[1], shape[4]
    hw = shape[2] * shape[3]
    x = tf.reshape(x, tf.stack([b, t, hw, c]))
    if fold_batch:
        x = tf.transpose(x, [1, 0, 3, 2])                   # [T, B, C, hw]
        x = tf.reshape(x, tf.stack([t, b * c, hw]))         # rows ordered (b, c) as torch's view
        norm = tf.cast(b * c * hw, tf.float32)
    else:
        x = tf.transpose(x, [0, 1, 3, 2])                   # [B, T, C, hw]
        norm = tf.cast(c * hw, tf.float32)
    return tf.matmul(x, x, transpose_b=True) / norm


def style_loss(feats_hat, feats, fold_batch=True):
    """sum_i mean |G_i(y_hat) - G_i(y)| / 2^(i+1), averaged over frames (the reference's
    `StyleLoss(original_channel_norm=True)`); float32 scalar.

    feats_hat, feats: sequences of feature maps [B, T, h_i, w_i, C_i] (relu2_2, relu3_3, relu4_3
    give divisors 2, 4, 8). See `gram_matrices` for `fold_batch`: True (default) is the reference's
    Gram over the batch folded into the channels ([B*C, B*C] per frame, memory O(T*B^2*C^2), and the
    diagonal blocks are the per-sample Grams divided by B); False is the usual per-sample Gram
    ([C, C], memory O(B*T*C^2)). Both agree for B = 1. Each frame contributes the same number of
    Gram entries, so the mean over all entries equals the reference's per-frame mean averaged over
    frames.
    """
    feats_hat, feats = _check_features(feats_hat, feats)
    total = 0.0
    for i, (a, b) in enumerate(zip(feats_hat, feats)):
        diff = gram_matrices(a, fold_batch) - gram_matrices(b, fold_batch)
        total += keras.ops.mean(keras.ops.abs(diff)) / float(2 ** (i + 1))
    return total


# --------------------------------------------------------------------------- adversarial


def _check_gan_type(gan_type):
    if gan_type not in GAN_TYPES:
        raise ValueError(f"unknown gan_type {gan_type!r}; choose one of {GAN_TYPES}")


def discriminator_loss(d_real, d_fake, gan_type="lsgan"):
    """Discriminator loss on D(y, m) (`d_real`) and D(y_hat.detach, m) (`d_fake`); float32 scalar.

    d_real, d_fake: discriminator outputs of any shape (TSMGAN: [B, T, h, w, 4*nf] sigmoid scores).
    "lsgan" (the reference's default): 0.5 * (mean((d_real - 1)^2) + mean(d_fake^2)).
    "hinge": 0.5 * (mean(relu(1 - d_real)) + mean(relu(1 + d_fake))). The reference trainer halves
      the real + fake sum for every GAN type (`loss_d = (real + fake) / 2`), so hinge is halved
      too; with Adam this factor hardly matters. Hinge is meant for unbounded scores: on the
      TSMGAN's sigmoid outputs in [0, 1] both relus are always active and it reduces to
      0.5 * (1 - mean(d_real) + 1 + mean(d_fake)).
    The caller stops gradients into the generator (pass the discriminator output on
    `tf.stop_gradient(y_hat)`).
    """
    _check_gan_type(gan_type)
    d_real, d_fake = _f32(d_real), _f32(d_fake)
    if gan_type == "lsgan":
        real = keras.ops.mean(keras.ops.square(d_real - 1.0))
        fake = keras.ops.mean(keras.ops.square(d_fake))
    else:
        real = keras.ops.mean(keras.ops.relu(1.0 - d_real))
        fake = keras.ops.mean(keras.ops.relu(1.0 + d_fake))
    return 0.5 * (real + fake)


def generator_adversarial_loss(d_fake, gan_type="lsgan"):
    """Generator's adversarial loss on D(y_hat, m); float32 scalar.

    "lsgan": mean((d_fake - 1)^2). "hinge": -mean(d_fake).
    """
    _check_gan_type(gan_type)
    d_fake = _f32(d_fake)
    if gan_type == "lsgan":
        return keras.ops.mean(keras.ops.square(d_fake - 1.0))
    return -keras.ops.mean(d_fake)


# --------------------------------------------------------------------------- generator total


@dataclasses.dataclass(frozen=True)
class LossWeights:
    """Weights of the generator loss terms. Defaults: the reference LGTSM stage 1.

    Stage 1 trains with L1 + perceptual + style (adversarial 0, no discriminator); stage 2
    fine-tunes from stage 1 with the TSMGAN discriminator at adversarial weight 1
    (`LossWeights.stage2()`), as in the authors' released run (`..._1_1_10_1`).
    hole_l1 and valid_l1 are off in the reference; they weight hole and valid pixels separately.
    gan_type: "lsgan" (the reference trainer's) or "hinge". style_fold_batch: see `style_loss`.
    """
    l1: float = 1.0
    hole_l1: float = 0.0
    valid_l1: float = 0.0
    perceptual: float = 1.0
    style: float = 10.0
    adversarial: float = 0.0
    gan_type: str = "lsgan"
    style_fold_batch: bool = True

    def __post_init__(self):
        for field in ("l1", "hole_l1", "valid_l1", "perceptual", "style", "adversarial"):
            value = getattr(self, field)
            if not isinstance(value, numbers.Real) or value < 0:
                raise ValueError(f"loss weight {field} must be a number >= 0, got {value!r}")
        _check_gan_type(self.gan_type)

    @classmethod
    def stage2(cls, **overrides):
        """The reference's GAN fine-tuning stage: stage-1 weights plus adversarial 1."""
        return cls(**{"adversarial": 1.0, **overrides})

    @property
    def needs_vgg(self):
        return self.perceptual > 0 or self.style > 0

    @property
    def needs_discriminator(self):
        return self.adversarial > 0


TERM_NAMES = ("l1", "hole_l1", "valid_l1", "perceptual", "style", "adversarial")


def generator_term_names(weights=None, include_adversarial=False):
    """Names of the terms `generator_loss_terms` returns besides "total", in TERM_NAMES order.

    A term is present when its weight is > 0; "adversarial" only with `include_adversarial`
    (i.e. when `d_fake` is passed), since a trainer may add the adversarial term itself.
    """
    weights = LossWeights() if weights is None else weights
    return tuple(name for name in TERM_NAMES
                 if getattr(weights, name) > 0
                 and (name != "adversarial" or include_adversarial))


def generator_loss_terms(y_hat, y, masks, vgg=None, weights=None, d_fake=None):
    """Weighted generator loss terms: dict name -> float32 scalar, plus "total" (their sum).

    y_hat: composited output [B, T, H, W, 3] in [0, 1]; y: target, same shape; masks
      [B, T, H, W, 1], 1 = hole.
    vgg: a callable frames -> (relu2_2, relu3_3, relu4_3), e.g. `VGGFeatures`; needed only when
      the perceptual or style weight is > 0 (otherwise it is never called and may be None, so
      training without VGG weights works). Target features are computed under `stop_gradient`.
    weights: `LossWeights` (default: the reference stage 1).
    d_fake: optional discriminator output on (y_hat, masks). When given and weights.adversarial
      > 0, the term "adversarial" = weights.adversarial * generator_adversarial_loss(d_fake,
      weights.gan_type) is included; without it the adversarial term is left to the caller
      (which then adds it to "total" itself).
    Keys: `generator_term_names(weights, include_adversarial=d_fake is not None)` + ("total",);
    terms with weight 0 are neither computed nor returned. Values are per-replica means; scale
    "total" with `scale_for_distribution` before taking gradients under tf.distribute.
    """
    weights = LossWeights() if weights is None else weights
    names = generator_term_names(weights, include_adversarial=d_fake is not None)
    terms = {}
    if "l1" in names:
        terms["l1"] = weights.l1 * l1_loss(y_hat, y)
    if "hole_l1" in names:
        terms["hole_l1"] = weights.hole_l1 * hole_l1_loss(y_hat, y, masks)
    if "valid_l1" in names:
        terms["valid_l1"] = weights.valid_l1 * valid_l1_loss(y_hat, y, masks)
    if weights.needs_vgg:
        if vgg is None:
            raise ValueError("perceptual/style weights are > 0 but no VGG feature extractor was "
                             "given (pass vgg=VGGFeatures(...), or set both weights to 0)")
        feats_hat = vgg(y_hat)
        feats = [tf.stop_gradient(f) for f in vgg(tf.stop_gradient(y))]
        if "perceptual" in names:
            terms["perceptual"] = weights.perceptual * perceptual_loss(feats_hat, feats)
        if "style" in names:
            terms["style"] = weights.style * style_loss(feats_hat, feats,
                                                        weights.style_fold_batch)
    if "adversarial" in names:
        terms["adversarial"] = weights.adversarial * generator_adversarial_loss(
            d_fake, weights.gan_type)
    terms["total"] = (tf.add_n([terms[name] for name in names]) if names
                      else tf.constant(0.0, tf.float32))
    return terms

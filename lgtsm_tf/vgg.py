"""Frozen VGG16 features (relu2_2, relu3_3, relu4_3) for the perceptual and style losses.

The reference (`model/vgg.py`) slices torchvision's ImageNet VGG16 `features` at [0:4), [4:9),
[9:16), [16:23) and uses the outputs of the last three slices: relu2_2, relu3_3 and relu4_3. In
`keras.applications.VGG16` those are the outputs of the layers `block2_conv2`, `block3_conv3` and
`block4_conv3` (each conv carries its ReLU). Layout and arithmetic are the same (3x3 "same"
convolutions, 2x2/2 max pooling), so torchvision weights converted into this layout reproduce the
reference exactly with `input_mode="raw"`.

Weights. `keras.applications` ships the Caffe-converted VGG16 weights (BGR, 0-255, mean-subtracted),
not torchvision's. `weights="imagenet"` reads keras.applications' cache file
`$KERAS_HOME/models/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5` (KERAS_HOME defaults to
`~/.keras`) and never downloads; otherwise pass a path (the training CLI's `--vgg_weights=PATH`).
"""

import os

import keras
import tensorflow as tf

WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
FEATURE_LAYERS = ("block2_conv2", "block3_conv3", "block4_conv3")  # relu2_2, relu3_3, relu4_3
FEATURE_NAMES = ("relu2_2", "relu3_3", "relu4_3")
FEATURE_CHANNELS = (128, 256, 512)
FEATURE_STRIDES = (2, 4, 8)
INPUT_MODES = ("reference", "caffe", "raw")

# torchvision's ImageNet normalisation (RGB, [0, 1] scale): what its VGG16 was trained on.
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)
# Caffe's VGG16 mean pixel (BGR, 0-255): what the keras.applications weights expect.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def keras_cache_weights_path():
    """Where `keras.applications.VGG16(weights="imagenet", include_top=False)` caches its file.

    Mirrors `keras.utils.get_file`: `$KERAS_HOME` if set, else `~/.keras`; if that directory is
    not writable Keras falls back to `/tmp/.keras`. Read at call time (not at import time).
    """
    base = os.environ.get("KERAS_HOME")
    if base is None:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    base = os.path.expanduser(base)
    if os.path.isdir(base) and not os.access(base, os.W_OK):
        base = os.path.join("/tmp", ".keras")
    return os.path.join(base, "models", WEIGHTS_FILE)


def resolve_vgg_weights(weights):
    """`"imagenet"` -> the keras.applications cache file, a path -> itself, `None` -> `None`.

    Never downloads. Raises FileNotFoundError naming the `--vgg_weights` flag and the expected
    cache path when the file does not exist.
    """
    if weights is None:
        return None
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"weights must be 'imagenet', a file path or None, got {weights!r}")
    if weights == "imagenet":
        path = keras_cache_weights_path()
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"VGG16 ImageNet weights not found at {path} (keras.applications' cache, "
                f"$KERAS_HOME/models or ~/.keras/models). Nothing is downloaded: copy "
                f"{WEIGHTS_FILE} there, or pass the file with --vgg_weights=PATH "
                f"(VGGFeatures(weights=PATH)). Training without VGG works with the perceptual "
                f"and style loss weights set to 0.")
        return path
    path = os.path.expanduser(os.fspath(weights))
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"VGG16 weights file {path!r} does not exist (given with --vgg_weights / "
            f"VGGFeatures(weights=...)). The default 'imagenet' reads "
            f"{keras_cache_weights_path()}.")
    return path


def vgg_preprocess(frames, input_mode="reference"):
    """Maps frames in [0, 1] (RGB, channels last, any leading shape) to what the network is fed.

    input_mode:
      "reference" (default): reproduces what the reference's network sees. The reference feeds
        [0, 1] RGB frames *without* ImageNet normalisation to torchvision's VGG16, which was trained
        on (image - mean) / std. So that network reads a frame x as the normalised version of the
        image x' = mean + std * x (per channel; a grey, ~4.4x lower-contrast copy of x). We present
        the same image x' to the Caffe-trained Keras weights the way they were trained:
        BGR(255 * x') - caffe_mean, which is about BGR(57.4 * x) minus < 0.5. First-layer inputs
        then sit at the same place relative to each network's training distribution, and the
        feature and Gram magnitudes, which the reference's loss weights (perceptual 1, style 10)
        were tuned against, stay in the same regime. The networks themselves differ (Caffe vs.
        torchvision training), so values are close in scale but not equal.
      "caffe": the standard input for these weights, `keras.applications.vgg16.preprocess_input`
        on 255 * x (BGR, mean-subtracted). Higher-contrast features (about 1/std = 4.4x the
        reference's input contrast): perceptual and especially style terms grow, which shifts the
        balance the default loss weights encode.
      "raw": x unchanged (RGB, [0, 1]): literally the reference's tensor. Exact with torchvision
        weights converted to this layout; meaningless with the Caffe weights.
    Returns the same shape, in the dtype of `frames`.
    """
    if input_mode not in INPUT_MODES:
        raise ValueError(f"unknown input_mode {input_mode!r}; choose one of {INPUT_MODES}")
    if input_mode == "raw":
        return frames
    dtype = frames.dtype
    bgr = frames[..., ::-1]
    if input_mode == "caffe":
        scale = (255.0, 255.0, 255.0)
        offset = tuple(-m for m in CAFFE_MEAN_BGR)
    else:
        std_bgr, mean_bgr = IMAGENET_STD_RGB[::-1], IMAGENET_MEAN_RGB[::-1]
        scale = tuple(255.0 * s for s in std_bgr)
        offset = tuple(255.0 * m - c for m, c in zip(mean_bgr, CAFFE_MEAN_BGR))
    return bgr * tf.constant(scale, dtype) + tf.constant(offset, dtype)


@keras.saving.register_keras_serializable(package="lgtsm_tf")
class VGGFeatures(keras.layers.Layer):
    """Frozen VGG16 features: frames [B, T, H, W, 3] in [0, 1] -> (relu2_2, relu3_3, relu4_3).

    Outputs (a tuple of 3 tensors, in the layer's compute dtype; the losses cast to float32):
      relu2_2 [B, T, H/2, W/2, 128], relu3_3 [B, T, H/4, W/4, 256], relu4_3 [B, T, H/8, W/8, 512]
    (floor division, as max pooling floors). Rank-4 input [N, H, W, 3] gives rank-4 outputs. B and
    T are folded into the batch for the convolutions. H and W must be at least 8.

    weights: "imagenet" (keras.applications' cached Caffe weights; never downloaded, see
      `resolve_vgg_weights`), a path to a weights file loadable by `keras.Model.load_weights` for
      `keras.applications.VGG16(include_top=False)` (legacy `.h5` or `.weights.h5`), or `None` for
      random weights (tests only; must be asked for explicitly).
    input_mode: "reference" (default), "caffe" or "raw"; see `vgg_preprocess`.

    The layer is not trainable and its weights never enter a trainable-variable list. It follows
    the global dtype policy in force when it is built (mixed precision runs the convolutions in
    float16/bfloat16). The weights file is read at construction, so a missing file fails early.
    """

    def __init__(self, weights="imagenet", input_mode="reference", **kwargs):
        if input_mode not in INPUT_MODES:
            raise ValueError(f"unknown input_mode {input_mode!r}; choose one of {INPUT_MODES}")
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        self.weights_source = None if weights is None else os.fspath(weights)
        self.input_mode = input_mode
        path = resolve_vgg_weights(weights)
        full = keras.applications.VGG16(include_top=False, weights=path,
                                         input_shape=(None, None, 3))
        self.network = keras.Model(
            full.input, [full.get_layer(name).output for name in FEATURE_LAYERS],
            name="vgg16_relu4_3")
        self.network.trainable = False

    def call(self, frames):
        x = keras.ops.convert_to_tensor(frames, self.compute_dtype)
        rank = len(x.shape)
        if rank not in (4, 5) or x.shape[-1] not in (3, None):
            raise ValueError(f"VGGFeatures expects frames [B, T, H, W, 3] or [N, H, W, 3], "
                             f"got shape {x.shape}")
        x = tf.ensure_shape(x, [None] * (rank - 1) + [3])  # unknown channels: checked at run time
        if rank == 5:
            shape = tf.shape(x)
            x = tf.reshape(x, tf.concat([[-1], shape[2:]], axis=0))
        features = self.network(vgg_preprocess(x, self.input_mode), training=False)
        if rank == 5:
            features = [tf.reshape(f, tf.concat([shape[:2], tf.shape(f)[1:]], axis=0))
                        for f in features]
        return tuple(features)

    def compute_output_shape(self, input_shape):
        lead, (h, w) = tuple(input_shape[:-3]), input_shape[-3:-1]
        return tuple(lead + (None if h is None else h // s, None if w is None else w // s, c)
                     for s, c in zip(FEATURE_STRIDES, FEATURE_CHANNELS))

    def get_config(self):
        config = super().get_config()
        config.update(weights=self.weights_source, input_mode=self.input_mode)
        config.pop("trainable", None)
        return config

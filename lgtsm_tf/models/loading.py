"""Loading models: `load` (every kind of model path, the one loader of the package) and
`as_network` (a loaded Keras model as the network class it is).

A loaded generator maps ``{"frames": float [B, T, H, W, 3] in [0, 1], "masks": float
[B, T, H, W, 1] (1 = hole)}`` to float ``[B, T, H, W, 3]`` in [0, 1].
"""

import json
import os
from typing import Optional

from absl import logging

import lgtsm_tf.layers  # noqa: F401  (registers the layers for deserialisation)
from lgtsm_tf.layers import GatedConv3D, VideoConv3D
from lgtsm_tf.models.discriminator import TemporalDiscriminator
from lgtsm_tf.models.finite import check_finite_weights
from lgtsm_tf.models.generator import InpaintingGenerator, build_generator
from lgtsm_tf.models.network import same_weight_layout

#: Reference-checkpoint suffixes read through `lgtsm_tf.convert.load_reference_generator`.
REFERENCE_SUFFIXES = (".npz", ".pth", ".pt", ".tar", ".ckpt")


_SHIFT_VARIANTS = {"learnable": "lgtsm", "fixed": "gtsm", "none": "2d"}


def _arguments(model, conv1, is_3d):
    """The constructor arguments that rebuild `model` (a plain functional network)."""
    config = conv1.get_config()
    variant = "3d" if is_3d else _SHIFT_VARIANTS[config["temporal_shift"]]
    nf = conv1.feature.filters if hasattr(conv1, "feature") else conv1.filters
    arguments = {"variant": variant, "nf": int(nf), "name": model.name,
                 "dtype": conv1.dtype_policy.name}
    if not is_3d:
        arguments.update({k: config[k] for k in ("shift_ratio", "shift_groups", "shift_width",
                                                  "per_channel_shift")})
    arguments["spectral_norm"] = bool(config.get("spectral_norm", False))
    return arguments


def as_network(model):
    """`model` as an `InpaintingGenerator` or `TemporalDiscriminator`.

    Models of those classes are returned as they are. A plain functional `keras.Model` with
    the generator's or discriminator's layers (a `.keras` file saved before the networks were
    classes) is rebuilt as its class from what its layers say (variant, nf, shift settings,
    spectral norm, dtype policy) and gets its weights; ValueError if the rebuilt network's
    weights do not line up with the model's (not one of ours). Anything else (e.g. a loaded
    SavedModel) is returned unchanged.
    """
    if isinstance(model, (InpaintingGenerator, TemporalDiscriminator)):
        return model
    try:
        conv1 = model.get_layer("conv1")
    except (AttributeError, ValueError):
        return model
    names = {layer.name for layer in model.layers}
    if "composite" in names:
        cls = InpaintingGenerator
        is_3d = isinstance(conv1, GatedConv3D)
    elif "sigmoid" in names:
        cls = TemporalDiscriminator
        is_3d = isinstance(conv1, VideoConv3D)
    else:
        return model
    network = cls(**_arguments(model, conv1, is_3d))
    if not same_weight_layout(model, network):
        raise ValueError(f"model {model.name!r}: its weights do not match a rebuilt "
                         f"{cls.__name__}({network.variant!r}, nf={network.nf})")
    network.set_weights(model.get_weights())
    return network


class _SavedModelFunction:
    """A loaded SavedModel called like a Keras model: fn({"frames", "masks"}) -> frames."""

    def __init__(self, loaded, path: str):
        self.path = path
        self._loaded = loaded
        #: True if the graph propagates known pixels itself (exported with propagation).
        self.propagates = bool(_export_metadata(path).get("propagation"))
        if hasattr(loaded, "serve"):  # keras.Model.export()
            self._fn = lambda inputs: loaded.serve(inputs)
        elif "serving_default" in getattr(loaded, "signatures", {}):  # tf.saved_model.save()
            signature = loaded.signatures["serving_default"]
            names = self._signature_names(signature, path)

            def call(inputs):
                out = signature(**{names[k]: inputs[k] for k in ("frames", "masks")})
                if len(out) != 1:
                    raise ValueError(f"{path}: serving_default returns {sorted(out)}; expected "
                                     "one output (the inpainted frames)")
                return next(iter(out.values()))
            self._fn = call
        else:
            raise ValueError(f"{path}: SavedModel has neither a `serve` endpoint "
                             "(keras Model.export) nor a `serving_default` signature")

    @staticmethod
    def _signature_names(signature, path):
        """{"frames": arg name, "masks": arg name}: by name, else by channels (3 vs 1)."""
        specs = signature.structured_input_signature[1]
        if {"frames", "masks"} <= set(specs):
            return {"frames": "frames", "masks": "masks"}
        by_channels = {spec.shape[-1]: name for name, spec in specs.items()
                       if spec.shape.rank == 5}
        if len(specs) == 2 and set(by_channels) == {3, 1}:
            return {"frames": by_channels[3], "masks": by_channels[1]}
        raise ValueError(f"{path}: serving_default inputs {sorted(specs)} do not match the "
                         "generator's (frames [B, T, H, W, 3], masks [B, T, H, W, 1])")

    def __call__(self, inputs, training=False):
        del training
        return self._fn(inputs)


def _export_metadata(path: str) -> dict:
    """The `lgtsm_tf.export` metadata of a SavedModel directory, {} if it has none."""
    from lgtsm_tf.export.savedmodel import METADATA_PATH

    try:
        with open(os.path.join(path, METADATA_PATH)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _find_keras_file(folder: str) -> Optional[str]:
    names = sorted(n for n in os.listdir(folder) if n.endswith(".keras")
                   and not n.startswith(".") and ".partial" not in n)
    if "generator.keras" in names:
        return os.path.join(folder, "generator.keras")
    if len(names) == 1:
        return os.path.join(folder, names[0])
    if len(names) > 1:
        raise ValueError(f"{folder}: several .keras files ({', '.join(names)}) and no "
                         "generator.keras; pass the file to use")
    return None


#: The run settings trainers/train.py writes into a training directory.
SETTINGS_FILE = "settings.json"


def _run_settings(folder: str) -> Optional[dict]:
    """{"variant", "nf"} of the run in `folder` (its SETTINGS_FILE), None without one;
    ValueError if it cannot be read or lacks them."""
    path = os.path.join(folder, SETTINGS_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            settings = json.load(f)
        return {"variant": str(settings["variant"]), "nf": int(settings["nf"])}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: cannot read the run's variant and nf: "
                         f"{type(e).__name__}: {e}") from None


def model_path(spec) -> str:
    """The file or directory a model argument names: `preset:NAME` -> the preset's verified
    weights file (`lgtsm_tf.presets.preset_file`: ValueError for an unknown name, listing the
    presets, or a damaged file); anything else is a path, returned as a string."""
    from lgtsm_tf import presets

    name = presets.preset_name(spec)
    return presets.preset_file(name) if name is not None else os.fspath(spec)


def model_flag_path(spec, flag: str = "--model") -> str:
    """`model_path(spec)` for a command-line flag, checked to exist: ValueError
    (`--model=preset:x: unknown preset ...`) or FileNotFoundError (`<path>: no such file or
    directory (--model)`), both naming the flag."""
    try:
        path = model_path(spec)
    except ValueError as e:
        raise ValueError(f"{flag}={spec}: {e}") from None
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or directory ({flag})")
    return path


def load(path, variant: str = "lgtsm"):
    """The one model loader of the package (every CLI uses it): an inpainting generator from

    * ``preset:NAME``: a shipped preset (checksum verified);
    * a ``.keras`` file;
    * a training directory: its ``generator.keras`` (or its only ``.keras`` file), else a fresh
      network of the run's ``settings.json`` (variant, nf), with the weights of its newest TF
      checkpoint (in it or in ``checkpoints/``) when it has one: a run that is still going
      loads;
    * a SavedModel directory (`lgtsm_tf.export`, or ``keras.Model.export``): a callable with
      the same dict -> frames contract, at the precision it was exported with;
    * a reference checkpoint (.npz/.pth/.pt/.tar/.ckpt) of ``variant``.

    Keras generators come back as `InpaintingGenerator` (`as_network`: files saved before it
    existed are rebuilt), so ``model.variant`` and ``model.nf`` are there. ValueError (saying
    what the path holds) when it is none of these or a Keras model's weights are not all finite
    (a diverged run); FileNotFoundError when it does not exist.
    """
    return as_network(check_finite_weights(_load(path, variant), os.fspath(path)))


def _load_keras(path: str):
    """A `.keras` file's model; ValueError naming the file if Keras cannot load it."""
    import keras

    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:
        raise ValueError(f"{path}: cannot load Keras model: {type(e).__name__}: {e}") from e


def _load(path, variant: str = "lgtsm"):
    """Loads an inpainting generator from `path` (see `VideoInpainter.from_path` for the rules).

    Returns a `keras.Model`, or for a SavedModel a callable with the same dict -> frames
    contract.
    """
    import tensorflow as tf

    path = model_path(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such model file or directory")
    if os.path.isfile(path):
        lower = path.lower()
        if lower.endswith(".keras"):
            return _load_keras(path)
        if lower.endswith(REFERENCE_SUFFIXES):
            from lgtsm_tf.convert import load_reference_generator
            return load_reference_generator(path, variant=variant)
        raise ValueError(f"{path}: unknown model file type; expected .keras, a SavedModel "
                         f"directory, a training directory or a reference checkpoint "
                         f"({', '.join(REFERENCE_SUFFIXES)})")
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        try:
            loaded = tf.saved_model.load(path)
        except Exception as e:
            raise ValueError(f"{path}: cannot load SavedModel: {type(e).__name__}: {e}") from e
        return _SavedModelFunction(loaded, path)
    keras_file = _find_keras_file(path)
    latest = tf.train.latest_checkpoint(path)
    if latest is None and os.path.isdir(os.path.join(path, "checkpoints")):
        latest = tf.train.latest_checkpoint(os.path.join(path, "checkpoints"))
    settings = _run_settings(path) if keras_file is None and latest else None
    if keras_file is None and settings is None:
        what = "TF checkpoint files but no .keras file or settings.json to rebuild the " \
               "architecture from" if latest else "no saved_model.pb, .keras file or TF checkpoint"
        raise ValueError(f"{path}: not a model directory: it has {what} (a training directory "
                         "holds generator.keras or settings.json, optionally with TF checkpoints "
                         "in it or in checkpoints/)")
    if keras_file is None:
        source = os.path.join(path, SETTINGS_FILE)  # what the architecture comes from
        model = build_generator(settings["variant"], nf=settings["nf"])
    else:
        source, model = keras_file, _load_keras(keras_file)
    if latest:
        status = tf.train.Checkpoint(generator=model).restore(latest).expect_partial()
        try:
            status.assert_existing_objects_matched()
        except AssertionError as e:
            raise ValueError(f"{latest}: checkpoint does not hold the weights of {source} "
                             f"under `generator` (tf.train.Checkpoint(generator=...)): {e}") from e
        logging.info("Loaded %s with weights from %s", source, latest)
    return model

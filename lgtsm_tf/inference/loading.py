"""Loading an inpainting generator: ``.keras`` files, run folders, TF checkpoints,
SavedModels, reference checkpoints and presets, at a chosen precision (``fp32`` / ``bf16``).

The loaded model maps ``{"frames": float [B, T, H, W, 3] in [0, 1], "masks": float
[B, T, H, W, 1] (1 = hole)}`` to float ``[B, T, H, W, 3]`` in [0, 1].
"""

from __future__ import annotations

import os
from typing import Optional

from absl import logging

from lgtsm_tf.inference.windows import DEFAULT_OVERLAP, DEFAULT_WINDOW

#: Written by trainers/train.py beside generator.keras: {"window": clip length, "overlap": ...}.
WINDOWING_FILE = "inference.json"


#: `precision` values and the Keras dtype policy each runs the model under.
PRECISIONS = {"fp32": "float32", "bf16": "mixed_bfloat16"}


#: Reference-checkpoint suffixes read through `lgtsm_tf.convert.load_reference_generator`.
REFERENCE_SUFFIXES = (".npz", ".pth", ".pt", ".tar", ".ckpt")


def _set_policy(config, policy: str):
    """Copy of a model config with every layer's DTypePolicy set to `policy` (not Composite's,
    which keeps its float32 output, nor the inputs')."""
    if isinstance(config, dict):
        if config.get("class_name") in ("Composite", "InputLayer"):
            return config
        out = {}
        for key, value in config.items():
            if key == "dtype" and isinstance(value, dict) and value.get("class_name") in (
                    "DTypePolicy", "FloatDTypePolicy"):
                value = {**value, "config": {**value.get("config", {}), "name": policy}}
            else:
                value = _set_policy(value, policy)
            out[key] = value
        return out
    if isinstance(config, list):
        return [_set_policy(v, policy) for v in config]
    return config


def _choose_precision(model, precision: str):
    """(precision, why) for `VideoInpainter`: "auto" resolved for `model`."""
    import keras

    if precision != "auto":
        return precision, "asked for"
    if not isinstance(model, keras.Model):
        return "fp32", "a SavedModel runs at the precision it was exported with"
    from lgtsm_tf.cpu_features import auto_precision

    return auto_precision()


def _with_precision(model, precision: str):
    """The Keras `model` rebuilt under the dtype policy of `precision` (same weights)."""
    import keras

    policy = PRECISIONS[precision]
    layers = [layer for layer in model.layers if type(layer).__name__ not in
              ("Composite", "InputLayer")]
    if all(layer.dtype_policy.name == policy for layer in layers):
        return model
    try:
        clone = model.__class__.from_config(_set_policy(model.get_config(), policy))
        clone.set_weights(model.get_weights())
    except Exception as e:
        raise ValueError(f"cannot run model {model.name!r} at precision {precision!r}: rebuilding "
                         f"it under the {policy} policy failed: {type(e).__name__}: {e}") from e
    return clone


class _SavedModelFunction:
    """A loaded SavedModel called like a Keras model: fn({"frames", "masks"}) -> frames."""

    def __init__(self, loaded, path: str):
        self.path = path
        self._loaded = loaded
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


def windowing(spec, window: Optional[int] = None, overlap: Optional[int] = None):
    """(window, overlap) to run the model `spec` with: the given values, else the model's own,
    else DEFAULT_WINDOW/OVERLAP. The model's own: a preset's (`Preset.window`/`overlap`), or for
    a training directory (or the `generator.keras` in it) the `WINDOWING_FILE` that
    trainers/train.py writes there: its training clip length (a model trained on 6-frame clips
    loses ~1 dB hole PSNR when run in 16-frame windows)."""
    from lgtsm_tf import presets

    own = None
    if isinstance(spec, (str, os.PathLike)):
        spec = os.fspath(spec)
        name = presets.preset_name(spec)
        if name is not None:
            preset = presets.get(name)
            own = (preset.window, preset.overlap)
        else:
            folder = spec if os.path.isdir(spec) else (
                os.path.dirname(spec) if os.path.basename(spec) == "generator.keras" else None)
            own = _read_windowing(os.path.join(folder, WINDOWING_FILE)) if folder else None
    own = own or (DEFAULT_WINDOW, DEFAULT_OVERLAP)
    window = own[0] if window is None else window
    return window, (min(own[1], window - 1) if overlap is None else overlap)


def _read_windowing(path):
    """(window, overlap) from a `WINDOWING_FILE`, None if there is none; ValueError if it is
    not {"window": int >= 1, "overlap": int >= 0}."""
    import json

    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            values = json.load(f)
        window, overlap = values["window"], values["overlap"]
        if not (isinstance(window, int) and isinstance(overlap, int) and window >= 1
                and 0 <= overlap):
            raise ValueError("window must be an integer >= 1 and overlap an integer >= 0")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a windowing file ({{\"window\": N, \"overlap\": M}}): "
                         f"{type(e).__name__}: {e}") from None
    return window, overlap


def load_model(path, variant: str = "lgtsm"):
    """`_load_model`, refusing (ValueError) a Keras model whose weights are not all finite."""
    from lgtsm_tf.models import check_finite_weights

    return check_finite_weights(_load_model(path, variant), os.fspath(path))


def _load_model(path, variant: str = "lgtsm"):
    """Loads an inpainting generator from `path` (see `VideoInpainter.from_path` for the rules).

    Returns a `keras.Model`, or for a SavedModel a callable with the same dict -> frames
    contract.
    """
    import keras
    import tensorflow as tf

    import lgtsm_tf  # noqa: F401  (registers the layers for deserialisation)

    path = model_path(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such model file or directory")
    if os.path.isfile(path):
        lower = path.lower()
        if lower.endswith(".keras"):
            try:
                return keras.saving.load_model(path, compile=False)
            except Exception as e:
                raise ValueError(f"{path}: cannot load Keras model: {type(e).__name__}: {e}") from e
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
    if keras_file is None:
        what = "TF checkpoint files but no .keras file to rebuild the architecture from" if latest \
            else "no saved_model.pb, .keras file or TF checkpoint"
        raise ValueError(f"{path}: not a model directory: it has {what} (a training directory "
                         "holds generator.keras, optionally with TF checkpoints in it or in "
                         "checkpoints/)")
    try:
        model = keras.saving.load_model(keras_file, compile=False)
    except Exception as e:
        raise ValueError(f"{keras_file}: cannot load Keras model: {type(e).__name__}: {e}") from e
    if latest:
        status = tf.train.Checkpoint(generator=model).restore(latest).expect_partial()
        try:
            status.assert_existing_objects_matched()
        except AssertionError as e:
            raise ValueError(f"{latest}: checkpoint does not hold the weights of {keras_file} "
                             f"under `generator` (tf.train.Checkpoint(generator=...)): {e}") from e
        logging.info("Loaded %s with weights from %s", keras_file, latest)
    return model

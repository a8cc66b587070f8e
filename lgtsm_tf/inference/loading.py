"""How to run a loaded generator: its precision (``fp32`` / ``bf16``, ``auto`` per CPU) and
its inference windows. Loading itself is `lgtsm_tf.models.load` (``load_model`` here).

The loaded model maps ``{"frames": float [B, T, H, W, 3] in [0, 1], "masks": float
[B, T, H, W, 1] (1 = hole)}`` to float ``[B, T, H, W, 3]`` in [0, 1].
"""

from __future__ import annotations

import os
from typing import Optional

# The loader lives with the models; these names stay importable from here.
from lgtsm_tf.models.loading import (  # noqa: F401
    REFERENCE_SUFFIXES, load as load_model, model_flag_path, model_path)
from lgtsm_tf.inference.windows import DEFAULT_OVERLAP, DEFAULT_WINDOW

#: Written by trainers/train.py beside generator.keras: {"window": clip length, "overlap": ...}.
WINDOWING_FILE = "inference.json"


#: `precision` values and the Keras dtype policy each runs the model under.
PRECISIONS = {"fp32": "float32", "bf16": "mixed_bfloat16"}


def with_precision(model, precision: str):
    """The Keras generator `model` under the dtype policy of `precision` ("fp32" / "bf16"), with
    the same weights: `model` itself when it already runs so.

    Our networks (`lgtsm_tf.models.as_network`) rebuild from their config
    (`InpaintingGenerator.with_precision`); any other functional model with the generator's
    contract is rebuilt from its layer configs with every layer's policy set (not a float32
    `Composite`'s, nor the inputs').
    """
    from lgtsm_tf.models import as_network

    policy = PRECISIONS[precision]
    network = as_network(model)
    try:
        if hasattr(network, "with_precision"):
            return network.with_precision(policy)
        layers = [layer for layer in model.layers if type(layer).__name__ not in
                  ("Composite", "InputLayer")]
        if all(layer.dtype_policy.name == policy for layer in layers):
            return model
        clone = model.__class__.from_config(_set_policy(model.get_config(), policy))
        clone.set_weights(model.get_weights())
        return clone
    except Exception as e:
        raise ValueError(f"cannot run model {model.name!r} at precision {precision!r}: rebuilding "
                         f"it under the {policy} policy failed: {type(e).__name__}: {e}") from e


def _set_policy(config, policy: str):
    """Copy of a functional model's config with every layer's DTypePolicy set to `policy` (not
    Composite's, which keeps its float32 output, nor the inputs')."""
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



"""The serving SavedModel: signatures, padding inside the graph, float32 copies, export.

`export_saved_model(model, base_dir, version)` writes `base_dir/<version>/`, a SavedModel TF
Serving loads as version `<version>` of a model whose base path is `base_dir`. Its signatures:

``serving_default`` (uint8, the serving edge)
    inputs  frames uint8 [B, T, H, W, 3] (RGB 0..255), masks uint8 [B, T, H, W, 1]
            (nonzero = hole)
    output  inpainted uint8 [B, T, H, W, 3]: the model's output rounded (half to even) and
            clipped to 0..255 inside the hole; pixels outside the hole are the input's, bit
            for bit.
``serving_float``
    inputs  frames float32 [B, T, H, W, 3] in [0, 1], masks float32 [B, T, H, W, 1]
            (hole where > 0.5, the rule of `lgtsm_tf.contract`; binary masks pass unchanged)
    output  inpainted float32 [B, T, H, W, 3]: the generator's composited output as the Keras
            model returns it (not clipped).

B, T, H and W are dynamic and any H, W >= 1 works: frames and masks are padded at the bottom
and right to multiples of 4 by reflection inside the graph (exactly
`lgtsm_tf.contract.pad_to_multiple`: mirror without repeating the edge pixel, edge
replication for sides shorter than the padding) and the output is cropped back. The padding
is a gather with indices computed from the runtime shape, so the graph stays shape-agnostic
for ONNX and TensorRT.

Bad requests fail with `tf.errors.InvalidArgumentError` and a message saying what is wrong,
checked inside the graph on the runtime tensors (`checked_inputs`), since a model server
feeds requests straight into the graph: wrong rank or channel count, frames and masks with
different B/T/H/W, an empty axis, float frames outside [0, 1] (e.g. 0..255 sent to
`serving_float`), masks outside [0, 1], NaN. A wrong dtype is refused by the runtime before
the graph runs ("expected to be a uint8 tensor but is a float tensor").

The module also has a `serve` function, {"frames", "masks"} float32 -> float32 frames (the
`serving_float` path without the output dict), so `lgtsm_tf.inference.load_model` and
`VideoInpainter.from_path` run an exported directory like a Keras model.

A model built or trained under a mixed-precision policy (`mixed_bfloat16`,
`mixed_float16`) is exported as a float32 copy (same architecture rebuilt under the float32
policy, same weights): bfloat16 graphs do not run in onnxruntime and many serving stacks, and
the variables of a mixed-precision model are float32 anyway.
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from lgtsm_tf import contract
# The contract's names, as this module's (the signatures are built from them).
from lgtsm_tf.contract import FRAMES, MASKS, OUTPUT, SIGNATURES, SIZE_MULTIPLE  # noqa: F401
from lgtsm_tf.contract import input_specs  # noqa: F401
from lgtsm_tf.contract import pad_to_multiple_tf as pad_to_multiple
from lgtsm_tf.contract import to_uint8_tf as to_uint8

#: Frames searched on each side by the exported graph's temporal propagation: a whole
#: 16-frame request (the default inference window).
EXPORT_REACH = 15

#: Metadata file written next to the SavedModel (TF Serving ignores assets.extra/ except for
#: warm-up requests).
METADATA_PATH = os.path.join("assets.extra", "lgtsm_export.json")


# ----------------------------------------------------------------------------- graph pieces

def _shape5(x):
    """(runtime shape of `x` as int64, rank, the shape padded/cut to 5 entries, size).

    Raw Shape/Size ops on the runtime tensor, not the static shape: a server feeds request
    tensors straight into the signature's placeholders whatever their declared shape, so
    checks that Python or Grappler could fold from the placeholder's [-1, -1, -1, -1, C]
    would never fire (measured: a rank computed as Size(Shape(x)) is folded to 5).
    """
    import tensorflow as tf

    shape = tf.raw_ops.Shape(input=x, out_type=tf.int64)
    # Not Size(shape) or Rank(x): Grappler folds those to the placeholder's rank 5. Entries
    # of a shape are >= 0, so the mask keeps all of them, but its length is only known at
    # runtime.
    rank = tf.raw_ops.Size(input=tf.boolean_mask(shape, shape >= 0), out_type=tf.int64)
    size = tf.raw_ops.Size(input=x, out_type=tf.int64)
    five = tf.concat([shape, tf.fill([5], tf.constant(-1, tf.int64))], 0)[:5]
    return shape, rank, five, size


def checked_inputs(frames, masks, float_inputs: bool):
    """(frames, masks) that can only be used after the request checks passed.

    frames must be [B, T, H, W, 3] and masks [B, T, H, W, 1] (rank and channels checked at
    runtime), with the same B, T, H, W, all >= 1; float inputs must be in [0, 1] (no NaN).
    One `tf.debugging.Assert` reports the FIRST failed condition in that order, with both
    shapes (and value ranges), so the message does not depend on op scheduling; everything
    downstream depends on it through the returned identities.
    """
    import tensorflow as tf

    dtype = "float32" if float_inputs else "uint8"
    f_shape, f_rank, f5, f_size = _shape5(frames)
    m_shape, m_rank, m5, m_size = _shape5(masks)
    conditions = [
        (tf.logical_and(tf.equal(f_rank, 5), tf.equal(f_size, tf.reduce_prod(f5[:4]) * 3)),
         f"frames must be {dtype} [B, T, H, W, 3]"),
        (tf.logical_and(tf.equal(m_rank, 5), tf.equal(m_size, tf.reduce_prod(m5[:4]))),
         f"masks must be {dtype} [B, T, H, W, 1]"),
        (tf.reduce_all(tf.equal(f5[:4], m5[:4])),
         "frames and masks must have the same [B, T, H, W]"),
        (tf.reduce_all(f5[:4] > 0), "B, T, H and W must all be >= 1"),
    ]
    data = ["frames shape", f_shape, "masks shape", m_shape]
    if float_inputs:
        for x, name in ((frames, FRAMES), (masks, MASKS)):
            low, high = tf.reduce_min(x), tf.reduce_max(x)
            conditions.append((tf.logical_and(low >= 0.0, high <= 1.0),
                               f"float {name} must be in [0, 1] (no NaN; send uint8 0..255 "
                               "to serving_default)"))
            data += [f"{name} min, max", low, high]
    ok = tf.stack([c for c, _ in conditions])
    first_failed = tf.argmin(tf.cast(ok, tf.int32))
    message = tf.gather(tf.constant([m for _, m in conditions]), first_failed)
    check = tf.debugging.Assert(tf.reduce_all(ok), [message] + data, summarize=8)
    with tf.control_dependencies([check]):
        return tf.identity(frames), tf.identity(masks)


def _run(model, frames, masks, propagation=None):
    """float32 frames [0, 1], float32 binary masks -> float32 composited output, any H, W.

    With a `TemporalPropagation` layer, hole pixels are first copied from neighbouring frames
    of the request (before padding) and the model fills the rest."""
    import tensorflow as tf

    shape = tf.shape(frames)
    if propagation is not None:
        frames, masks = propagation([frames, masks])
    out = model({FRAMES: pad_to_multiple(frames), MASKS: pad_to_multiple(masks)},
                training=False)
    return tf.cast(out, tf.float32)[:, :, :shape[2], :shape[3], :]


def make_serving_module(model, propagation=None):
    """A `tf.Module` with the `serving_float`, `serving_default` and `serve` functions of the
    module docstring around `model` (not yet saved); `propagation`: an optional
    `lgtsm_tf.layers.TemporalPropagation` run in the graph before the model.

    Like `keras.export.ExportArchive`, the module tracks only the model's variables (the
    functions close over the model): saving and loading are ~3x faster than with the Keras
    object graph, and the SavedModel holds no Keras layer objects.
    """
    import tensorflow as tf

    def serving_float(frames, masks):
        frames, masks = checked_inputs(frames, masks, float_inputs=True)
        return {OUTPUT: _run(model, frames, contract.holes_tf(masks), propagation)}

    def serving_default(frames, masks):
        frames, masks = checked_inputs(frames, masks, float_inputs=False)
        hole = contract.holes_tf(masks)
        out = to_uint8(_run(model, contract.to_float_tf(frames), hole, propagation))
        return {OUTPUT: tf.where(hole > 0, out, frames)}

    def serve(inputs):  # calls the traced serving_float (no second trace of the model)
        return module.serving_float(inputs[FRAMES], inputs[MASKS])[OUTPUT]

    module = tf.Module(name="lgtsm_serving")
    module.model_variables = list(model.variables)
    module.serving_float = tf.function(
        serving_float, input_signature=list(input_specs(tf.float32).values()))
    module.serving_default = tf.function(
        serving_default, input_signature=list(input_specs(tf.uint8).values()))
    module.serve = tf.function(serve, input_signature=[input_specs(tf.float32)])
    return module


# ----------------------------------------------------------------------------- float32 copies

def _all_layers(model):
    return list(model._flatten_layers(include_self=False, recursive=True))


def float32_copy(model):
    """`model` if it computes in float32 everywhere, else a float32 copy (same weights).

    The copy is the model's config with every layer's dtype policy set to float32 (Keras
    `from_config`), given the original's weights. Raises ValueError if the copy still holds
    non-float32 variables or layers (a model this code cannot rebuild).
    """
    import keras

    from lgtsm_tf.inference.loading import with_precision

    if not isinstance(model, keras.Model):
        raise ValueError(f"expected a keras.Model, got {type(model).__name__} (a SavedModel "
                         "cannot be re-exported; export from the .keras file, training "
                         "directory or checkpoint)")
    if all(layer.compute_dtype == "float32" for layer in _all_layers(model)):
        copy = model
    else:
        # The network rebuilt under float32 (from its config) with the same weights.
        copy = with_precision(model, "fp32")
    bad = sorted({f"{layer.name}: {layer.dtype_policy.name}" for layer in _all_layers(copy)
                  if layer.compute_dtype != "float32"})
    bad += sorted(f"{v.path}: {v.dtype}" for v in copy.weights if v.dtype != "float32")
    if bad:
        raise ValueError("could not make a float32 copy of the model; still not float32: "
                         + ", ".join(bad[:10]))
    return copy


def model_policies(model) -> list:
    """Sorted distinct dtype policy names of the model's layers."""
    return sorted({layer.dtype_policy.name for layer in _all_layers(model)})


# ----------------------------------------------------------------------------- export

def version_dir(base_dir: str, version) -> str:
    """`base_dir/<version>` for a positive integer version (int or digit string)."""
    text = str(version)
    if isinstance(version, bool) or not text.isdigit() or int(text) < 1:
        raise ValueError(f"version must be a positive integer (TF Serving loads numeric "
                         f"version directories), got {version!r}")
    return os.path.join(os.fspath(base_dir), str(int(text)))


def random_request(shape: Sequence[int], seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """A deterministic test request: (frames uint8 [B, T, H, W, 3], masks uint8 [B, T, H, W, 1]
    with 0/255, rectangular holes plus ~10 % scattered hole pixels)."""
    b, t, h, w = (int(s) for s in shape)
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (b, t, h, w, 3), dtype=np.uint8)
    masks = (rng.random((b, t, h, w, 1)) < 0.1)
    masks[:, :, h // 4: max(h // 4 + 1, 3 * h // 4), w // 3: max(w // 3 + 1, 2 * w // 3)] = True
    return frames, masks.astype(np.uint8) * 255


def reference_outputs(model, frames_u8: np.ndarray, masks_u8: np.ndarray,
                      propagation=None) -> Dict[str, np.ndarray]:
    """What the signatures must return, computed with the Keras model itself.

    The Keras model runs through `model.predict` (graph mode, as Keras serves) on the input
    (first through `propagation`, eagerly, if given) padded in numpy by
    `lgtsm_tf.contract.pad_to_multiple`, then cropped. Returns
    {"serving_float": float32 [B,T,H,W,3], "serving_default": uint8 [B,T,H,W,3]}.
    """
    b, t, h, w, _ = frames_u8.shape
    frames = contract.to_float(frames_u8)
    hole = contract.holes(masks_u8)
    masks = hole.astype(np.float32)
    if propagation is not None:
        frames, masks = (np.asarray(x) for x in propagation([frames, masks]))

    def pad(x):
        flat = x.reshape((b * t,) + x.shape[2:])
        return np.stack([contract.pad_to_multiple(f) for f in flat]).reshape(
            (b, t) + contract.pad_to_multiple(flat[0]).shape)

    out = model.predict({FRAMES: pad(frames), MASKS: pad(masks)}, verbose=0, batch_size=b)
    out = np.asarray(out, np.float32)[:, :, :h, :w]
    return {"serving_float": out,
            "serving_default": np.where(hole, contract.to_uint8(out), frames_u8)}


def verify_saved_model(path: str, model, shapes: Sequence[Sequence[int]],
                       tolerance: float = 0.0, propagation=None) -> Dict[str, float]:
    """Reloads the SavedModel at `path` and compares both signatures with `model` (Keras),
    run after `propagation` if given (`reference_outputs`).

    Returns {"<signature> <BxTxHxW>": max abs difference}; raises AssertionError if a float
    difference exceeds `tolerance` or a uint8 one exceeds `max(1, 255 * tolerance)` levels
    when tolerance > 0 (0 when tolerance == 0, i.e. exact), or if a difference is not finite
    (NaN outputs).
    """
    import tensorflow as tf

    loaded = tf.saved_model.load(path)
    diffs = {}
    for i, shape in enumerate(shapes):
        frames, masks = random_request(shape, seed=i)
        expected = reference_outputs(model, frames, masks, propagation)
        for name, dtype in SIGNATURES.items():
            fn = loaded.signatures[name]
            if dtype == "uint8":
                got = fn(frames=tf.constant(frames), masks=tf.constant(masks))[OUTPUT].numpy()
                limit = 0 if tolerance == 0 else max(1, int(np.ceil(255 * tolerance)))
            else:
                got = fn(frames=tf.constant(frames.astype(np.float32) / np.float32(255.0)),
                         masks=tf.constant((masks != 0).astype(np.float32)))[OUTPUT].numpy()
                limit = tolerance
            diff = float(np.max(np.abs(got.astype(np.float64) - expected[name])))
            key = f"{name} {'x'.join(str(s) for s in shape)}"
            diffs[key] = diff
            if got.shape != expected[name].shape or not diff <= limit:  # also catches NaN
                nan = " (outputs not finite)" if np.isnan(diff) else ""
                raise AssertionError(f"{path}: {key}: the reloaded SavedModel differs from the "
                                     f"Keras model by {diff}{nan} (allowed {limit}), output "
                                     f"shape {got.shape} vs {expected[name].shape}")
    return diffs


def export_saved_model(model, base_dir: str, version, overwrite: bool = False,
                       verify_shapes: Optional[Sequence[Sequence[int]]] = ((1, 3, 20, 28),),
                       verify_tolerance: float = 1e-5, source: Optional[str] = None,
                       propagate: bool = True) -> dict:
    """Writes `model` as `base_dir/<version>/`, a TF Serving model version (atomic).

    Args:
      model: a Keras generator (`lgtsm_tf.build_generator` contract). Mixed-precision models
        are exported as their float32 copy (`float32_copy`). A model whose weights are not all
        finite (a diverged run) is refused with a ValueError.
      base_dir: the model's base path (TF Serving `base_path`).
      version: positive integer version (directory name).
      overwrite: replace an existing `base_dir/<version>`; otherwise FileExistsError.
      verify_shapes: [B, T, H, W] shapes on which the reloaded SavedModel (written under a
        temporary name) is compared with the Keras model before it is moved into place;
        empty/None skips the check. The default shape is not a multiple of 4 (tests the
        in-graph padding).
      verify_tolerance: allowed max abs difference (float). On CPU the difference is 0; GPUs
        may pick other convolution algorithms in the two runs, hence the default 1e-5.
      source: where the model came from (recorded in the metadata).
      propagate: run `lgtsm_tf.layers.TemporalPropagation` (reach `EXPORT_REACH` frames) in
        the graph before the model, as `lgtsm-inpaint` does: hole pixels known in another frame
        of the request are copied from there (recorded in the metadata as "propagation",
        its config, or null).

    Returns:
      {"path", "signatures", "source_policies", "exported_policy", "float32_copy",
       "verification": {check: max abs difference}}.
    """
    import keras
    import tensorflow as tf

    import lgtsm_tf.layers  # noqa: F401  (registers the layers)
    from lgtsm_tf.models import check_finite_weights

    target = version_dir(base_dir, version)
    check_finite_weights(model, source or getattr(model, "name", "the model"))
    policies = model_policies(model) if isinstance(model, keras.Model) else []
    exported = float32_copy(model)
    propagation = None
    if propagate:
        from lgtsm_tf.layers import TemporalPropagation

        propagation = TemporalPropagation(reach=EXPORT_REACH)
    module = make_serving_module(exported, propagation)
    signatures = {"serving_default": module.serving_default.get_concrete_function(),
                  "serving_float": module.serving_float.get_concrete_function()}
    from lgtsm_tf.export.files import atomic_directory

    with atomic_directory(target, overwrite=overwrite) as tmp:
        tf.saved_model.save(module, tmp, signatures=signatures)
        verification = {}
        if verify_shapes:
            verification = verify_saved_model(tmp, exported, verify_shapes, verify_tolerance,
                                              propagation)
        metadata = {
            "model": exported.name,
            "source": source,
            "source_policies": policies,
            "exported_policy": "float32",
            "float32_copy": exported is not model,
            "parameters": int(sum(np.prod(v.shape) for v in exported.weights)),
            "propagation": None if propagation is None else {
                k: v for k, v in propagation.get_config().items() if k not in ("name", "dtype")},
            "signatures": {
                name: {"inputs": {FRAMES: f"{dtype} [B, T, H, W, 3]",
                                  MASKS: f"{dtype} [B, T, H, W, 1]"},
                       "outputs": {OUTPUT: f"{dtype} [B, T, H, W, 3]"}}
                for name, dtype in SIGNATURES.items()},
            "verification_max_abs_diff": verification,
            "lgtsm_tf": lgtsm_tf.__version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        }
        os.makedirs(os.path.join(tmp, "assets.extra"), exist_ok=True)
        with open(os.path.join(tmp, METADATA_PATH), "w") as f:
            json.dump(metadata, f, indent=2)
    return {"path": target, "signatures": sorted(signatures), "source_policies": policies,
            "propagation": metadata["propagation"],
            "exported_policy": "float32", "float32_copy": exported is not model,
            "verification": verification}

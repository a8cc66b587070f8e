"""SavedModel signature -> ONNX, and the checks every exported ONNX file must pass.

tf2onnx exits 0 (and `from_function` returns a model) even when ops failed to convert, so an
ONNX file is only written after all of these pass (`export_onnx`):

1. conversion with `continue_on_error=False` (an unsupported op raises);
2. `onnx.checker.check_model(full_check=True)` (structure and shape inference);
3. every node is a standard ONNX op (domain "" / "ai.onnx"; no leftover TensorFlow ops);
4. no Reshape has a baked-in size (`find_baked_reshapes`): TensorRT refuses reshapes whose
   fixed sizes do not fit its dynamic shapes ("reshape would change volume");
5. onnxruntime parity with the SavedModel's own signature on at least two shapes (one with
   H, W not multiples of 4), max abs difference <= tolerance (1e-4).

The ONNX model has inputs `frames` float32 [batch, time, height, width, 3] in [0, 1] and
`masks` float32 [batch, time, height, width, 1] (hole where > 0.5), output `inpainted`
float32 [batch, time, height, width, 3]: the SavedModel's `serving_float` signature, padding
to multiples of 4 included. The symbolic dimension names are shared by the inputs and the
output, so runtimes know frames and masks agree.
"""

from __future__ import annotations

import os
from typing import Dict, List, Sequence

import numpy as np

from lgtsm_tf import contract
from lgtsm_tf.export import savedmodel

DEFAULT_OPSET = 17
DEFAULT_TOLERANCE = 1e-4
#: [B, T, H, W] shapes of the parity check: a multiple of 4 and one that is not.
DEFAULT_CHECK_SHAPES = ((1, 4, 32, 32), (2, 3, 22, 30))
#: Symbolic names of the dynamic axes of the inputs and the output.
DIM_NAMES = ("batch", "time", "height", "width")
SIGNATURE = "serving_float"
STANDARD_DOMAINS = ("", "ai.onnx")


class OnnxExportError(RuntimeError):
    """An ONNX conversion or check failed; the message says which and why."""


# ----------------------------------------------------------------------------- conversion

def convert_saved_model(saved_model_dir: str, opset: int = DEFAULT_OPSET,
                        signature: str = SIGNATURE):
    """Converts `signature` of the SavedModel to an `onnx.ModelProto` (not yet checked).

    Uses tf2onnx's SavedModel loader and converter as its CLI does (tf2onnx==1.17.0), but with
    `continue_on_error=False` so that an unconvertible op raises instead of being left in the
    graph. Inputs and output keep the signature's names; dynamic axes get `DIM_NAMES`.
    """
    import tensorflow as tf
    from tf2onnx import convert as tf2onnx_convert
    from tf2onnx import tf_loader

    graph_def, inputs, outputs, tables, renames = tf_loader.from_saved_model(
        saved_model_dir, None, None, tag="serve", signatures=[signature],
        return_initialized_tables=True, return_tensors_to_rename=True)
    try:
        with tf.device("/cpu:0"):
            model, _ = tf2onnx_convert._convert_common(
                graph_def, name=f"{saved_model_dir}:{signature}", continue_on_error=False,
                opset=opset, input_names=inputs, output_names=outputs,
                tensors_to_rename=renames, initialized_tables=tables)
    except Exception as e:
        raise OnnxExportError(f"tf2onnx could not convert {saved_model_dir} ({signature}): "
                              f"{type(e).__name__}: {e}") from e
    name_dims(model)
    model.doc_string = ("LGTSM video inpainting generator (lgtsm-tf), from the SavedModel "
                        f"signature {signature}: frames float32 [B,T,H,W,3] in [0,1], masks "
                        "float32 [B,T,H,W,1] (hole > 0.5) -> inpainted float32 [B,T,H,W,3]; "
                        "any H, W (padded inside).")
    return model


def name_dims(model) -> None:
    """Sets the dynamic axes of every graph input/output of rank 5 to `DIM_NAMES` (in place)."""
    for value in list(model.graph.input) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if len(dims) != 5:
            continue
        for dim, name in zip(dims[:4], DIM_NAMES):
            dim.Clear()
            dim.dim_param = name


# ----------------------------------------------------------------------------- checks

def check_structure(model) -> None:
    """Standard ONNX ops only, `onnx.checker` (full), and the expected input/output names;
    raises OnnxExportError."""
    import onnx

    foreign = sorted({f"{n.domain}:{n.op_type}" for n in model.graph.node
                      if n.domain not in STANDARD_DOMAINS})
    if foreign:
        raise OnnxExportError("the ONNX graph has non-standard ops (unconverted TensorFlow or "
                              f"contrib ops, which TensorRT cannot run): {', '.join(foreign)}")
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:
        raise OnnxExportError(f"onnx.checker rejected the model: {e}") from e
    names = ([i.name for i in model.graph.input], [o.name for o in model.graph.output])
    if names != ([contract.FRAMES, contract.MASKS], [contract.OUTPUT]):
        raise OnnxExportError(f"unexpected inputs/outputs {names}; expected "
                              f"(['frames', 'masks'], ['inpainted'])")


def _session(model_or_path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    data = model_or_path if isinstance(model_or_path, (str, os.PathLike)) \
        else model_or_path.SerializeToString()
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def float_request(shape: Sequence[int], seed: int = 0):
    """(frames float32 [B,T,H,W,3] in [0,1], masks float32 {0,1} [B,T,H,W,1]) for checks."""
    frames, masks = savedmodel.random_request(shape, seed)
    return contract.to_float(frames), contract.holes(masks).astype(np.float32)


def find_baked_reshapes(model, shapes: Sequence[Sequence[int]] = ((1, 3, 20, 28),
                                                                  (2, 5, 36, 44))) -> List[str]:
    """Reshape nodes whose target shape holds a fixed size that should follow the input.

    Every Reshape's data-input shape and target-shape values are recorded with onnxruntime on
    input shapes `shapes` (B, T, H, W all different between them). A target entry that keeps
    the same value across the runs is fixed; it is accepted only if it is -1, 0 (copy), 1 (a
    unit axis) or a size the data input also has in every run at that value (a channel
    count). Anything else, e.g. a height traced into the graph, would be wrong for other
    sizes, and TensorRT rejects it under dynamic shapes. Entries that change between runs
    are computed from the runtime shape (fine). A Reshape that fails to run on one of the
    shapes is reported too.

    Returns one message per offending Reshape (empty list = shape-agnostic).
    """
    import onnx
    from onnx import TensorProto, helper

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    reshapes = [n for n in probe.graph.node if n.op_type == "Reshape"]
    for i, node in enumerate(reshapes):
        probe.graph.node.append(helper.make_node("Shape", [node.input[0]], [f"probe{i}_in"]))
        probe.graph.output.append(helper.make_tensor_value_info(f"probe{i}_in", TensorProto.INT64,
                                                                None))
        # An Identity, so the target (often an initializer) can be a graph output.
        probe.graph.node.append(helper.make_node("Identity", [node.input[1]], [f"probe{i}_to"]))
        probe.graph.output.append(helper.make_tensor_value_info(f"probe{i}_to", TensorProto.INT64,
                                                                None))
    session = _session(probe)
    names = [o.name for o in session.get_outputs()]
    runs = []
    for k, shape in enumerate(shapes):
        frames, masks = float_request(shape, seed=k)
        try:
            values = session.run(None, {contract.FRAMES: frames, contract.MASKS: masks})
        except Exception as e:
            return [f"the graph fails on input shape {tuple(shape)} (a baked-in size?): {e}"]
        runs.append(dict(zip(names, values)))
    problems = []
    for i, node in enumerate(reshapes):
        ins = [run[f"probe{i}_in"].tolist() for run in runs]
        tos = [run[f"probe{i}_to"].tolist() for run in runs]
        if len({len(t) for t in tos}) != 1:
            continue  # rank changes with the input: computed at runtime
        fixed_in = {d for d in ins[0] if all(d in other for other in ins[1:])}
        for axis, values in enumerate(zip(*tos)):
            if len(set(values)) > 1:
                continue
            value = values[0]
            if value in (-1, 0, 1) or value in fixed_in:
                continue
            problems.append(f"Reshape {node.name!r}: target shape {tos[0]} has the fixed size "
                            f"{value} at axis {axis} while its input is {ins} on input shapes "
                            f"{[tuple(s) for s in shapes]}")
    return problems


def parity(model_or_path, saved_model_dir: str, shapes: Sequence[Sequence[int]],
           signature: str = SIGNATURE, loaded=None) -> Dict[str, float]:
    """Max abs difference between onnxruntime and the SavedModel signature, per shape.

    Returns {"BxTxHxW": max abs difference}. Raises OnnxExportError if an output shape differs
    or onnxruntime fails.
    """
    import tensorflow as tf

    session = _session(model_or_path)
    if loaded is None:
        loaded = tf.saved_model.load(saved_model_dir)
    fn = loaded.signatures[signature]
    diffs = {}
    for k, shape in enumerate(shapes):
        frames, masks = float_request(shape, seed=100 + k)
        key = "x".join(str(s) for s in shape)
        try:
            got = session.run([contract.OUTPUT], {contract.FRAMES: frames,
                                                    contract.MASKS: masks})[0]
        except Exception as e:
            raise OnnxExportError(f"onnxruntime failed on shape {key}: {e}") from e
        want = fn(frames=tf.constant(frames), masks=tf.constant(masks))[contract.OUTPUT].numpy()
        if got.shape != want.shape:
            raise OnnxExportError(f"shape {key}: onnxruntime returned {got.shape}, TensorFlow "
                                  f"{want.shape}")
        diffs[key] = float(np.max(np.abs(got.astype(np.float64) - want)))
    return diffs


# ----------------------------------------------------------------------------- export

def signature_names(saved_model_dir: str) -> list:
    """Signature names of a SavedModel, read from saved_model.pb (without loading it)."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    return sorted({name for graph in proto.meta_graphs for name in graph.signature_def
                   if not name.startswith("__")})


def export_onnx(saved_model_dir: str, output: str, opset: int = DEFAULT_OPSET,
                check_shapes: Sequence[Sequence[int]] = DEFAULT_CHECK_SHAPES,
                tolerance: float = DEFAULT_TOLERANCE, overwrite: bool = False,
                log=print) -> dict:
    """Converts the SavedModel's `serving_float` signature to `output` (.onnx), checked.

    The file is written under a temporary name, loaded back and checked (see the module
    docstring) and moved into place only if every check passes; otherwise OnnxExportError
    (or FileExistsError without `overwrite`) and nothing is left at `output`.

    Args:
      saved_model_dir: a SavedModel from `export_saved_model` (the version directory).
      output: the .onnx file to write.
      opset: ONNX opset (17 and 18 are tested).
      check_shapes: [B, T, H, W] shapes of the parity run (at least two; use one whose H or W
        is not a multiple of 4).
      tolerance: allowed max abs difference onnxruntime vs TensorFlow.
      overwrite: replace an existing `output`.
      log: callable for progress lines (None for silence).

    Returns:
      {"path", "opset", "parity": {shape: max abs diff}, "nodes", "reshapes", "bytes"}.
    """
    import onnx

    from lgtsm_tf.export.files import atomic_file, check_output

    log = log or (lambda *_: None)
    output = os.fspath(output)
    if not output.endswith(".onnx"):
        raise ValueError(f"{output}: the output file must end in .onnx")
    if not os.path.isfile(os.path.join(saved_model_dir, "saved_model.pb")):
        raise FileNotFoundError(f"{saved_model_dir}: no saved_model.pb (pass the version "
                                "directory written by export_savedmodel, e.g. BASE/1)")
    if len(check_shapes) < 2:
        raise ValueError("check_shapes needs at least two shapes")
    check_output(output, overwrite)
    signatures = signature_names(saved_model_dir)
    if SIGNATURE not in signatures:
        raise OnnxExportError(f"{saved_model_dir}: no {SIGNATURE} signature (has "
                              f"{signatures}); export it with export/export_savedmodel.py")
    log(f"converting {saved_model_dir} ({SIGNATURE}) with tf2onnx, opset {opset}")
    model = convert_saved_model(saved_model_dir, opset)
    with atomic_file(output, overwrite=overwrite) as tmp:
        onnx.save(model, tmp)
        model = onnx.load(tmp)  # check what was written
        check_structure(model)
        log("onnx.checker: ok; standard ONNX ops only")
        baked = find_baked_reshapes(model)
        if baked:
            raise OnnxExportError("Reshape nodes with baked-in sizes (TensorRT would reject "
                                  "them):\n  " + "\n  ".join(baked))
        reshapes = sum(n.op_type == "Reshape" for n in model.graph.node)
        log(f"reshapes: {reshapes}, none with baked-in sizes")
        diffs = parity(tmp, saved_model_dir, check_shapes)
        for key, diff in diffs.items():
            log(f"parity {key}: max abs diff onnxruntime vs TensorFlow {diff:.3g}")
        failed = [d for d in diffs.values() if not d <= tolerance]  # also catches NaN
        if failed:
            worst = float("nan") if np.isnan(failed).any() else max(failed)
            raise OnnxExportError(f"onnxruntime differs from TensorFlow by {worst:.3g} > "
                                  f"tolerance {tolerance:g} ({diffs})")
        size = os.path.getsize(tmp)
    log(f"wrote {output} ({size / 1e6:.1f} MB)")
    return {"path": output, "opset": opset, "parity": diffs, "nodes": len(model.graph.node),
            "reshapes": reshapes, "bytes": size}

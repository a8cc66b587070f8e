"""TensorRT engines from the exported ONNX model, and a small runner.

TF-TRT is gone from TensorFlow 2.18+, so the TensorRT path is SavedModel -> ONNX
(`lgtsm_tf.export.onnx_export`) -> engine, built here with TensorRT's Python builder:

    engine = build_engine("lgtsm.onnx", min_shape=(1, 1, 64, 64), opt_shape=(1, 8, 240, 432),
                          max_shape=(1, 16, 480, 864), fp16=True)       # serialized bytes
    runner = TensorRTRunner("lgtsm.engine")
    out = runner.inpaint_clip(frames_uint8, masks)      # uint8 [T, H, W, 3]

Shapes are [B, T, H, W]; both ONNX inputs (frames [B, T, H, W, 3] and masks [B, T, H, W, 1])
get the same optimization profile (min <= opt <= max per axis). H and W need not be
multiples of 4: the ONNX graph pads inside. The engine's I/O stays float32 with `fp16`
(FP16 is allowed for the layers TensorRT picks; check the accuracy with `compare_with_onnx`).

Needs `tensorrt` (>= 8.6: named-tensor API) and, for the runner, CUDA device memory through
`cuda-python` (`pip install cuda-python`). Neither is installable on the machines this
project is developed on (no GPU; the `tensorrt` wheels download from NVIDIA's index), so
this code has not been executed there: `tensorrt_unavailable_reason()` says why, the
`export/export_tensorrt.py` CLI exits with that message, and the tests skip with it.
"""

from __future__ import annotations

import os
import re
from typing import Dict, Optional, Tuple

import numpy as np

from lgtsm_tf.export.shapes import Shape, parse_shape  # noqa: F401  (re-exported)

INPUTS = {"frames": 3, "masks": 1}  # ONNX input name -> channels
OUTPUT = "inpainted"
MIN_TENSORRT = (8, 6)


class TensorRTError(RuntimeError):
    """Building or running a TensorRT engine failed; the message says why."""


def tensorrt_unavailable_reason() -> Optional[str]:
    """None if `tensorrt` (>= 8.6) imports, else a one-line reason."""
    try:
        import tensorrt as trt
    except Exception as e:  # ImportError, or a broken install raising OSError etc.
        return (f"TensorRT is not available: `import tensorrt` failed ({type(e).__name__}: "
                f"{e}). Install TensorRT >= 8.6 with its Python bindings on a machine with an "
                "NVIDIA GPU (e.g. `pip install tensorrt` from NVIDIA's package index, or an "
                "NGC TensorRT container), or build the engine with `trtexec` (see README).")
    version = tuple(int(p) for p in re.findall(r"\d+", trt.__version__)[:2])
    if version < MIN_TENSORRT:
        return (f"TensorRT {trt.__version__} is too old: the builder and runner use the "
                f"named-tensor API of TensorRT >= {'.'.join(map(str, MIN_TENSORRT))}")
    return None


def check_profile(min_shape, opt_shape, max_shape) -> Tuple[Shape, Shape, Shape]:
    """Parses the three shapes and checks min <= opt <= max on every axis."""
    shapes = tuple(parse_shape(s) for s in (min_shape, opt_shape, max_shape))
    for axis, name in enumerate(("B", "T", "H", "W")):
        low, opt, high = (s[axis] for s in shapes)
        if not low <= opt <= high:
            raise ValueError(f"optimization profile needs min <= opt <= max on every axis; "
                             f"{name}: min {low}, opt {opt}, max {high}")
    return shapes


def profile_shapes(min_shape, opt_shape, max_shape) -> Dict[str, Tuple[tuple, tuple, tuple]]:
    """{input name: (min, opt, max)} with the channel axis appended, for both inputs."""
    shapes = check_profile(min_shape, opt_shape, max_shape)
    return {name: tuple(s + (channels,) for s in shapes) for name, channels in INPUTS.items()}


def _trt():
    reason = tensorrt_unavailable_reason()
    if reason:
        raise TensorRTError(reason)
    import tensorrt as trt

    return trt


def build_engine(onnx_path: str, min_shape, opt_shape, max_shape, fp16: bool = False,
                 workspace_gib: float = 4.0, log_level: str = "WARNING") -> bytes:
    """Parses `onnx_path` and builds a serialized TensorRT engine (bytes).

    Args:
      onnx_path: ONNX file from `export/export_onnx.py` (inputs frames, masks).
      min_shape, opt_shape, max_shape: [B, T, H, W] (strings "1x8x240x432" or sequences) of the
        optimization profile shared by both inputs; TensorRT tunes kernels for `opt_shape`.
      fp16: allow FP16 kernels (`BuilderFlag.FP16`); I/O stays float32.
      workspace_gib: builder workspace memory pool limit.
      log_level: TensorRT logger severity (VERBOSE, INFO, WARNING, ERROR).

    Raises:
      TensorRTError: TensorRT missing, ONNX parse errors (all listed), or a failed build.
    """
    trt = _trt()
    profile_spec = profile_shapes(min_shape, opt_shape, max_shape)
    logger = trt.Logger(getattr(trt.Logger, log_level))
    builder = trt.Builder(logger)
    flags = 0
    if int(trt.__version__.split(".")[0]) < 10:  # explicit batch is the only mode in 10+
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    with open(onnx_path, "rb") as f:
        ok = parser.parse(f.read())
    if not ok:
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise TensorRTError(f"{onnx_path}: TensorRT's ONNX parser failed:\n  "
                            + "\n  ".join(errors or ["(no error message)"]))
    names = [network.get_input(i).name for i in range(network.num_inputs)]
    if sorted(names) != sorted(INPUTS):
        raise TensorRTError(f"{onnx_path}: inputs {names}, expected {sorted(INPUTS)} "
                            "(export the ONNX model with export/export_onnx.py)")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    if fp16:
        if not getattr(builder, "platform_has_fast_fp16", True):
            raise TensorRTError("--fp16: this GPU has no fast FP16")
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for name, (low, opt, high) in profile_spec.items():
        profile.set_shape(name, low, opt, high)
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise TensorRTError(f"{onnx_path}: TensorRT could not build the engine (see the "
                            "TensorRT log above); a common cause is a reshape with a fixed "
                            "size, which export_onnx.py checks for")
    return bytes(serialized)


def write_engine(onnx_path: str, output: str, overwrite: bool = False, **kwargs) -> dict:
    """`build_engine(onnx_path, **kwargs)` written atomically to `output`.

    Returns {"path", "bytes"}. FileExistsError if `output` exists and not `overwrite`.
    """
    from lgtsm_tf.export.files import atomic_file, check_output

    check_output(output, overwrite)
    data = build_engine(onnx_path, **kwargs)
    with atomic_file(output, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return {"path": os.fspath(output), "bytes": len(data)}


# ----------------------------------------------------------------------------- runner

def _cudart():
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        try:
            from cuda import cudart  # older cuda-python
        except ImportError as e:
            raise TensorRTError("the TensorRT runner needs CUDA device memory through "
                                "cuda-python (`pip install cuda-python`)") from e
    return cudart


def _check_cuda(result, what):
    """cuda-python calls return (error, *values): raises on error, returns the value(s)."""
    err, *rest = result if isinstance(result, tuple) else (result,)
    if getattr(err, "value", err) != 0:  # cudaError_t.cudaSuccess == 0
        raise TensorRTError(f"CUDA error in {what}: {err}")
    return rest[0] if len(rest) == 1 else rest


class TensorRTRunner:
    """Runs a serialized engine from `build_engine` on clips (one execution context).

    `run(frames, masks)`: float32 [B, T, H, W, 3] in [0, 1] and float32 [B, T, H, W, 1]
    (hole > 0.5) -> float32 [B, T, H, W, 3], the ONNX model's contract; the shape must lie
    within the engine's optimization profile (a ValueError says which axis does not).
    `inpaint_clip(frames, masks)`: uint8 [T, H, W, 3] and masks [T, H, W] / [T, H, W, 1]
    (nonzero = hole) -> uint8 [T, H, W, 3] with the known pixels copied from the input. Longer
    videos: run the engine window by window like `lgtsm_tf.inference.VideoInpainter`.
    """

    def __init__(self, engine_path: str, log_level: str = "WARNING"):
        trt = _trt()
        self._cudart = _cudart()
        self.path = os.fspath(engine_path)
        self._logger = trt.Logger(getattr(trt.Logger, log_level))
        with open(self.path, "rb") as f:
            self._runtime = trt.Runtime(self._logger)
            self.engine = self._runtime.deserialize_cuda_engine(f.read())
        if self.engine is None:
            raise TensorRTError(f"{self.path}: could not deserialize the engine (built with "
                                "another TensorRT version or GPU?)")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        if sorted(names) != sorted(list(INPUTS) + [OUTPUT]):
            raise TensorRTError(f"{self.path}: engine tensors {names}, expected frames, masks "
                                "and inpainted")
        # (min, opt, max) per input, profile 0.
        self.profile = {name: tuple(tuple(s) for s in
                                    self.engine.get_tensor_profile_shape(name, 0))
                        for name in INPUTS}
        self._stream = _check_cuda(self._cudart.cudaStreamCreate(), "cudaStreamCreate")

    def _check(self, frames: np.ndarray, masks: np.ndarray) -> None:
        for name, x, channels in (("frames", frames, 3), ("masks", masks, 1)):
            if x.ndim != 5 or x.shape[-1] != channels:
                raise ValueError(f"{name} must be [B, T, H, W, {channels}], got {x.shape}")
            if x.dtype != np.float32:
                raise ValueError(f"{name} must be float32, got {x.dtype}")
        if frames.shape[:4] != masks.shape[:4]:
            raise ValueError(f"frames {frames.shape} and masks {masks.shape} differ in "
                             "[B, T, H, W]")
        low, _, high = self.profile["frames"]
        for axis, name in enumerate("BTHW"):
            if not low[axis] <= frames.shape[axis] <= high[axis]:
                raise ValueError(f"{name} = {frames.shape[axis]} is outside the engine's "
                                 f"optimization profile [{low[axis]}, {high[axis]}] "
                                 f"(min {low[:4]}, max {high[:4]}); rebuild with other "
                                 "--min/--max or split the clip")

    def run(self, frames: np.ndarray, masks: np.ndarray) -> np.ndarray:
        cudart = self._cudart
        frames = np.ascontiguousarray(frames)
        masks = np.ascontiguousarray(masks)
        self._check(frames, masks)
        for name, x in (("frames", frames), ("masks", masks)):
            if not self.context.set_input_shape(name, x.shape):
                raise TensorRTError(f"set_input_shape({name}, {x.shape}) failed")
        out = np.empty(tuple(self.context.get_tensor_shape(OUTPUT)), np.float32)
        host = {"frames": frames, "masks": masks, OUTPUT: out}
        device = {}
        try:
            for name, x in host.items():
                device[name] = _check_cuda(cudart.cudaMalloc(x.nbytes), "cudaMalloc")
                self.context.set_tensor_address(name, int(device[name]))
            to_device = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
            for name in INPUTS:
                _check_cuda(cudart.cudaMemcpyAsync(device[name], host[name].ctypes.data,
                                                   host[name].nbytes, to_device, self._stream),
                            "cudaMemcpyAsync")
            if not self.context.execute_async_v3(self._stream):
                raise TensorRTError("execute_async_v3 failed (see the TensorRT log)")
            _check_cuda(cudart.cudaMemcpyAsync(out.ctypes.data, device[OUTPUT], out.nbytes,
                                               cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost,
                                               self._stream), "cudaMemcpyAsync")
            _check_cuda(cudart.cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")
        finally:
            for ptr in device.values():
                cudart.cudaFree(ptr)
        return out

    def inpaint_clip(self, frames: np.ndarray, masks: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames)
        masks = np.asarray(masks)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} "
                             f"{frames.shape}")
        if masks.ndim == 4 and masks.shape[-1] == 1:
            masks = masks[..., 0]
        if masks.shape != frames.shape[:3]:
            raise ValueError(f"masks must be [T, H, W] or [T, H, W, 1] matching frames "
                             f"{frames.shape[:3]}, got {masks.shape}")
        hole = masks != 0
        out = self.run(frames[None].astype(np.float32) / np.float32(255.0),
                       hole[None, ..., None].astype(np.float32))[0]
        out = np.clip(np.rint(out * np.float32(255.0)), 0, 255).astype(np.uint8)
        return np.where(hole[..., None], out, frames)

    def close(self) -> None:
        if getattr(self, "_stream", None) is not None:
            self._cudart.cudaStreamDestroy(self._stream)
            self._stream = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def compare_with_onnx(runner: TensorRTRunner, onnx_path: str, shape, seed: int = 0) -> float:
    """Max abs difference engine vs onnxruntime on a random clip of [B, T, H, W] `shape`."""
    import onnxruntime as ort

    from lgtsm_tf.export.onnx_export import float_request

    frames, masks = float_request(parse_shape(shape), seed)
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    want = session.run([OUTPUT], {"frames": frames, "masks": masks})[0]
    got = runner.run(frames, masks)
    return float(np.max(np.abs(got.astype(np.float64) - want)))

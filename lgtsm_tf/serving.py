"""Clients for an LGTSM model behind TensorFlow Serving (REST and gRPC).

The model is the SavedModel written by `export/export_savedmodel.py` (signatures in
`lgtsm_tf.export.savedmodel`): `serving_default` takes frames uint8 [B, T, H, W, 3] and masks
uint8 [B, T, H, W, 1] (nonzero = hole) and returns `inpainted` uint8 [B, T, H, W, 3];
`serving_float` is the same in float32 ([0, 1], hole > 0.5).

    from lgtsm_tf.serving import GrpcClient, RestClient
    client = GrpcClient("localhost:8500", "lgtsm")   # or RestClient("http://localhost:8501", ...)
    out = client.predict(frames, masks)                      # one clip, one request
    video = client.inpaint_video(frames, masks, window=16)   # any length: clips of 16 frames

`predict` sends one request: frames uint8 [T, H, W, 3] or [B, T, H, W, 3], masks [T, H, W],
[T, H, W, 1] or [B, T, H, W, 1] (uint8 or bool; nonzero = hole) and returns uint8 of the
frames' shape. With `signature="serving_float"` frames are float32 in [0, 1] and masks float
(hole > 0.5) or bool. Inputs are checked before anything is sent (ValueError naming the
problem: rank, channel count, B/T/H/W mismatch between frames and masks, dtype, value range);
server errors raise `ServingError` with TF Serving's status and message.

`inpaint_video` splits a video of any length into temporal windows (one request per window,
`batch_windows` windows per request) and cross-fades the overlaps exactly like local
inference (`lgtsm_tf.inference.VideoInpainter`, which it uses with the server as its model),
so memory and request size stay bounded. With the uint8 signature each window's output is
quantised to uint8 before the cross-fade, so blended frames can differ from local float
inference by one level; with `signature="serving_float"` the result equals local inference
with the exported SavedModel exactly (4x the bytes on the wire).

Message sizes. A request carries B*T*H*W*4 bytes (uint8: 3 frame channels + 1 mask channel;
x4 for float32), e.g. 16 frames of 480x854 = 26 MB. gRPC clients refuse messages over 4 MB by
default; `GrpcClient` raises its limits to `max_message_bytes` (default 2 GiB - 1, what
`tensorflow_model_server` itself accepts: it builds its gRPC server with
SetMaxMessageSize(INT_MAX); lower it there with `--grpc_channel_arguments` if wanted) and
checks the request size before sending. Over REST the JSON text is ~3.5 bytes per uint8 value
and TF Serving's `--rest_api_timeout_in_ms` (default 30000) bounds each call: prefer gRPC for
video, or use short windows.

`tensorflow-serving-api` provides the gRPC protos; install it with
`pip install --no-deps tensorflow-serving-api==2.21.0` (its metadata requires the
`tensorflow` wheel, which would be installed on top of tensorflow-cpu). The REST client needs
only the standard library and numpy.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Optional, Tuple

import numpy as np

from lgtsm_tf import contract
from lgtsm_tf.contract import FRAMES, MASKS, OUTPUT  # noqa: F401  (the signatures' names)

SIGNATURE_DTYPES = {name: np.dtype(dtype).type for name, dtype in contract.SIGNATURES.items()}
#: TF Serving's own gRPC message limit; the client default.
MAX_MESSAGE_BYTES = 2**31 - 1
DEFAULT_TIMEOUT = 600.0

__all__ = ["ServingError", "prepare_inputs", "RestClient", "GrpcClient", "RemoteGenerator"]


class ServingError(RuntimeError):
    """The server refused or failed a request. `code`: gRPC status name or HTTP status."""

    def __init__(self, code, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# ----------------------------------------------------------------------------- inputs

def prepare_inputs(frames, masks, signature: str = "serving_default"
                   ) -> Tuple[np.ndarray, np.ndarray, bool]:
    """Checks and converts one request's inputs for `signature`.

    Args:
      frames: [T, H, W, 3] or [B, T, H, W, 3]; uint8 for serving_default, float32/float64 in
        [0, 1] for serving_float.
      masks: [T, H, W], [T, H, W, 1] or [B, T, H, W, 1] (with the frames' B, T, H, W);
        uint8 (any integer type) or bool, nonzero = hole; for serving_float float (hole >
        0.5) or bool.

    Returns:
      (frames [B, T, H, W, 3], masks [B, T, H, W, 1] in the signature's dtype, batched): masks
      as 0/1 (uint8) or 0.0/1.0 (float32); `batched` False if a batch axis was added.

    Raises:
      ValueError: saying what is wrong (rank, channels, B/T/H/W mismatch, empty axis, dtype,
        values out of range).
    """
    if signature not in SIGNATURE_DTYPES:
        raise ValueError(f"unknown signature {signature!r}; use one of "
                         f"{sorted(SIGNATURE_DTYPES)}")
    dtype = SIGNATURE_DTYPES[signature]
    frames = np.asarray(frames)
    masks = np.asarray(masks)
    masks_shape = masks.shape
    if frames.ndim not in (4, 5) or frames.shape[-1] != 3:
        raise ValueError(f"frames must be [T, H, W, 3] or [B, T, H, W, 3] (RGB), got shape "
                         f"{frames.shape}")
    batched = frames.ndim == 5
    if not batched:
        frames = frames[None]
    if masks.ndim == frames.ndim - 2 and not batched:  # [T, H, W]
        masks = masks[..., None]
    if masks.ndim == 4 and not batched:
        masks = masks[None]
    if masks.ndim != 5 or masks.shape[-1] != 1:
        raise ValueError(f"masks must be [T, H, W], [T, H, W, 1] or [B, T, H, W, 1] (one "
                         f"channel, nonzero = hole), got shape {masks_shape}")
    if frames.shape[:4] != masks.shape[:4]:
        raise ValueError(f"frames and masks must have the same [B, T, H, W]; got frames "
                         f"{frames.shape[:4]} and masks {masks.shape[:4]}")
    if 0 in frames.shape:
        raise ValueError(f"empty input: frames shape {frames.shape}")
    if dtype == np.uint8:
        if frames.dtype != np.uint8:
            raise ValueError(f"frames must be uint8 0..255 for serving_default, got "
                             f"{frames.dtype} (use signature='serving_float' for float frames "
                             "in [0, 1])")
        if masks.dtype.kind not in "biu":
            raise ValueError(f"masks must be uint8 (or another integer type, or bool; "
                             f"nonzero = hole) for serving_default, got {masks.dtype}")
        masks = contract.holes(masks).astype(np.uint8)
    else:
        if frames.dtype not in (np.float32, np.float64):
            raise ValueError(f"frames must be float32 in [0, 1] for serving_float, got "
                             f"{frames.dtype} (send uint8 frames to serving_default)")
        frames = frames.astype(np.float32)
        if not (np.isfinite(frames).all() and frames.min() >= 0 and frames.max() <= 1):
            raise ValueError(f"float frames must be in [0, 1] (no NaN), got "
                             f"{np.nanmin(frames)}..{np.nanmax(frames)}; divide uint8 frames "
                             "by 255")
        if masks.dtype == np.bool_:
            masks = masks.astype(np.float32)
        elif masks.dtype.kind == "f":
            if np.isnan(masks).any():
                raise ValueError("masks contain NaN")
            masks = contract.holes(masks).astype(np.float32)
        else:
            raise ValueError(f"masks must be float or bool for serving_float, got "
                             f"{masks.dtype}")
    return np.ascontiguousarray(frames), np.ascontiguousarray(masks), batched


def _check_output(out: np.ndarray, frames: np.ndarray, signature: str) -> np.ndarray:
    if out.shape != frames.shape:
        raise ServingError("BAD_RESPONSE", f"the server returned shape {out.shape}, expected "
                           f"{frames.shape}")
    dtype = SIGNATURE_DTYPES[signature]
    if out.dtype != dtype:
        raise ServingError("BAD_RESPONSE", f"the server returned {out.dtype}, expected "
                           f"{np.dtype(dtype).name} for {signature}")
    return out


# ----------------------------------------------------------------------------- clients

class _Client:
    def __init__(self, model_name: str, signature: str = "serving_default",
                 version: Optional[int] = None, timeout: float = DEFAULT_TIMEOUT):
        if signature not in SIGNATURE_DTYPES:
            raise ValueError(f"unknown signature {signature!r}; use one of "
                             f"{sorted(SIGNATURE_DTYPES)}")
        self.model_name = model_name
        self.signature = signature
        self.version = None if version is None else int(version)
        self.timeout = timeout

    def predict(self, frames, masks) -> np.ndarray:
        """Inpaints one clip (one request). See the module docstring for shapes and dtypes.

        Returns the `inpainted` output in the signature's dtype, with the frames' shape
        ([T, H, W, 3] in, [T, H, W, 3] out).
        """
        frames, masks, batched = prepare_inputs(frames, masks, self.signature)
        out = _check_output(self._predict(frames, masks), frames, self.signature)
        return out if batched else out[0]

    def _predict(self, frames: np.ndarray, masks: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def inpaint_video(self, frames, masks, window: int = 16, overlap: int = 6,
                      batch_windows: int = 1, dilate: int = 0) -> np.ndarray:
        """Inpaints a whole video through the server, one window per request.

        frames: uint8 [T, H, W, 3] (any T, H, W); masks: [T, H, W] / [T, H, W, 1] (nonzero =
        hole) or one [H, W] mask for every frame. Returns uint8 [T, H, W, 3] with the known
        pixels copied from the input. Windows, cross-fades, padding and dilation are those of
        `lgtsm_tf.inference.VideoInpainter`; windows without holes are not sent. Temporal
        propagation is the server's: a model exported with it (the default of
        `lgtsm-export-savedmodel`) propagates within each window it is sent.
        """
        from lgtsm_tf.inference import VideoInpainter

        masks = np.asarray(masks)
        if masks.ndim == 4 and masks.shape[-1] == 1:
            masks = masks[..., 0]
        inpainter = VideoInpainter(RemoteGenerator(self), window=window, overlap=overlap,
                                   batch_windows=batch_windows, dilate=dilate, propagate=False)
        return inpainter.inpaint_array(np.asarray(frames), masks)


class RestClient(_Client):
    """TF Serving REST predict client (columnar JSON "inputs" form, uint8 as JSON numbers).

    Args:
      base_url: "http://host:8501" (TF Serving's --rest_api_port).
      model_name: the served model name (--model_name / models.config `name`).
      signature: "serving_default" (uint8) or "serving_float".
      version: a specific version, else the latest.
      timeout: seconds per request (the server's own limit is --rest_api_timeout_in_ms).
    """

    def __init__(self, base_url: str, model_name: str, signature: str = "serving_default",
                 version: Optional[int] = None, timeout: float = DEFAULT_TIMEOUT):
        super().__init__(model_name, signature, version, timeout)
        self.base_url = base_url.rstrip("/")

    @property
    def url(self) -> str:
        version = f"/versions/{self.version}" if self.version is not None else ""
        return f"{self.base_url}/v1/models/{self.model_name}{version}:predict"

    def request_body(self, frames: np.ndarray, masks: np.ndarray) -> bytes:
        """The JSON body for prepared inputs (see `prepare_inputs`)."""
        return json.dumps({"signature_name": self.signature,
                           "inputs": {FRAMES: frames.tolist(), MASKS: masks.tolist()}}).encode()

    def _predict(self, frames, masks):
        request = urllib.request.Request(self.url, data=self.request_body(frames, masks),
                                         headers={"Content-Type": "application/json"},
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            try:
                message = json.loads(text).get("error", text)
            except ValueError:
                message = text
            raise ServingError(e.code, message) from None
        except urllib.error.URLError as e:
            raise ServingError("UNAVAILABLE", f"{self.url}: {e.reason}") from None
        outputs = body.get("outputs") if isinstance(body, dict) else None
        if isinstance(outputs, dict):  # several named outputs
            outputs = outputs.get(OUTPUT)
        if outputs is None:
            raise ServingError("BAD_RESPONSE", f"no 'outputs' in the response: {str(body)[:200]}")
        out = np.asarray(outputs)
        if self.signature == "serving_default":
            if out.size and (out.dtype.kind not in "iu" or out.min() < 0 or out.max() > 255):
                raise ServingError("BAD_RESPONSE", "serving_default returned values that are "
                                   "not uint8")
            return out.astype(np.uint8)
        return out.astype(np.float32)


class GrpcClient(_Client):
    """TF Serving gRPC PredictionService client (`tensorflow-serving-api` protos).

    Args:
      target: "host:8500" (TF Serving's --port).
      model_name, signature, version, timeout: as `RestClient`.
      max_message_bytes: the channel's send/receive limit (gRPC's default is 4 MB); requests
        larger than this raise ValueError before sending.
      channel: an existing `grpc.Channel` to use instead (its limits apply).
    """

    def __init__(self, target: str, model_name: str, signature: str = "serving_default",
                 version: Optional[int] = None, timeout: float = DEFAULT_TIMEOUT,
                 max_message_bytes: int = MAX_MESSAGE_BYTES, channel=None):
        super().__init__(model_name, signature, version, timeout)
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.target = target
        self.max_message_bytes = int(max_message_bytes)
        self._own_channel = channel is None
        if channel is None:
            channel = grpc.insecure_channel(target, options=[
                ("grpc.max_send_message_length", self.max_message_bytes),
                ("grpc.max_receive_message_length", self.max_message_bytes)])
        self.channel = channel
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)

    def make_request(self, frames: np.ndarray, masks: np.ndarray):
        """The PredictRequest for prepared inputs (see `prepare_inputs`)."""
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.model_name
        request.model_spec.signature_name = self.signature
        if self.version is not None:
            request.model_spec.version.value = self.version
        request.inputs[FRAMES].CopyFrom(tf.make_tensor_proto(frames))
        request.inputs[MASKS].CopyFrom(tf.make_tensor_proto(masks))
        request.output_filter.append(OUTPUT)
        return request

    def _predict(self, frames, masks):
        import grpc
        import tensorflow as tf

        request = self.make_request(frames, masks)
        size = request.ByteSize()
        if size > self.max_message_bytes:
            raise ValueError(f"request of {size / 1e6:.1f} MB exceeds max_message_bytes "
                             f"({self.max_message_bytes / 1e6:.1f} MB); send shorter clips "
                             "(inpaint_video's window / batch_windows) or raise the limit")
        try:
            response = self._stub.Predict(request, timeout=self.timeout)
        except grpc.RpcError as e:
            code, details = e.code(), e.details()
            if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
                details += (" (a message size limit: the client's is max_message_bytes, TF "
                            "Serving's is INT_MAX unless --grpc_channel_arguments lowers it)")
            raise ServingError(code.name, details) from None
        if OUTPUT not in response.outputs:
            raise ServingError("BAD_RESPONSE", f"no '{OUTPUT}' in the response (outputs: "
                               f"{sorted(response.outputs)})")
        return tf.make_ndarray(response.outputs[OUTPUT])

    def close(self) -> None:
        if self._own_channel:
            self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RemoteGenerator:
    """A served model with the generator contract, for `lgtsm_tf.inference.VideoInpainter`.

    Called with {"frames": float32 [B, T, H, W, 3] in [0, 1], "masks": float32 [B, T, H, W,
    1]} (numpy or tensors; inside `tf.function` through `tf.numpy_function`) and returns
    float32 [B, T, H, W, 3]. With a uint8 client, frames are sent as rint(255 x) (exact for
    frames that came from uint8) and the output comes back quantised to 1/255.
    """

    def __init__(self, client: _Client):
        self.client = client
        self.name = f"remote:{client.model_name}"

    def _call_numpy(self, frames: np.ndarray, masks: np.ndarray) -> np.ndarray:
        hole = contract.holes(masks)
        if self.client.signature == "serving_default":
            out = self.client.predict(contract.to_uint8(frames), hole.astype(np.uint8))
            return contract.to_float(out)
        return self.client.predict(frames.astype(np.float32), hole.astype(np.float32))

    def __call__(self, inputs, training=False):
        import tensorflow as tf

        del training
        frames, masks = inputs[FRAMES], inputs[MASKS]
        if isinstance(frames, np.ndarray):
            return self._call_numpy(frames, np.asarray(masks))
        out = tf.numpy_function(self._call_numpy, [frames, masks], tf.float32, stateful=True)
        out.set_shape(frames.shape)
        return out

"""In-process stand-ins for TF Serving: a gRPC PredictionService and a REST predict endpoint.

**These are test doubles, not a model server.** The TensorFlow Serving model server cannot be
installed on the machines this project is developed on (no binary on PyPI/Debian, no Docker),
so the clients in `lgtsm_tf.serving` are tested against these: they load an exported
SavedModel with `tf.saved_model.load` and run the requested signature, speaking TF Serving's
wire formats:

* gRPC: `tensorflow.serving.PredictionService/Predict` with `tensorflow_serving.apis`
  PredictRequest/PredictResponse protos, on a real gRPC server bound to 127.0.0.1. Like
  `tensorflow_model_server`, it accepts messages up to 2 GiB - 1 (INT_MAX).
* REST: `POST /v1/models/<name>[/versions/<v>]:predict` with the columnar JSON body
  `{"signature_name": ..., "inputs": {"frames": [...], "masks": [...]}}`, answering
  `{"outputs": [...]}` (one output: unnamed, as TF Serving does) or `{"error": "..."}`;
  `GET /v1/models/<name>` gives the model status.

Requests are checked against the signature before it runs (input names, dtype, rank and
static sizes) and errors are returned as gRPC INVALID_ARGUMENT / NOT_FOUND or HTTP 400 / 404
with a message naming the input and the problem; errors raised inside the graph (frames and
masks of different [B, T, H, W], float values outside [0, 1]) come back the same way.

Use for local development as well (`serve_saved_model`), never in production.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from concurrent import futures
from typing import Dict, Optional

import numpy as np

#: TF Serving's server-side gRPC message limit (ServerBuilder::SetMaxMessageSize(kint32max)).
MAX_MESSAGE_BYTES = 2**31 - 1


class RequestError(Exception):
    """A bad request: `code` is "INVALID_ARGUMENT" or "NOT_FOUND"."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def short_tf_error(e) -> str:
    """The useful part of a TensorFlow runtime error: an in-graph assertion's message and
    data ("frames and masks must have the same [B, T, H, W]; ...") without the node trace."""
    text = getattr(e, "message", None) or str(e)
    match = re.search(r"assertion failed: (.*?)(?:\n\t \[\[|$)", text, re.S)
    if match:
        text = match.group(1)
    else:
        text = text.split("\n\t [[")[0]
        text = re.sub(r"Graph execution error:|Detected at node .*?<stack traces unavailable>",
                      "", text, flags=re.S)
    return " ".join(text.split()) or type(e).__name__


class SignatureRunner:
    """Runs the signatures of one SavedModel version for the stand-in servers."""

    def __init__(self, saved_model_dir: str, model_name: str, version: int = 1):
        import tensorflow as tf

        self.path = saved_model_dir
        self.model_name = model_name
        self.version = int(version)
        self._loaded = tf.saved_model.load(saved_model_dir)
        self.signatures = dict(self._loaded.signatures)

    def specs(self, signature_name: str) -> Dict[str, "object"]:
        """{input name: TensorSpec} of a signature; RequestError if there is none."""
        if signature_name not in self.signatures:
            raise RequestError("INVALID_ARGUMENT",
                               f"Serving signature name: \"{signature_name}\" not found in "
                               f"signature def (available: {', '.join(sorted(self.signatures))})")
        return self.signatures[signature_name].structured_input_signature[1]

    def check_model(self, name: str, version: Optional[int]) -> None:
        if name != self.model_name or (version is not None and version != self.version):
            what = f"Latest({name})" if version is None else \
                f"Specific({name}, {version})"
            raise RequestError("NOT_FOUND", f"Servable not found for request: {what}")

    def check_inputs(self, signature_name: str, inputs: Dict[str, np.ndarray]) -> None:
        """Input names, dtypes, ranks and static sizes against the signature."""
        specs = self.specs(signature_name)
        missing = sorted(set(specs) - set(inputs))
        extra = sorted(set(inputs) - set(specs))
        if missing or extra:
            raise RequestError("INVALID_ARGUMENT",
                               f"signature {signature_name} takes inputs {sorted(specs)}; "
                               + (f"missing {missing}" if missing else "")
                               + ("; " if missing and extra else "")
                               + (f"unknown {extra}" if extra else ""))
        for name, spec in sorted(specs.items()):
            x = inputs[name]
            if x.dtype != spec.dtype.as_numpy_dtype:
                raise RequestError("INVALID_ARGUMENT",
                                   f"input '{name}' of signature {signature_name} must be "
                                   f"{spec.dtype.name}, got {x.dtype}")
            if not spec.shape.is_compatible_with(x.shape):
                dims = ", ".join("?" if d is None else str(d) for d in spec.shape.as_list())
                raise RequestError("INVALID_ARGUMENT",
                                   f"input '{name}' of signature {signature_name} must have "
                                   f"shape [{dims}] (rank {spec.shape.rank}), got "
                                   f"{list(x.shape)}")

    def run(self, signature_name: str, inputs: Dict[str, np.ndarray],
            output_filter=()) -> Dict[str, np.ndarray]:
        import tensorflow as tf

        self.check_inputs(signature_name, inputs)
        try:
            outputs = self.signatures[signature_name](
                **{k: tf.constant(v) for k, v in inputs.items()})
        except (tf.errors.InvalidArgumentError, ValueError, TypeError) as e:
            raise RequestError("INVALID_ARGUMENT", short_tf_error(e)) from e
        unknown = sorted(set(output_filter) - set(outputs))
        if unknown:
            raise RequestError("INVALID_ARGUMENT", f"output_filter {unknown} not in the "
                               f"signature's outputs {sorted(outputs)}")
        keep = set(output_filter) or set(outputs)
        return {k: v.numpy() for k, v in outputs.items() if k in keep}


# ----------------------------------------------------------------------------- gRPC

def _servicer_class():
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        """PredictionService.Predict over `SignatureRunner`; other methods: UNIMPLEMENTED."""

        def __init__(self, runner: SignatureRunner):
            self.runner = runner

        def Predict(self, request, context):
            import tensorflow as tf

            runner = self.runner
            try:
                spec = request.model_spec
                version = spec.version.value if spec.HasField("version") else None
                runner.check_model(spec.name, version)
                signature = spec.signature_name or "serving_default"
                runner.specs(signature)
                inputs = {}
                for name, proto in request.inputs.items():
                    try:
                        inputs[name] = tf.make_ndarray(proto)
                    except Exception as e:
                        raise RequestError("INVALID_ARGUMENT",
                                           f"input '{name}' is not a valid TensorProto: {e}")
                outputs = runner.run(signature, inputs, list(request.output_filter))
            except RequestError as e:
                code = getattr(grpc.StatusCode, e.code)
                context.abort(code, e.message)
            response = predict_pb2.PredictResponse()
            response.model_spec.name = runner.model_name
            response.model_spec.version.value = runner.version
            response.model_spec.signature_name = signature
            for name, value in outputs.items():
                response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
            return response

    return PredictionServicer


class GrpcStandIn:
    """A gRPC server on 127.0.0.1 (free port) serving `runner` as TF Serving's
    PredictionService. `target` is "127.0.0.1:<port>". Use as a context manager or `stop()`."""

    def __init__(self, runner: SignatureRunner, host: str = "127.0.0.1", port: int = 0,
                 max_workers: int = 2):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.runner = runner
        options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers),
                                   options=options)
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            _servicer_class()(runner), self._server)
        self.port = self._server.add_insecure_port(f"{host}:{port}")
        if not self.port:
            raise OSError(f"could not bind a gRPC port on {host}:{port}")
        self.target = f"{host}:{self.port}"
        self._server.start()

    def stop(self) -> None:
        self._server.stop(grace=None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ----------------------------------------------------------------------------- REST

_PREDICT = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?:predict$")
_STATUS = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?$")


def json_to_array(value, spec, name: str) -> np.ndarray:
    """A JSON (nested list) tensor -> numpy array of the spec's dtype, strictly.

    uint8 inputs must be integers 0..255, float inputs numbers; ragged lists are refused.
    Raises RequestError(INVALID_ARGUMENT) naming the input.
    """
    dtype = np.dtype(spec.dtype.as_numpy_dtype)
    try:
        raw = np.array(value)
    except ValueError as e:  # ragged nesting
        raise RequestError("INVALID_ARGUMENT", f"input '{name}': not a rectangular nested "
                           f"list ({e})") from None
    if raw.dtype == object or raw.dtype.kind not in "biuf":
        raise RequestError("INVALID_ARGUMENT", f"input '{name}': expected a (nested) list of "
                           f"numbers for a {dtype.name} tensor")
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        if raw.dtype.kind == "f" and raw.size and not np.all(np.floor(raw) == raw):
            raise RequestError("INVALID_ARGUMENT", f"input '{name}' is {dtype.name}: values "
                               f"must be integers {info.min}..{info.max}, got non-integers")
        if raw.size and (raw.min() < info.min or raw.max() > info.max):
            raise RequestError("INVALID_ARGUMENT", f"input '{name}' is {dtype.name}: values "
                               f"must be in {info.min}..{info.max}, got {raw.min()}..{raw.max()}")
    return raw.astype(dtype)


def _handler_class(runner: SignatureRunner):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, e: RequestError) -> None:
            self._reply(404 if e.code == "NOT_FOUND" else 400, {"error": e.message})

        def do_GET(self):
            m = _STATUS.match(self.path)
            try:
                if not m:
                    raise RequestError("NOT_FOUND", f"unknown path {self.path}")
                version = int(m["version"]) if m["version"] else None
                runner.check_model(m["name"], version)
            except RequestError as e:
                return self._error(e)
            self._reply(200, {"model_version_status": [{
                "version": str(runner.version), "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""}}]})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length)
            m = _PREDICT.match(self.path)
            try:
                if not m:
                    raise RequestError("NOT_FOUND", f"unknown path {self.path} (expected "
                                       "/v1/models/<name>[/versions/<v>]:predict)")
                runner.check_model(m["name"], int(m["version"]) if m["version"] else None)
                try:
                    body = json.loads(data)
                except ValueError as e:
                    raise RequestError("INVALID_ARGUMENT", f"request body is not JSON: {e}")
                if not isinstance(body, dict) or not isinstance(body.get("inputs"), dict):
                    raise RequestError("INVALID_ARGUMENT", "this stand-in takes the columnar "
                                       "form {\"signature_name\": ..., \"inputs\": {\"frames\": "
                                       "..., \"masks\": ...}}")
                signature = body.get("signature_name") or "serving_default"
                specs = runner.specs(signature)
                inputs = {}
                for name, value in body["inputs"].items():
                    if name not in specs:
                        raise RequestError("INVALID_ARGUMENT", f"signature {signature} has no "
                                           f"input '{name}' (inputs: {sorted(specs)})")
                    inputs[name] = json_to_array(value, specs[name], name)
                outputs = runner.run(signature, inputs)
            except RequestError as e:
                return self._error(e)
            values = {k: v.tolist() for k, v in outputs.items()}
            self._reply(200, {"outputs": next(iter(values.values())) if len(values) == 1
                              else values})

    return Handler


class RestStandIn:
    """An HTTP server on 127.0.0.1 (free port) answering TF Serving's REST predict and status
    calls for `runner`. `url` is "http://127.0.0.1:<port>". Context manager or `stop()`."""

    def __init__(self, runner: SignatureRunner, host: str = "127.0.0.1", port: int = 0):
        self.runner = runner
        self._httpd = http.server.ThreadingHTTPServer((host, port), _handler_class(runner))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        name="lgtsm-rest-stand-in")
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def serve_saved_model(saved_model_dir: str, model_name: str, version: int = 1,
                      grpc_port: int = 0, rest_port: int = 0, host: str = "127.0.0.1"):
    """Starts both stand-ins on one `SignatureRunner`; returns (GrpcStandIn, RestStandIn)."""
    runner = SignatureRunner(saved_model_dir, model_name, version)
    grpc_server = GrpcStandIn(runner, host, grpc_port)
    try:
        rest_server = RestStandIn(runner, host, rest_port)
    except BaseException:
        grpc_server.stop()
        raise
    return grpc_server, rest_server

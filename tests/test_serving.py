"""Tests for the TF Serving clients (lgtsm_tf.serving) against the in-process stand-ins.

The real model server cannot run here, so the clients talk to test doubles
(tests/serving_double.py): a real gRPC server on 127.0.0.1 implementing
PredictionService.Predict and a real HTTP server answering /v1/models/<name>:predict, both
running the exported SavedModel's signatures. Round trips must return exactly what the
signature returns when called directly.
"""

import json
import urllib.error
import urllib.request
from unittest import mock

import grpc
import numpy as np
import pytest
import tensorflow as tf
from absl.testing import parameterized

from lgtsm_tf import inference, serving
from lgtsm_tf.export import savedmodel
from tests import serving_double
from tests import test_export_common as common

SHAPES = ((2, 4, 32, 32), (1, 3, 22, 30))


def _request(shape, signature, seed):
    frames, masks = savedmodel.random_request(shape, seed)
    if signature == "serving_float":
        return frames.astype(np.float32) / np.float32(255.0), (masks != 0).astype(np.float32)
    return frames, masks


class CountingRunner(serving_double.SignatureRunner):
    calls = 0

    def run(self, *args, **kwargs):
        type(self).calls += 1
        return super().run(*args, **kwargs)


class ServingTest(common.ExportTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _, _, cls.path, _ = common.exported("float32")
        cls.runner = CountingRunner(cls.path, "lgtsm", version=1)
        cls.grpc_server = serving_double.GrpcStandIn(cls.runner)
        cls.rest_server = serving_double.RestStandIn(cls.runner)
        cls.signatures = cls.runner.signatures
        cls._local = {}
        cls.clients = {}
        for signature in savedmodel.SIGNATURES:
            cls.clients["grpc", signature] = serving.GrpcClient(
                cls.grpc_server.target, "lgtsm", signature=signature)
            cls.clients["rest", signature] = serving.RestClient(
                cls.rest_server.url, "lgtsm", signature=signature)

    @classmethod
    def tearDownClass(cls):
        for (transport, _), client in cls.clients.items():
            if transport == "grpc":
                client.close()
        cls.grpc_server.stop()
        cls.rest_server.stop()
        super().tearDownClass()

    def direct(self, signature, frames, masks):
        return self.signatures[signature](frames=tf.constant(frames),
                                          masks=tf.constant(masks))["inpainted"].numpy()

    # ------------------------------------------------------------------------- round trips

    @parameterized.product(transport=("grpc", "rest"), signature=tuple(savedmodel.SIGNATURES),
                           shape=SHAPES)
    def test_round_trip_equals_signature(self, transport, signature, shape):
        frames, masks = _request(shape, signature, seed=sum(shape))
        got = self.clients[transport, signature].predict(frames, masks)
        want = self.direct(signature, frames, masks)
        self.assertEqual(got.dtype, want.dtype)
        self.assertAllEqual(got, want)

    @parameterized.parameters("grpc", "rest")
    def test_unbatched_clip(self, transport):
        frames, masks = _request((1, 3, 20, 24), "serving_default", seed=1)
        got = self.clients[transport, "serving_default"].predict(frames[0], masks[0, ..., 0] * 9)
        self.assertAllEqual(got, self.direct("serving_default", frames, masks)[0])

    def test_specific_version_and_status(self):
        client = serving.RestClient(self.rest_server.url, "lgtsm", version=1)
        frames, masks = _request((1, 2, 16, 16), "serving_default", seed=2)
        self.assertAllEqual(client.predict(frames, masks),
                            self.direct("serving_default", frames, masks))
        with urllib.request.urlopen(f"{self.rest_server.url}/v1/models/lgtsm") as response:
            status = json.loads(response.read())
        self.assertEqual(status["model_version_status"][0]["state"], "AVAILABLE")

    # ------------------------------------------------------------------------- bad requests

    @parameterized.product(
        transport=("grpc", "rest"),
        case=(("rank", lambda f, m: (f[0, 0], m[0, 0]), r"frames must be \[T, H, W, 3\] or "
                                                        r"\[B, T, H, W, 3\] \(RGB\), got shape "
                                                        r"\(20, 24, 3\)"),
              ("channels", lambda f, m: (f[..., :2], m), r"frames must be .* got shape "
                                                         r"\(1, 3, 20, 24, 2\)"),
              ("mask_channels", lambda f, m: (f, np.repeat(m, 3, -1)), r"masks must be .*one "
                                                                       r"channel"),
              ("different_t", lambda f, m: (f, m[:, :2]), r"frames and masks must have the same "
                                                          r"\[B, T, H, W\]; got frames "
                                                          r"\(1, 3, 20, 24\) and masks "
                                                          r"\(1, 2, 20, 24\)"),
              ("float_frames", lambda f, m: (f / 255.0, m), r"frames must be uint8 0..255 for "
                                                            r"serving_default, got float64"),
              ("float_masks", lambda f, m: (f, m / 255.0), r"masks must be uint8"),
              ("empty", lambda f, m: (f[:, :0], m[:, :0]), r"empty input")))
    def test_client_refuses_bad_requests(self, transport, case):
        _, make, message = case
        frames, masks = _request((1, 3, 20, 24), "serving_default", seed=3)
        calls = CountingRunner.calls
        with self.assertRaisesRegex(ValueError, message):
            self.clients[transport, "serving_default"].predict(*make(frames, masks))
        self.assertEqual(CountingRunner.calls, calls)  # nothing was sent

    @parameterized.parameters(
        (lambda f, m: (f * 255, m), r"float frames must be in \[0, 1\] \(no NaN\), got 0.0..255.0"),
        (lambda f, m: (f.astype(np.uint8), m), r"frames must be float32 in \[0, 1\] for "
                                               r"serving_float, got uint8"),
        (lambda f, m: (np.where(f > 0.5, np.nan, f), m), r"float frames must be in \[0, 1\]"))
    def test_client_refuses_bad_float_requests(self, make, message):
        frames, masks = _request((1, 2, 8, 8), "serving_float", seed=4)
        with self.assertRaisesRegex(ValueError, message):
            self.clients["grpc", "serving_float"].predict(*make(frames, masks))

    SERVER_CASES = (
        ("rank", lambda f, m: (f[0], m[0]),
         r"input 'frames' of signature serving_default must have shape \[\?, \?, \?, \?, 3\] "
         r"\(rank 5\), got \[3, 20, 24, 3\]"),
        ("channels", lambda f, m: (f[..., :2], m),
         r"input 'frames' of signature serving_default must have shape \[\?, \?, \?, \?, 3\] "
         r"\(rank 5\), got \[1, 3, 20, 24, 2\]"),
        ("different_t", lambda f, m: (f, m[:, :2]),
         r"frames and masks must have the same \[B, T, H, W\]\] \[frames shape\] \[1 3 20 24 3\] "
         r"\[masks shape\] \[1 2 20 24 1\]"),
        ("float_frames", lambda f, m: (f.astype(np.float32) / 255, m),
         r"input 'frames' of signature serving_default must be uint8, got float32"),
    )

    @parameterized.named_parameters(*SERVER_CASES)
    def test_grpc_server_refuses_bad_requests(self, make, message):
        # Sent raw, past the client's own checks, as another client might send them.
        frames, masks = _request((1, 3, 20, 24), "serving_default", seed=5)
        client = self.clients["grpc", "serving_default"]
        with self.assertRaises(grpc.RpcError) as caught:
            client._stub.Predict(client.make_request(*make(frames, masks)), timeout=60)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertRegex(caught.exception.details(), message)

    @parameterized.named_parameters(*SERVER_CASES)
    def test_rest_server_refuses_bad_requests(self, make, message):
        frames, masks = _request((1, 3, 20, 24), "serving_default", seed=5)
        client = self.clients["rest", "serving_default"]
        f, m = make(frames, masks)
        if f.dtype == np.float32:  # JSON has no dtype: 0..1 floats arrive as non-integers
            message = r"input 'frames' is uint8: values must be integers 0..255"
        request = urllib.request.Request(client.url, data=client.request_body(f, m),
                                         method="POST")
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=60)
        self.assertEqual(caught.exception.code, 400)
        self.assertRegex(json.loads(caught.exception.read())["error"], message)

    def test_in_graph_checks_reach_the_client(self):
        # The client forwards server errors as ServingError with the server's message.
        client = self.clients["grpc", "serving_default"]
        frames, masks = _request((1, 3, 20, 24), "serving_default", seed=6)
        def passthrough(frames, masks, signature="serving_default"):
            return np.asarray(frames), np.asarray(masks), True

        with mock.patch.object(serving, "prepare_inputs", passthrough):
            with self.assertRaisesRegex(serving.ServingError, r"INVALID_ARGUMENT: \[frames and "
                                                              r"masks must have the same"):
                client.predict(frames, masks[:, :2])

    @parameterized.parameters("grpc", "rest")
    def test_unknown_model_and_signature(self, transport):
        frames, masks = _request((1, 2, 8, 8), "serving_default", seed=7)
        make = (lambda **kw: serving.GrpcClient(self.grpc_server.target, **kw)) \
            if transport == "grpc" else \
            (lambda **kw: serving.RestClient(self.rest_server.url, **kw))
        with self.assertRaisesRegex(serving.ServingError,
                                    r"(NOT_FOUND|404): Servable not found for request: "
                                    r"Latest\(nope\)"):
            make(model_name="nope").predict(frames, masks)
        with self.assertRaisesRegex(serving.ServingError,
                                    r"(NOT_FOUND|404): Servable not found for request: "
                                    r"Specific\(lgtsm, 2\)"):
            make(model_name="lgtsm", version=2).predict(frames, masks)
        with self.assertRaisesRegex(ValueError, "unknown signature 'serve'"):
            make(model_name="lgtsm", signature="serve")

    # ------------------------------------------------------------------------- message sizes

    def test_request_size_checked_before_sending(self):
        frames, masks = _request((1, 2, 256, 256), "serving_default", seed=8)
        small = serving.GrpcClient(self.grpc_server.target, "lgtsm", max_message_bytes=2**19)
        calls = CountingRunner.calls
        with self.assertRaisesRegex(ValueError, r"request of 0.5 MB exceeds max_message_bytes "
                                                r"\(0.5 MB\); send shorter clips"):
            small.predict(frames, masks)
        small.close()
        self.assertEqual(CountingRunner.calls, calls)

    @pytest.mark.slow
    def test_messages_over_4mb(self):
        shape = (1, 2, 1024, 720)  # response 4.4 MB: over gRPC's default 4 MB receive limit
        frames, masks = _request(shape, "serving_default", seed=8)
        want = self.direct("serving_default", frames, masks)
        self.assertGreater(want.nbytes, 4 * 2**20)
        got = self.clients["grpc", "serving_default"].predict(frames, masks)  # raised limits
        self.assertAllEqual(got, want)
        with grpc.insecure_channel(self.grpc_server.target) as channel:  # gRPC defaults
            client = serving.GrpcClient(self.grpc_server.target, "lgtsm", channel=channel)
            with self.assertRaisesRegex(serving.ServingError, r"RESOURCE_EXHAUSTED: .*a message "
                                                              r"size limit"):
                client.predict(frames, masks)

    # ------------------------------------------------------------------------- whole videos

    def _video(self):
        """(video uint8 [10, 22, 30, 3], holes [10, 22, 30], local inference result)."""
        if "video" not in self._local:
            rng = np.random.default_rng(9)
            video = rng.integers(0, 256, (10, 22, 30, 3), dtype=np.uint8)
            holes = np.zeros((10, 22, 30), np.uint8)
            holes[:, 4:16, 6:22] = 1
            holes[3] = 0  # a frame without a hole
            local = inference.VideoInpainter(inference.load_model(self.path), window=4,
                                             overlap=2).inpaint_array(video, holes)
            self._local["video"] = (video, holes, local)
        return self._local["video"]

    def test_inpaint_video_float_equals_local_inference(self):
        video, holes, local = self._video()
        calls = CountingRunner.calls
        remote = self.clients["grpc", "serving_float"].inpaint_video(video, holes, window=4,
                                                                     overlap=2)
        self.assertEqual(CountingRunner.calls - calls, 4)  # windows [0,4) [2,6) [4,8) [6,10)
        self.assertEqual(remote.dtype, np.uint8)
        self.assertAllEqual(remote, local)

    def test_inpaint_video_uint8_over_rest(self):
        video, holes, local = self._video()
        remote = self.clients["rest", "serving_default"].inpaint_video(video, holes[..., None],
                                                                       window=4, overlap=2)
        known = holes == 0
        self.assertAllEqual(remote[known], video[known])
        # Windows come back as uint8 before the cross-fade: at most one level off.
        self.assertLessEqual(np.abs(remote.astype(int) - local).max(), 1)
        self.assertFalse(np.array_equal(remote[~known], video[~known]))

"""Frame counts are what decodes, not what a container header declares (issue 12).

Real containers whose headers disagree with their content, made with PyAV (8 frames of 32x32,
lossless codecs so frames compare exactly): an mp4 whose edit list hides its first 3 frames,
an AVI whose header declares 44 frames, an AVI and an mp4 cut after 5 frames. Each is read by
`video_io`, `data.sources` and the inpainter (API and CLI); OpenCV's own `tree.avi` (header 444,
decodes 68) and `box.mp4` (header 456, decodes 455) too when `python -m lgtsm_tf.samples` has
fetched them into data/samples.
"""

import os
import shutil
import struct
import tempfile
from unittest import mock

import av
import keras
import numpy as np
import pytest
from absl.testing import absltest, parameterized

from lgtsm_tf import inference
from lgtsm_tf import video_io as vio
from lgtsm_tf.data import sources
from lgtsm_tf.inference import VideoInpainter
from tests.testing import REPO, fill_model, run_inpaint_cli

T, H, W = 8, 32, 32
SAMPLES = os.path.join(REPO, "data", "samples")
# OpenCV's sample videos: (header count, frames that decode).
OPENCV = {"tree.avi": (444, 68), "box.mp4": (456, 455)}


def noise(t=T, h=H, w=W, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (t, h, w, 3), dtype=np.uint8)


def encode(path, frames, codec, pix_fmt, options=None, rate=10):
    with av.open(path, "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        stream.options = options or {}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def edit_list_mp4(path, frames, hidden=3):
    """An mp4 whose edit list starts `hidden` frames in: the header counts every frame, the
    first `hidden` are decoded and dropped (what `ffmpeg -ss` stream copies produce)."""
    mkv = path + ".src.mkv"
    encode(mkv, frames, "libx264rgb", "rgb24", {"qp": "0", "bf": "0"})
    with av.open(mkv) as src, av.open(path, "w") as dst:
        stream = src.streams.video[0]
        out = dst.add_stream_from_template(stream)
        step = round(1 / (stream.average_rate * stream.time_base))
        for packet in src.demux(stream):
            if packet.dts is None:
                continue
            packet.stream = out
            packet.pts -= hidden * step  # negative timestamps: cut by the edit list
            packet.dts -= hidden * step
            dst.mux(packet)
    os.remove(mkv)
    return frames[hidden:]


def _avi(path, frames):
    encode(path, frames, "png", "rgb24")
    with open(path, "rb") as f:
        return bytearray(f.read())


def avi_wrong_header(path, frames, declared=44):
    """An AVI whose stream and main headers declare `declared` frames (like OpenCV's tree.avi)."""
    data = _avi(path, frames)
    struct.pack_into("<I", data, data.find(b"avih") + 8 + 16, declared)  # dwTotalFrames
    struct.pack_into("<I", data, data.find(b"strh") + 8 + 32, declared)  # dwLength
    with open(path, "wb") as f:
        f.write(data)
    return frames


def _packet_offsets(path):
    with av.open(path) as container:
        return [p.pos for p in container.demux(container.streams.video[0]) if p.size]


def truncated_avi(path, frames, keep=5):
    """An AVI cut at the start of frame `keep`'s chunk (its index and the rest are lost)."""
    data = _avi(path, frames)
    cut = _packet_offsets(path)[keep] - 8  # the chunk header precedes the packet data
    with open(path, "wb") as f:
        f.write(data[:cut])
    return frames[:keep]


def truncated_mp4(path, frames, keep=5):
    """A faststart mp4 (index first) cut where frame `keep`'s data starts."""
    vio.write_video(path, frames, 10, lossless=True)
    cut = _packet_offsets(path)[keep]
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:cut])
    return frames[:keep]


# name -> (file name, maker, header count)
CONTAINERS = {
    "edit_list_mp4": ("edit.mp4", edit_list_mp4, T),
    "avi_wrong_header": ("header.avi", avi_wrong_header, 44),
    "truncated_avi": ("cut.avi", truncated_avi, T),
    "truncated_mp4": ("cut.mp4", truncated_mp4, T),
}
CASES = [(name,) for name in CONTAINERS]


def box_masks(t, h=H, w=W):
    masks = np.zeros((t, h, w), np.uint8)
    for i in range(t):
        masks[i, 8:20, 4 + i:16 + i] = 1
    return masks



def decoded_count(path):
    with av.open(path) as container:
        return sum(1 for _ in container.decode(video=0))


class Base(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="frame_counts_")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def p(self, *names):
        return os.path.join(self.dir, *names)

    def make(self, name, frames=None):
        """(path, frames that decode, header count) of container case `name`."""
        file, maker, header = CONTAINERS[name]
        path = self.p(file)
        expected = maker(path, noise() if frames is None else frames)
        return path, expected, header

    def mask_folder(self, name, count, size=(H, W)):
        folder = self.p(name)
        vio.write_frame_folder(folder, box_masks(count, *size) * 255)
        return folder


class VideoIOTest(Base):

    @parameterized.parameters(CASES)
    def test_reader_counts_the_frames_that_decode(self, name):
        path, expected, header = self.make(name)
        self.assertNotEqual(header, len(expected))  # the fixture's header is wrong
        with vio.open_video(path) as reader:
            self.assertEqual(reader.estimated_frames, header)
            self.assertEqual(reader.num_frames, len(expected))
            frames = np.stack(list(reader))
        np.testing.assert_array_equal(frames, expected)
        self.assertEqual(vio.count_frames(path), len(expected))
        self.assertEqual(decoded_count(path), len(expected))

    def test_mask_video_counts_the_masks_that_decode(self):
        path, expected, header = self.make("edit_list_mp4", box_masks(T)[..., None].repeat(3, -1)
                                           * np.uint8(255))
        with vio.open_masks(path) as reader:
            self.assertEqual((reader.estimated_frames, reader.num_frames), (header, len(expected)))
            self.assertLen(list(reader), len(expected))

    def test_folders_and_images(self):
        folder = self.mask_folder("masks", 7)
        self.assertEqual(vio.count_frames(folder), 7)
        self.assertEqual(vio.count_frames(os.path.join(folder, "00000.png")), 1)
        with vio.open_masks(os.path.join(folder, "00000.png")) as reader:
            self.assertIsNone(reader.num_frames)  # one mask image repeats for any count

    def test_count_is_cached_per_path_size_and_mtime(self):
        path, expected, _ = self.make("edit_list_mp4")
        self.assertEqual(vio.count_frames(path), len(expected))
        with mock.patch.object(vio.frame_sources.av, "open",
                               side_effect=AssertionError("decoded again")):
            self.assertEqual(vio.count_frames(path), len(expected))
        os.remove(path)
        truncated_mp4(path, noise(), keep=4)  # rewritten: a new size and mtime
        self.assertEqual(vio.count_frames(path), 4)

    def test_corrupt_video_count_names_the_file(self):
        path = self.p("mid.mp4")
        vio.write_video(path, noise(), 10, lossless=True)
        cut = _packet_offsets(path)[5] + 100  # inside a frame
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[:cut])
        with self.assertRaisesRegex(ValueError, f"^{path}: corrupt or truncated video: decoding "
                                    "failed after 5 frame"):
            vio.count_frames(path)


class SourcesTest(Base):
    """Training sources count with the readers' own scan."""

    @parameterized.parameters(("edit_list_mp4",), ("avi_wrong_header",), ("truncated_avi",))
    def test_probe_counts_the_frames_that_decode(self, name):
        path, expected, header = self.make(name)
        with self.assertLogs(level="WARNING") as logs:
            source = sources.probe_video(path)
        self.assertIn(f"the header declares {header} frames but {len(expected)} decode",
                      "\n".join(logs.output))
        self.assertEqual(source.num_frames, len(expected))
        self.assertEqual(source.num_frames, vio.count_frames(path))
        np.testing.assert_array_equal(source.read_frames(range(len(expected))), expected)
        with self.assertRaises(IndexError):
            source.read_frames([len(expected)])

    def test_truncated_index_is_still_refused_for_training(self):
        path, _, _ = self.make("truncated_mp4")
        with self.assertRaisesRegex(ValueError, f"^{path}: truncated video: the container index "
                                    "lists 8 frames but only 5"):
            sources.probe_video(path)

    def test_mask_video_with_an_edit_list(self):
        path, expected, _ = self.make("edit_list_mp4")
        masks = self.p("masks.mp4")
        edit_list_mp4(masks, box_masks(T)[..., None].repeat(3, -1) * np.uint8(255))
        source = sources.probe_video(path, masks)
        self.assertEqual((source.num_frames, source.masks.num_frames), (5, 5))
        np.testing.assert_array_equal(source.masks.read(range(5)), box_masks(T)[3:])


class InpaintTest(Base):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model = fill_model()

    def setUp(self):
        super().setUp()
        self.inpainter = VideoInpainter(self.model, window=4, overlap=1)
        self.calls = []
        real = self.inpainter._predict
        self.inpainter._predict = lambda f, m: (self.calls.append(1), real(f, m))[1]

    @parameterized.parameters(CASES)
    def test_one_mask_per_decoded_frame_writes_every_frame(self, name):
        path, expected, _ = self.make(name)
        masks = self.mask_folder("masks", len(expected))
        out = self.p("out.mp4")
        summary = self.inpainter.inpaint_files(path, masks, out, lossless=True)
        self.assertEqual(summary["frames"], len(expected))
        self.assertEqual(decoded_count(out), len(expected))
        output, _ = vio.read_video(out)
        known = box_masks(len(expected)) == 0
        np.testing.assert_array_equal(output[known], expected[known])

    @parameterized.parameters(CASES)
    def test_header_count_of_masks_is_refused_before_the_model_runs(self, name):
        path, expected, header = self.make(name)
        masks = self.mask_folder("masks", header)
        before = sorted(os.listdir(self.dir))
        message = (f"^{masks}: has {header} mask\\(s\\) but {path} has {len(expected)} "
                   "frame\\(s\\) "
                   f"\\(counted by decoding; its header says {header}\\); mask count must equal "
                   "frame count")
        with self.assertRaisesRegex(ValueError, message):
            self.inpainter.inpaint_files(path, masks, self.p("out.mp4"), compare=True)
        with self.assertRaisesRegex(ValueError, message):
            inference.check_inputs(path, masks)
        self.assertEqual(self.calls, [])
        self.assertEqual(sorted(os.listdir(self.dir)), before)

    def test_mask_video_count_is_decoded_too(self):
        path, expected, _ = self.make("avi_wrong_header")
        masks = self.p("masks.mp4")
        edit_list_mp4(masks, box_masks(11)[..., None].repeat(3, -1) * np.uint8(255))  # 8 decode
        summary = self.inpainter.inpaint_files(path, masks, self.p("out"))
        self.assertEqual(summary["frames"], T)
        masks_long = self.p("long.mp4")
        edit_list_mp4(masks_long, box_masks(12)[..., None].repeat(3, -1) * np.uint8(255))
        with self.assertRaisesRegex(ValueError, f"^{masks_long}: has 9 mask\\(s\\) \\(counted by "
                                    "decoding; its header says 12\\) but .* has 8 frame\\(s\\) "
                                    "\\(counted by decoding; its header says 44\\)"):
            self.inpainter.inpaint_files(path, masks_long, self.p("out2"))

    def test_progress_bar_counts_to_the_decoded_frames(self):
        path, expected, _ = self.make("avi_wrong_header")
        masks = self.mask_folder("masks", len(expected))
        targets, seen = [], []

        class Bar:
            def __init__(self, target, **kwargs):
                targets.append(target)

            def update(self, current, finalize=None):
                seen.append(current)

        inpainter = VideoInpainter(self.model, window=4, overlap=1, progress=True)
        with mock.patch.object(keras.utils, "Progbar", Bar):
            inpainter.inpaint_files(path, masks, self.p("out.mp4"))
        self.assertEqual(targets, [len(expected)])
        self.assertEqual(seen[-1], len(expected))

    def _cli(self, *args):
        return run_inpaint_cli(*args)

    def test_cli(self):
        path, expected, header = self.make("avi_wrong_header")
        model = self.p("g.keras")
        self.model.save(model)
        good = self.mask_folder("masks", len(expected))
        code, out, err = self._cli(f"--video={path}", f"--masks={good}", f"--model={model}",
                                   f"--output={self.p('out.mp4')}", "--window=4", "--overlap=1",
                                   "--noprogress")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out.splitlines()[-1],
                         f"wrote {len(expected)} frames to {self.p('out.mp4')}")
        self.assertEqual(decoded_count(self.p("out.mp4")), len(expected))
        # The count is checked before the model is loaded: a broken model file is not reached.
        bad_model = self.p("broken.keras")
        with open(bad_model, "wb") as f:
            f.write(b"not a model")
        wrong = self.mask_folder("masks44", header)
        code, _, err = self._cli(f"--video={path}", f"--masks={wrong}", f"--model={bad_model}",
                                 f"--output={self.p('out2.mp4')}")
        self.assertEqual(code, 1)
        self.assertEqual(err, f"lgtsm-inpaint: error: {wrong}: has 44 mask(s) but {path} has 8 "
                              "frame(s) (counted by decoding; its header says 44); mask count "
                              "must equal frame count (or give one mask image for every frame)\n")


@absltest.skipUnless(all(os.path.exists(os.path.join(SAMPLES, f)) for f in OPENCV),
                     f"OpenCV's sample videos are not in {SAMPLES} "
                     "(fetch them with `python -m lgtsm_tf.samples`)")
class OpenCVSamplesTest(Base):

    @parameterized.parameters(OPENCV.items())
    def test_counts(self, file, counts):
        path = os.path.join(SAMPLES, file)
        header, frames = counts
        with vio.open_video(path) as reader:
            self.assertEqual((reader.estimated_frames, reader.num_frames), (header, frames))
        self.assertEqual(sources.probe_video(path).num_frames, frames)

    @parameterized.parameters(OPENCV.items())
    def test_mask_count_is_checked_against_the_decoded_frames(self, file, counts):
        path = os.path.join(SAMPLES, file)
        header, frames = counts
        with vio.open_video(path) as reader:
            size = reader.size
        self.assertEqual(inference.check_inputs(path, self.mask_folder("ok", frames, size)),
                         frames)
        masks = self.mask_folder("header", header, size)
        with self.assertRaisesRegex(ValueError, f"has {header} mask\\(s\\) but {path} has "
                                    f"{frames} frame\\(s\\) \\(counted by decoding; its header "
                                    f"says {header}\\)"):
            inference.check_inputs(path, masks)

    def test_tree_avi_every_frame_is_written(self):
        path = os.path.join(SAMPLES, "tree.avi")
        masks = self.mask_folder("masks", 68, (240, 320))
        out = self.p("tree_out.mp4")
        summary = VideoInpainter(fill_model(), window=16, overlap=6).inpaint_files(
            path, masks, out)
        self.assertEqual(summary["frames"], 68)
        self.assertEqual(decoded_count(out), 68)

    @pytest.mark.slow
    def test_box_mp4_every_frame_is_written(self):
        path = os.path.join(SAMPLES, "box.mp4")
        masks = self.mask_folder("masks", 455, (480, 640))
        out = self.p("box_out.mp4")
        summary = VideoInpainter(fill_model(), window=16, overlap=6,
                                 working_size=(120, None)).inpaint_files(path, masks, out)
        self.assertEqual(summary["frames"], 455)
        self.assertEqual(decoded_count(out), 455)


if __name__ == "__main__":
    absltest.main()

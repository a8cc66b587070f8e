"""Shipped presets (lgtsm_tf.presets): names, checksums, loading, the CLIs' default model, and
`--precision auto` (lgtsm_tf.cpu_features) with mocked CPU flags."""

import contextlib
import dataclasses
import os
import shutil
import tempfile
from unittest import mock

import keras
import numpy as np
from absl.testing import parameterized

import lgtsm_tf
from lgtsm_tf import cpu_features, presets
from lgtsm_tf import video_io as vio
from lgtsm_tf.inference import VideoInpainter, model_path
from tests.testing import TestCase, fill_model, run_inpaint_cli

TINY = presets.Preset(
    name="tiny", filename="", description="a 1x1x1 Conv3D (tests)", variant="lgtsm", nf=1,
    sha256="", training_data="none", training_command="tests/testing.py fill_model", steps=0,
    train_hours=0.0, quality={"box": (10.0, 20.0, 30.0), "cup": (12.0, 22.0, 28.0)},
    weights_licence="MIT", data_licence="-", window=4, overlap=1)


@contextlib.contextmanager
def registered(preset, default=None):
    """`preset` is the only preset (and the default, if `default`)."""
    with mock.patch.dict(presets.PRESETS, {preset.name: preset}, clear=True), \
            mock.patch.object(presets, "DEFAULT", default or presets.DEFAULT):
        yield


def cpuinfo(folder, flags):
    path = os.path.join(folder, "cpuinfo")
    with open(path, "w") as f:
        f.write(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {' '.join(flags)}\n\n"
                "processor\t: 1\nflags\t\t: fpu\n")
    return path


class ShippedPresetsTest(TestCase):
    """The presets in the repository: each file exists, matches its checksum and loads."""

    def test_default_is_a_preset(self):
        self.assertIn(presets.DEFAULT, presets.names())

    def test_every_preset_loads_and_matches_its_table_row(self):
        for name in presets.names():
            preset = presets.get(name)
            self.assertEqual(presets.sha256(presets.preset_file(name)), preset.sha256)
            model = lgtsm_tf.from_preset(name)
            self.assertEqual(model.get_layer("conv1").feature.filters, preset.nf)
            self.assertEqual(model.dtype_policy.name, "float32")
            frames = np.random.default_rng(0).random((1, 3, 20, 28, 3), dtype=np.float32)
            masks = np.zeros((1, 3, 20, 28, 1), np.float32)
            masks[:, :, 6:14, 8:20] = 1
            out = np.asarray(model({"frames": frames, "masks": masks}))
            self.assertEqual(out.shape, frames.shape)
            self.assertTrue(np.all(np.isfinite(out)))
            self.assertAllEqual(out[masks[..., 0] == 0], frames[masks[..., 0] == 0])
            self.assertTrue(preset.training_command and preset.quality)

    def test_weights_in_the_repository_stay_under_20_mb(self):
        total = sum(os.path.getsize(presets.get(n).file) for n in presets.names())
        self.assertLessEqual(total, 20 * 2**20)


class PresetLookupTest(TestCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="presets_")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.file = os.path.join(self.dir, "tiny.keras")
        fill_model().save(self.file)
        self.preset = dataclasses.replace(TINY, filename=self.file,
                                          sha256=presets.sha256(self.file))

    @parameterized.parameters(("preset:lgtsm_nf16", "lgtsm_nf16"), ("preset:", ""),
                              ("lgtsm.keras", None), ("models/preset:x", None), (None, None))
    def test_preset_name(self, spec, expected):
        self.assertEqual(presets.preset_name(spec), expected)

    def test_from_preset_loads_the_checked_file(self):
        with registered(self.preset):
            model = lgtsm_tf.from_preset("tiny")
            self.assertEqual(model_path("preset:tiny"), self.file)
        self.assertAllEqual(np.concatenate([w.ravel() for w in model.get_weights()]),
                            np.concatenate([w.ravel() for w in fill_model().get_weights()]))

    def test_unknown_name_lists_the_presets(self):
        with registered(self.preset):
            with self.assertRaisesRegex(ValueError, r"unknown preset 'nope'; the presets are: "
                                                    r"tiny \(give one as preset:NAME"):
                lgtsm_tf.from_preset("nope")

    def test_damaged_file_is_refused_with_both_checksums(self):
        with open(self.file, "ab") as f:
            f.write(b"\0")
        with registered(self.preset):
            with self.assertRaisesRegex(ValueError, f"preset 'tiny': {self.file} has SHA-256 "
                                                    f"[0-9a-f]{{64}}, expected "
                                                    f"{self.preset.sha256} \\(the file is "
                                                    "damaged"):
                model_path("preset:tiny")

    def test_missing_file_says_reinstall(self):
        os.remove(self.file)
        with registered(self.preset):
            with self.assertRaisesRegex(ValueError, "its weights .* are missing \\(reinstall"):
                lgtsm_tf.load_preset("tiny")

    @parameterized.parameters(("preset:tiny", None, None, (4, 1)), ("preset:tiny", 8, None, (8, 1)),
                              ("preset:tiny", 2, 3, (2, 3)), ("g.keras", None, None, (16, 6)),
                              ("g.keras", 3, None, (3, 2)))
    def test_windowing(self, spec, window, overlap, expected):
        from lgtsm_tf.inference import windowing

        with registered(self.preset):
            self.assertEqual(windowing(spec, window, overlap), expected)

    def test_training_directory_windowing_file(self):
        from lgtsm_tf.inference import windowing

        run = os.path.join(self.dir, "run")
        os.makedirs(run)
        keras_file = os.path.join(run, "generator.keras")
        self.assertEqual(windowing(run), (16, 6))  # no file: the defaults
        with open(os.path.join(run, "inference.json"), "w") as f:
            f.write('{"window": 6, "overlap": 3}')
        for spec in (run, keras_file):
            self.assertEqual(windowing(spec), (6, 3))
            self.assertEqual(windowing(spec, 4), (4, 3))
        self.assertEqual(windowing(self.file), (16, 6))  # any other .keras: the defaults
        with open(os.path.join(run, "inference.json"), "w") as f:
            f.write('{"window": 0, "overlap": 3}')
        with self.assertRaisesRegex(ValueError, "inference.json: not a windowing file .*window "
                                                "must be an integer >= 1"):
            windowing(run)

    def test_from_path_uses_the_presets_window(self):
        with registered(self.preset):
            inpainter = VideoInpainter.from_path("preset:tiny")
            self.assertEqual((inpainter.window, inpainter.overlap), (4, 1))
            inpainter = VideoInpainter.from_path("preset:tiny", window=6)
            self.assertEqual((inpainter.window, inpainter.overlap), (6, 1))

    def test_table_has_mean_quality(self):
        with registered(self.preset):
            table = presets.table()
        self.assertIn("| `tiny` | lgtsm | 1 | none | 0 | 0.0 | 11.00 / - / 21.00 / 29.00 | MIT |",
                      table)
        with registered(dataclasses.replace(self.preset, network_quality={"box": 9.0,
                                                                          "cup": 8.0})):
            self.assertIn("| 11.00 / 8.50 / 21.00 / 29.00 |", presets.table())

    # ------------------------------------------------------------------ the CLIs' model flag

    def _clip(self):
        video, masks = os.path.join(self.dir, "in.mp4"), os.path.join(self.dir, "masks")
        frames = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
        vio.write_video(video, frames, 10, lossless=True)
        hole = np.zeros((6, 32, 32), np.uint8)
        hole[:, 8:20, 6:22] = 255
        vio.write_frame_folder(masks, hole)
        return video, masks

    def test_inpaint_without_model_uses_the_default_preset(self):
        video, masks = self._clip()
        output = os.path.join(self.dir, "out.mp4")
        with registered(self.preset, default="tiny"):
            code, out, err = run_inpaint_cli(f"--video={video}", f"--masks={masks}",
                                              f"--output={output}", "--lossless",
                                              "--precision=fp32", "--noprogress")
        self.assertEqual(code, 0, err)
        self.assertIn("model preset:tiny, windows of 4 frames (overlap 1), precision fp32 "
                      "(asked for)", out)
        expected = VideoInpainter(fill_model(), window=4, overlap=1).inpaint(
            vio.read_video(video)[0], vio.read_masks(masks))
        self.assertAllEqual(vio.read_video(output)[0], np.stack(list(expected)))

    def test_inpaint_precision_auto_is_the_default_and_printed(self):
        video, masks = self._clip()
        with mock.patch.object(cpu_features, "native_bf16_flags", return_value=("amx_bf16",)), \
                mock.patch.object(cpu_features, "has_gpu", return_value=False):
            code, out, err = run_inpaint_cli(f"--video={video}", f"--masks={masks}",
                                              f"--output={self.dir}/out.mp4",
                                              f"--model={self.file}", "--noprogress")
        self.assertEqual(code, 0, err)
        self.assertIn("precision bf16 (the CPU has native bf16 (amx_bf16))", out)

    def test_inpaint_bad_preset_fails_before_any_work(self):
        video, masks = self._clip()
        output = os.path.join(self.dir, "out.mp4")
        with registered(self.preset):
            code, _, err = run_inpaint_cli(f"--video={video}", f"--masks={masks}",
                                           f"--output={output}", "--model=preset:big")
        self.assertEqual(code, 1)
        self.assertEqual(err.strip().splitlines(), [
            "lgtsm-inpaint: error: --model=preset:big: unknown preset 'big'; the presets are: "
            "tiny (give one as preset:NAME, or a model path)"])
        self.assertFalse(os.path.exists(output))

    def test_export_savedmodel_takes_a_preset(self):
        from export import export_savedmodel
        from tests.testing import run_cli

        base = os.path.join(self.dir, "served")
        with registered(self.preset):
            code, out, err = run_cli(export_savedmodel, "lgtsm-export-savedmodel",
                                     "--model=preset:tiny", f"--output_dir={base}",
                                     "--version=1")
        self.assertEqual(code, 0, err)
        self.assertIn("verified", out)
        self.assertTrue(os.path.exists(os.path.join(base, "1", "saved_model.pb")))

    def test_export_onnx_takes_a_preset(self):
        from absl import app

        from export import export_onnx
        from tests.testing import run_cli

        output = os.path.join(self.dir, "tiny.onnx")
        with registered(self.preset):
            code, out, err = run_cli(export_onnx, "lgtsm-export-onnx", "--model=preset:tiny",
                                     f"--output={output}")
            self.assertEqual(code, 0, err)
            self.assertTrue(os.path.isfile(output))
            with self.assertRaisesRegex(app.UsageError, "give exactly one of --saved_model "
                                                        "and --model"):
                run_cli(export_onnx, "lgtsm-export-onnx", "--model=preset:tiny",
                        f"--saved_model={self.dir}", f"--output={output}.2.onnx")
        self.assertEqual(sorted(os.listdir(self.dir)), ["tiny.keras", "tiny.onnx"])

    def test_quality_benchmark_takes_a_preset(self):
        import io

        from benchmarks import quality

        video, _ = self._clip()
        with registered(self.preset), contextlib.redirect_stdout(io.StringIO()) as out:
            quality.main(["--clip", video, "--frames", "6", "--height", "32", "--width", "32",
                          "--baselines", "", "--model", "preset:tiny"])
            with self.assertRaisesRegex(ValueError, "--model=preset:nope: unknown preset"):
                quality.main(["--clip", video, "--frames", "6", "--height", "32", "--width",
                              "32", "--model", "preset:nope"])
        self.assertIn("preset:tiny: windows of 4 (overlap 1), precision fp32", out.getvalue())

    def test_init_from_a_bad_preset_is_a_flag_error(self):
        from absl import app, flags

        from trainers import train

        fv = flags.FlagValues()
        train.define_flags(fv)
        fv(["train.py", "--model_dir=" + os.path.join(self.dir, "run"),
            "--init_from=preset:nope", "--data=embedded"])
        with registered(self.preset):
            with self.assertRaisesRegex(app.UsageError, "--init_from=preset:nope: unknown preset "
                                                        "'nope'; the presets are: tiny"):
                train.validate_flags(fv)


class AutoPrecisionTest(TestCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="cpuinfo_")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    @parameterized.named_parameters(
        ("amx", ["fpu", "avx512f", "amx_bf16", "amx_tile", "avx512_bf16"], False, "bf16",
         "native bf16 (amx_bf16, avx512_bf16)"),
        ("avx512_bf16_only", ["fpu", "avx512f", "avx512_bf16"], False, "bf16",
         "native bf16 (avx512_bf16)"),
        ("epyc_without_bf16", ["fpu", "avx2", "avx512f"], False, "fp32", "no native bf16"),
        ("gpu", ["amx_bf16"], True, "fp32", "a GPU is used"))
    def test_choice(self, flags, gpu, expected, reason):
        precision, why = cpu_features.auto_precision(cpuinfo(self.dir, flags), gpu=gpu)
        self.assertEqual(precision, expected)
        self.assertIn(reason, why)

    def test_unreadable_cpuinfo_is_fp32(self):
        self.assertEqual(cpu_features.cpu_flags(os.path.join(self.dir, "missing")), ())
        self.assertEqual(cpu_features.auto_precision(os.path.join(self.dir, "missing"),
                                                     gpu=False)[0], "fp32")

    def test_arm_features_line(self):
        path = os.path.join(self.dir, "cpuinfo")
        with open(path, "w") as f:
            f.write("processor\t: 0\nFeatures\t: fp asimd bf16\n")
        self.assertEqual(cpu_features.cpu_flags(path), ("fp", "asimd", "bf16"))
        self.assertEqual(cpu_features.native_bf16_flags(path), ())

    @parameterized.parameters((("amx_bf16",), "bf16", "mixed_bfloat16"),
                              ((), "fp32", "float32"))
    def test_inpainter_auto_follows_the_cpu(self, native, expected, policy):
        with mock.patch.object(cpu_features, "native_bf16_flags", return_value=native), \
                mock.patch.object(cpu_features, "has_gpu", return_value=False):
            inpainter = VideoInpainter(fill_model(), precision="auto")
        self.assertEqual(inpainter.precision, expected)
        conv = [layer for layer in inpainter.model.layers
                if isinstance(layer, keras.layers.Conv3D)][0]
        self.assertEqual(conv.dtype_policy.name, policy)

    def test_fp32_reason(self):
        with mock.patch.object(cpu_features, "native_bf16_flags", return_value=()), \
                mock.patch.object(cpu_features, "has_gpu", return_value=False):
            inpainter = VideoInpainter(fill_model(), precision="auto")
        self.assertEqual((inpainter.precision, inpainter.precision_reason),
                         ("fp32", "the CPU has no native bf16 (no amx_bf16 or avx512_bf16)"))


class BuildPresetTest(TestCase):

    def test_bf16_training_dir_becomes_a_float32_file(self):
        from lgtsm_tf.presets import build

        folder = tempfile.mkdtemp(prefix="preset_build_")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        keras.config.set_dtype_policy("mixed_bfloat16")
        source = lgtsm_tf.build_generator("lgtsm", nf=4)
        keras.config.set_dtype_policy("float32")
        source.save(os.path.join(folder, "generator.keras"))
        with mock.patch.object(presets, "__file__", os.path.join(folder, "__init__.py")):
            path, size, digest = build.build(folder, "mine")
            with self.assertRaisesRegex(FileExistsError, "already exists"):
                build.build(folder, "mine")
        self.assertEqual(path, os.path.join(folder, "mine.keras"))
        self.assertEqual((size, digest), (os.path.getsize(path), presets.sha256(path)))
        built = keras.saving.load_model(path)
        self.assertEqual({layer.dtype_policy.name for layer in built.layers
                          if layer.weights}, {"float32"})
        for a, b in zip(source.get_weights(), built.get_weights()):
            self.assertAllEqual(a, b)

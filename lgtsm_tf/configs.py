"""Experiment configs: every training setting in one typed object (TF Model Garden's pattern).

    from lgtsm_tf import configs, training
    config = configs.get("recipe")                      # a named factory
    config = configs.replace(config, model={"nf": 32})  # overrides
    training.run(config, model_dir="runs/nf32")

An `ExperimentConfig` has six parts: `data`, `model`, `losses`, `optimizer`, `trainer` and
`runtime`. Every field has the name of the `lgtsm-train` / `trainers/train.py` flag that sets it
(`--nf` is `model.nf`), so error messages name the flag. The command line builds a config with
`from_flags`: the factory named by `--config` (default: `default`, the flags' own defaults), then
every flag that was given (directly or in a `--flagfile`) on top. `training.run` writes the whole
config to `model_dir/config.json`; a resumed run must have the same `ARCHITECTURE` fields and
prints the others that changed.

Factories (`FACTORIES`): `default`, `demo` (trainers/configs/demo.flags), `recipe` (the CPU
from-scratch recipe of the `lgtsm_nf16` preset, recipe.flags), `fvi_stage1` and `fvi_stage2`
(the paper's FVI training, fvi_stage1/2.flags). Each equals its flagfile (tested).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Callable, Dict, List, Optional, Tuple, Union

#: Frame height and width must be multiples of this (`lgtsm_tf.contract.SIZE_MULTIPLE`; not
#: imported from there so that configs are checked before TensorFlow loads).
SIZE_MULTIPLE = 4
#: VGG16 pools the frame three times before block4_conv3 (the perceptual and style losses).
VGG_MIN_SIZE = 8


@dataclasses.dataclass
class DataConfig:
    """Training and validation clips: where from, which masks, what size."""

    data: List[str] = dataclasses.field(default_factory=lambda: ["embedded"])
    val_data: List[str] = dataclasses.field(default_factory=lambda: ["embedded"])
    masks: str = "generated"  # "generated", "disk" or a folder of mask folders / videos
    mask_presets: List[str] = dataclasses.field(
        default_factory=lambda: ["object_like_middle", "rand_curve"])
    mask_scale: Union[str, float] = "auto"
    mask_area_range: Tuple[float, float] = (0.0, 1.0)
    invert_masks: bool = False
    clip_length: int = 7
    skip_short_videos: bool = False
    height: int = 180
    width: int = 320
    max_stride: int = 1
    batch_size: int = 5


@dataclasses.dataclass
class ModelConfig:
    """The networks and where their weights start."""

    variant: str = "lgtsm"
    nf: int = 64
    init: str = "scaled"  # "scaled" or "reference"
    d_nf: int = 64
    init_from: Optional[str] = None


@dataclasses.dataclass
class LossConfig:
    """Loss weights (`lgtsm_tf.losses.LossWeights`) and the GAN stage."""

    stage: str = "1"
    l1_weight: float = 1.0
    hole_l1_weight: float = 0.0
    valid_l1_weight: float = 0.0
    perceptual_weight: float = 1.0
    style_weight: float = 10.0
    adversarial_weight: Optional[float] = None  # None: 0 in stage 1, 1 in stage 2
    adversarial_loss: str = "lsgan"
    style_fold_batch: bool = True
    vgg_weights: Optional[str] = None

    @property
    def adversarial(self) -> float:
        """The TSMGAN weight in effect."""
        if self.adversarial_weight is None:
            return 1.0 if self.stage == "2" else 0.0
        return self.adversarial_weight


@dataclasses.dataclass
class OptimizerConfig:
    """Adam (amsgrad) learning rates and the generator's staircase decay."""

    lr: float = 1e-4
    d_lr: float = 1e-4
    lr_decay_steps: int = 0
    lr_decay_rate: float = 0.97


@dataclasses.dataclass
class TrainerConfig:
    """Schedule: steps, validation, checkpoints, verbosity, seed."""

    train_steps: int = 1000
    eval_every: int = 100
    eval_steps: int = 8
    checkpoint_every: int = 100
    verbose: int = 1
    seed: int = 0


@dataclasses.dataclass
class RuntimeConfig:
    """Where and at what precision it runs."""

    precision: str = "float32"  # a Keras dtype policy
    strategy: str = "default"  # "default", "mirrored" or "multi_worker"
    num_cpu_devices: int = 0


SECTIONS = {"data": DataConfig, "model": ModelConfig, "losses": LossConfig,
            "optimizer": OptimizerConfig, "trainer": TrainerConfig, "runtime": RuntimeConfig}

#: Fields a resumed run must repeat (they decide the checkpoint's variables).
ARCHITECTURE = ("variant", "nf", "d_nf", "stage", "adversarial_loss")


@dataclasses.dataclass
class ExperimentConfig:
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    losses: LossConfig = dataclasses.field(default_factory=LossConfig)
    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)
    runtime: RuntimeConfig = dataclasses.field(default_factory=RuntimeConfig)

    def as_dict(self) -> dict:
        """{"data": {...}, "model": {...}, ...} (JSON-ready)."""
        out = dataclasses.asdict(self)
        out["data"]["mask_area_range"] = list(out["data"]["mask_area_range"])
        return out

    def flat(self) -> dict:
        """{field: value} over all sections (field names are unique: the flag names)."""
        return {k: v for section in self.as_dict().values() for k, v in section.items()}

    def settings(self) -> dict:
        """The `ARCHITECTURE` fields."""
        flat = self.flat()
        return {name: flat[name] for name in ARCHITECTURE}

    def validate(self) -> "ExperimentConfig":
        """Raises ValueError naming the flag, its value and the rule for the first invalid field
        (paths must exist: the data, --masks, --init_from, --vgg_weights). Returns self."""
        _validate(self)
        return self


FIELDS: Dict[str, str] = {f.name: section for section, cls in SECTIONS.items()
                          for f in dataclasses.fields(cls)}


def from_dict(values: dict) -> ExperimentConfig:
    """The config of `as_dict()`'s output (sections may be missing or partial)."""
    unknown = sorted(set(values) - set(SECTIONS))
    if unknown:
        raise ValueError(f"unknown config sections {unknown}; expected {sorted(SECTIONS)}")
    return replace(ExperimentConfig(), **values)


def replace(config: ExperimentConfig, **sections) -> ExperimentConfig:
    """A copy of `config` with fields replaced: `replace(c, model={"nf": 32})`."""
    parts = {}
    for name, changes in sections.items():
        if name not in SECTIONS:
            raise ValueError(f"unknown config section {name!r}; expected {sorted(SECTIONS)}")
        allowed = {f.name for f in dataclasses.fields(SECTIONS[name])}
        bad = sorted(set(changes) - allowed)
        if bad:
            raise ValueError(f"config section {name!r} has no field(s) {bad}")
        if "mask_area_range" in changes:
            changes = {**changes, "mask_area_range": tuple(changes["mask_area_range"])}
        parts[name] = dataclasses.replace(getattr(config, name), **changes)
    return dataclasses.replace(config, **parts)


def override(config: ExperimentConfig, flat: dict) -> ExperimentConfig:
    """`config` with the fields in `flat` ({flag name: value}) replaced."""
    sections: Dict[str, dict] = {}
    for name, value in flat.items():
        if name not in FIELDS:
            raise ValueError(f"no config field {name!r}")
        sections.setdefault(FIELDS[name], {})[name] = value
    return replace(config, **sections)


# ----------------------------------------------------------------------------- factories

def default() -> ExperimentConfig:
    """The flags' defaults: the reference's FVI stage-1 setting at nf 64 on the embedded clips."""
    return ExperimentConfig()


def demo() -> ExperimentConfig:
    """trainers/configs/demo.flags: LGTSM nf 16, 64x96, 600 steps on the embedded clips
    (the main job; float32, no VGG losses)."""
    return override(default(), dict(
        data=["embedded"], val_data=["embedded"], variant="lgtsm", nf=16, init="scaled",
        clip_length=6, height=64, width=96, batch_size=4, max_stride=2,
        mask_presets=["object_like_small", "rand_curve"], mask_scale="auto",
        perceptual_weight=0.0, style_weight=0.0, l1_weight=1.0, hole_l1_weight=1.0,
        train_steps=600, eval_every=100, eval_steps=4, checkpoint_every=100, lr=1e-3,
        precision="float32", strategy="default"))


def recipe() -> ExperimentConfig:
    """trainers/configs/recipe.flags: the CPU from-scratch recipe of the `lgtsm_nf16` preset
    (nf 16, 96x160, 6-frame clips, L1 + hole L1, mixed_bfloat16) on `python -m
    lgtsm_tf.data.prepare`'s data in data/train."""
    return override(default(), dict(
        data=["data/train/train"], val_data=["data/train/validation"], variant="lgtsm",
        nf=16, init="scaled", clip_length=6, height=96, width=160, batch_size=4, max_stride=2,
        mask_presets=["object_like_small", "rand_curve"], mask_scale="auto",
        mask_area_range=(0.05, 0.5), perceptual_weight=0.0, style_weight=0.0, l1_weight=1.0,
        hole_l1_weight=1.0, lr=5e-4, train_steps=20000, eval_every=250, eval_steps=8,
        checkpoint_every=250, precision="mixed_bfloat16", strategy="default", verbose=2))


def fvi_stage1() -> ExperimentConfig:
    """trainers/configs/fvi_stage1.flags: the paper's stage 1 on FVI (nf 64, 180x320, L1 +
    perceptual + style, mixed_float16, MirroredStrategy)."""
    return override(default(), dict(
        data=["datasets/FVI/Train/JPEGImages"], val_data=["datasets/FVI/Test/JPEGImages"],
        masks="generated", mask_presets=["object_like_middle", "rand_curve"], variant="lgtsm",
        nf=64, clip_length=7, height=180, width=320, batch_size=5, lr=1e-4, l1_weight=1.0,
        perceptual_weight=1.0, style_weight=10.0, stage="1", train_steps=300000,
        eval_every=2000, eval_steps=50, checkpoint_every=2000, precision="mixed_float16",
        strategy="mirrored"))


def fvi_stage2() -> ExperimentConfig:
    """trainers/configs/fvi_stage2.flags: stage 1 plus the TSMGAN loss, from stage 1's
    generator."""
    return override(fvi_stage1(), dict(
        stage="2", adversarial_weight=1.0, d_nf=64, d_lr=1e-4,
        init_from="runs/fvi_lgtsm_stage1/generator.keras", train_steps=100000))


FACTORIES: Dict[str, Callable[[], ExperimentConfig]] = {
    "default": default, "demo": demo, "recipe": recipe, "fvi_stage1": fvi_stage1,
    "fvi_stage2": fvi_stage2}


def get(name: str) -> ExperimentConfig:
    """The config of factory `name`; ValueError listing the factories if there is none."""
    if name not in FACTORIES:
        raise ValueError(f"unknown config {name!r}; the configs are: {', '.join(FACTORIES)}")
    return FACTORIES[name]()


# ----------------------------------------------------------------------------- flags

def parse_mask_scale(text) -> Union[str, float]:
    """--mask_scale as "auto" or a float > 0 (ValueError naming the flag otherwise)."""
    if text == "auto":
        return "auto"
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"--mask_scale={text}: must be 'auto' or a finite number > 0")
    return value


def parse_area_range(values) -> Tuple[float, float]:
    """--mask_area_range as (lo, hi) with 0 <= lo < hi <= 1."""
    text = ",".join(str(v) for v in values)
    try:
        lo, hi = (float(v) for v in values)
    except (TypeError, ValueError):
        lo = hi = math.nan
    if not (0 <= lo < hi <= 1):
        raise ValueError(f"--mask_area_range={text}: must be lo,hi with 0 <= lo < hi <= 1")
    return lo, hi


def from_flags(flag_values) -> ExperimentConfig:
    """The config of parsed absl flags: the factory of `--config` (when defined and given),
    then every config flag that was given on top (without `--config`, every flag's value,
    given or default). ValueError names a flag whose value does not parse."""
    fv = flag_values
    base_name = fv["config"].value if "config" in fv else None
    base = get(base_name or "default")
    given = {name: fv[name].value for name in FIELDS
             if name in fv and (fv[name].present or not base_name)}
    if "mask_scale" in given:
        given["mask_scale"] = parse_mask_scale(given["mask_scale"])
    if "mask_area_range" in given:
        given["mask_area_range"] = parse_area_range(given["mask_area_range"])
    return override(base, given)


# ----------------------------------------------------------------------------- checks

def _show(name, value):
    return f"--{name}={value:g}" if isinstance(value, float) else f"--{name}={value}"


def _validate(config: ExperimentConfig) -> None:
    v = config.flat()
    data = config.data
    if not data.data:
        raise ValueError("--data is empty: give 'embedded' and/or video files, frame folders "
                         "or dataset roots")
    for name in ("data", "val_data"):
        entries = v[name]
        for entry in entries:
            if entry != "embedded" and not os.path.exists(entry):
                which = f" {entry!r}:" if len(entries) > 1 else ""
                raise ValueError(f"--{name}={','.join(entries)}:{which} no such file or "
                                 "directory")
    if data.masks not in ("generated", "disk") and not os.path.exists(data.masks):
        raise ValueError(f"--masks={data.masks}: must be 'generated', 'disk' or an existing "
                         "folder of mask folders / mask videos")
    if data.masks == "generated" and not data.mask_presets:
        raise ValueError("--mask_presets is empty: give one or more lgtsm_tf.masks.PRESETS "
                         "names")
    if data.masks == "generated":
        parse_mask_scale(data.mask_scale)
        parse_area_range(data.mask_area_range)
    for name, minimum in (("clip_length", 1), ("max_stride", 1), ("batch_size", 1), ("seed", 0),
                          ("nf", 1), ("d_nf", 1), ("lr_decay_steps", 0), ("num_cpu_devices", 0),
                          ("train_steps", 1), ("eval_every", 1), ("eval_steps", 1),
                          ("checkpoint_every", 1), ("verbose", 0)):
        if v[name] < minimum:
            raise ValueError(f"{_show(name, v[name])}: must be an integer >= {minimum}")
    if v["verbose"] > 2:
        raise ValueError(f"--verbose={v['verbose']}: must be 0, 1 or 2")
    for name in ("height", "width"):
        if v[name] < SIZE_MULTIPLE or v[name] % SIZE_MULTIPLE:
            raise ValueError(f"--{name}={v[name]}: must be a positive multiple of "
                             f"{SIZE_MULTIPLE}")
    weights = ("l1_weight", "hole_l1_weight", "valid_l1_weight", "perceptual_weight",
               "style_weight", "adversarial_weight")
    for name in weights:
        if v[name] is not None:
            _check_float(name, v[name], 0.0, strict=False)
    if not any(v[name] for name in weights[:-1]) and not config.losses.adversarial:
        raise ValueError("every loss weight is 0 (--" + ", --".join(weights)
                         + "): at least one must be > 0")
    losses = config.losses
    needs_vgg = losses.perceptual_weight > 0 or losses.style_weight > 0
    if needs_vgg and min(data.height, data.width) < VGG_MIN_SIZE:
        name = "height" if data.height < VGG_MIN_SIZE else "width"
        raise ValueError(f"--{name}={v[name]}: must be >= {VGG_MIN_SIZE} when "
                         "--perceptual_weight or --style_weight is > 0 (VGG16 pools the frames "
                         "three times)")
    if needs_vgg and losses.vgg_weights and not os.path.isfile(losses.vgg_weights):
        raise ValueError(f"--vgg_weights={losses.vgg_weights}: no such file")
    for name in ("lr", "d_lr"):
        _check_float(name, v[name], 0.0, strict=True)
    _check_float("lr_decay_rate", v["lr_decay_rate"], 0.0, strict=True)
    if v["lr_decay_rate"] > 1:
        raise ValueError(f"{_show('lr_decay_rate', v['lr_decay_rate'])}: must be a finite "
                         "number in (0, 1]")
    init_from = config.model.init_from
    if init_from and init_from.startswith("preset:"):
        from lgtsm_tf.inference import model_path  # imports TensorFlow: only for presets

        try:
            model_path(init_from)
        except ValueError as e:
            raise ValueError(f"--init_from={init_from}: {e}") from None
    elif init_from and not os.path.exists(init_from):
        raise ValueError(f"--init_from={init_from}: no such file or directory")


def _check_float(name, value, minimum, strict):
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        raise ValueError(f"{_show(name, value)}: must be a finite number "
                         f"{'>' if strict else '>='} {minimum:g}")


# ----------------------------------------------------------------------------- model_dir

CONFIG_FILE = "config.json"
#: The `ARCHITECTURE` fields alone (read by `lgtsm_tf.models.load` for a running directory).
SETTINGS_FILE = "settings.json"


def check_model_dir(model_dir) -> None:
    """ValueError unless `model_dir` is given and is a directory or does not exist yet."""
    if not model_dir:
        raise ValueError("--model_dir is required (checkpoints, logs and the exported "
                         "generator go there)")
    if os.path.exists(model_dir) and not os.path.isdir(model_dir):
        raise ValueError(f"--model_dir={model_dir}: exists and is not a directory")


def saved_settings(model_dir: str) -> Optional[dict]:
    """The architecture settings of the run in `model_dir` (config.json, else the older
    settings.json), None if it has none; ValueError if the file cannot be read."""
    for name in (CONFIG_FILE, SETTINGS_FILE):
        path = os.path.join(model_dir, name)
        if not os.path.exists(path):
            continue
        try:
            with open(path) as f:
                values = json.load(f)
        except (OSError, ValueError) as e:
            raise ValueError(f"{path}: cannot read the run's settings: {e}") from e
        if name == CONFIG_FILE:
            values = {k: v for section in values.values() if isinstance(section, dict)
                      for k, v in section.items()}
        return {k: values.get(k) for k in ARCHITECTURE}
    return None


def resume_changes(model_dir: str, config: ExperimentConfig) -> Dict[str, tuple]:
    """{field: (saved, now)} for the non-architecture fields that differ from the run's
    config.json ({} without one)."""
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        saved = from_dict(json.load(f)).flat()
    return {k: (saved[k], v) for k, v in config.flat().items()
            if k not in ARCHITECTURE and saved[k] != v}


def write(model_dir: str, config: ExperimentConfig) -> None:
    """Writes model_dir/config.json (the whole config; replaced on every start, so it says
    what the latest start ran with) and settings.json (the architecture, written once),
    atomically."""
    from lgtsm_tf import atomic

    os.makedirs(model_dir, exist_ok=True)
    atomic.write_text(os.path.join(model_dir, CONFIG_FILE),
                      json.dumps(config.as_dict(), indent=1) + "\n")
    settings = os.path.join(model_dir, SETTINGS_FILE)
    if not os.path.exists(settings):
        atomic.write_text(settings, json.dumps(config.settings(), indent=1))

"""Trained generators that ship with the package, loaded by name (keras-hub's `from_preset`).

    import lgtsm_tf
    generator = lgtsm_tf.from_preset("lgtsm_nf16")      # a keras.Model, float32
    lgtsm_tf.presets.names()                            # what is there

Everywhere a model path is accepted (`lgtsm-inpaint --model`, the export CLIs,
`VideoInpainter.from_path`, `trainers/train.py --init_from`), `preset:NAME` selects a preset;
`lgtsm-inpaint` without `--model` uses `DEFAULT`. The weights live beside this file
(`<name>.keras`, float32) and are checked against the SHA-256 in `PRESETS` before loading.

Each preset records how it was made (data-prep command, flagfile, steps, CPU time) and what it
scored on `benchmarks/quality.py`'s real clips; `table()` renders this as Markdown (the README's
preset table is its output).
"""

import dataclasses
import hashlib
import os
from typing import Dict, Tuple

#: `--model` values of this form name a preset.
PREFIX = "preset:"


@dataclasses.dataclass(frozen=True)
class Preset:
    """One shipped generator and its provenance.

    quality: hole PSNR (dB) per `benchmarks/quality.py` clip, for the preset as
    `lgtsm-inpaint` runs it (temporal propagation, then the network) and for OpenCV Telea and
    the temporal-copy baseline on the same masks: {"box": (preset, telea, temporal)}.
    network_quality: the same for the network alone (`--nopropagate`): {"box": psnr}.
    """

    name: str
    filename: str  # beside this module (or an absolute path)
    description: str
    variant: str
    nf: int
    sha256: str
    training_data: str
    training_command: str
    steps: int
    train_hours: float  # wall-clock hours on a 2-core Intel Xeon with AMX
    quality: Dict[str, Tuple[float, float, float]]
    weights_licence: str
    data_licence: str
    network_quality: Dict[str, float] = dataclasses.field(default_factory=dict)
    #: Inference window and overlap (frames): the training clip length works best; a
    #: T=6-trained model loses ~1 dB hole PSNR in 16-frame windows.
    window: int = 16
    overlap: int = 6

    @property
    def file(self) -> str:
        return os.path.join(os.path.dirname(os.path.abspath(__file__)), self.filename)


PRESETS: Dict[str, Preset] = {}

#: The preset `lgtsm-inpaint` and the main job use when no model is given.
DEFAULT = "lgtsm_nf16"


def _register(preset: Preset) -> None:
    PRESETS[preset.name] = preset


_register(Preset(
    name="lgtsm_nf16",
    filename="lgtsm_nf16.keras",
    description="LGTSM, nf 16 (0.76 M parameters), stage 1 (L1 + hole L1), trained from scratch "
                "on a CPU: 9,577 steps on 6-frame clips at 96x160, 2,276 at 192x320, then 1,107 "
                "on 8-frame clips at 128x224 with still-camera videos added",
    variant="lgtsm",
    nf=16,
    sha256="6a26dd1df528ded62982f609f5a9ae72e546cc2c68c3c0c489f4266eaacf7e54",
    training_data="`python -m lgtsm_tf.data.prepare` (21 photographs, moving and still camera; "
                  "real footage)",
    training_command="bash trainers/configs/lgtsm_nf16_preset.sh",
    steps=12960,
    train_hours=3.6,
    # benchmarks/results/quality-preset-lgtsm_nf16-propagation.md (fp32, 8-frame windows)
    quality={"box": (38.33, 24.87, 38.20), "cup": (32.97, 25.91, 28.11),
             "tree": (23.23, 20.61, 24.08)},
    network_quality={"box": 24.64, "cup": 27.28, "tree": 20.21},
    weights_licence="GPL-2.0-or-later (conservative: 12 of the 21 training photographs are "
                    "GPL-2+)",
    data_licence="GPL-2+, public domain, CC0, BSD-3-Clause: data/train/LICENSES.md",
    window=8,
    overlap=4,
))


def names():
    """The preset names, sorted."""
    return sorted(PRESETS)


def preset_name(spec):
    """The preset name in a `--model` value `preset:NAME`, else None (a path)."""
    spec = os.fspath(spec) if spec is not None else None
    if isinstance(spec, str) and spec.startswith(PREFIX):
        return spec[len(PREFIX):]
    return None


def get(name: str) -> Preset:
    """The `Preset` called `name`; ValueError listing the presets if there is none."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; the presets are: {', '.join(names())} "
                         f"(give one as preset:NAME, or a model path)")
    return PRESETS[name]


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def preset_file(name: str) -> str:
    """The verified path of preset `name`'s weights: ValueError if the name is unknown, the file
    is missing (an install without package data) or its checksum differs (a damaged file)."""
    preset = get(name)
    if not os.path.isfile(preset.file):
        raise ValueError(f"preset {name!r}: its weights {preset.file} are missing (reinstall "
                         f"lgtsm-tf; a source checkout has them under lgtsm_tf/presets/)")
    actual = sha256(preset.file)
    if actual != preset.sha256:
        raise ValueError(f"preset {name!r}: {preset.file} has SHA-256 {actual}, expected "
                         f"{preset.sha256} (the file is damaged or was replaced)")
    return preset.file


def from_preset(name: str = DEFAULT):
    """Preset `name`'s generator: a float32 `keras.Model` taking {"frames", "masks"}
    ([B, T, H, W, 3] in [0, 1] and [B, T, H, W, 1], 1 = hole; H and W multiples of 4) and
    returning the composited frames [B, T, H, W, 3] in [0, 1]."""
    from lgtsm_tf.inference import load_model

    return load_model(PREFIX + name)


load_preset = from_preset


def table() -> str:
    """The presets as a Markdown table (hole PSNR: mean over the clips, lgtsm-inpaint / the
    network alone / Telea / temporal copy)."""
    rows = ["| preset | variant | nf | training | steps | hours (2 cores) | hole PSNR dB "
            "(lgtsm-inpaint / network alone / Telea / temporal copy) | weights licence |",
            "|---|---|---:|---|---:|---:|---|---|"]
    for name in names():
        p = PRESETS[name]
        means = [sum(v[i] for v in p.quality.values()) / len(p.quality) for i in range(3)]
        alone = (f"{sum(p.network_quality.values()) / len(p.network_quality):.2f}"
                 if p.network_quality else "-")
        rows.append(f"| `{name}` | {p.variant} | {p.nf} | {p.training_data} | {p.steps} | "
                    f"{p.train_hours:.1f} | {means[0]:.2f} / {alone} / {means[1]:.2f} / "
                    f"{means[2]:.2f} | {p.weights_licence} |")
    return "\n".join(rows)

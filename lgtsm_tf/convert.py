"""Load the authors' PyTorch checkpoints (Free-Form-Video-Inpainting, LGTSM branch) into Keras.

`load_reference_generator` / `load_reference_discriminator` build our model for the variant and
copy the reference weights into it so that it computes exactly what the reference computes:
  * 2D/TSM convolutions use the raw weights (`layer.weight` == `weight_orig`): the reference's
    spectral norm has no effect there;
  * 3D convolutions keep real spectral norm with the stored `weight_u`/`weight_v` (eval mode);
  * the learnable shift's `pre_shift_conv` / `post_shift_conv` kernels [1, 1, 3, 1, 1] become
    groups 0 and 1 of `LearnableTemporalShift.kernel`;
  * PyTorch layouts [O, I, kh, kw] / [O, I, kt, kh, kw] become [kh, kw, I, O] / [kt, kh, kw, I, O].
Masks: the reference takes 1 = known; our models take 1 = hole and convert internally.

A source is a mapping of state_dict names to arrays, an `.npz`, or a PyTorch checkpoint
(`.pth`/`.pt`/`.tar`/`.ckpt`, read with torch if it is installed). A top-level `state_dict` key
and the prefixes `module.`, `generator.`, `temporal_discriminator.` and `coarse_net.` are
handled. Unknown or missing keys and shape mismatches raise one `ValueError` listing them.
"""

import os

import numpy as np

from lgtsm_tf.models import build_discriminator, build_generator
from lgtsm_tf.models.discriminator import DISCRIMINATOR_LAYERS
from lgtsm_tf.models.generator import GENERATOR_LAYERS
from lgtsm_tf.models.variants import get_variant

TORCH_SUFFIXES = (".pth", ".pt", ".tar", ".ckpt", ".pth.tar")
SHIFT_KEYS = ("learnableTSM.pre_shift_conv.conv.weight", "learnableTSM.post_shift_conv.conv.weight")


# ----------------------------------------------------------------------------- reading sources

def _torch_load(path):
    try:
        import torch
    except ImportError as e:
        raise ImportError(
            f"{path}: reading a PyTorch checkpoint needs torch (pip install 'lgtsm-tf[torch]'); "
            f"or save its state_dict as .npz elsewhere and pass that") from e
    # weights_only unpickling never runs code from the file. The authors' trainer also pickles
    # its own objects (logger, config classes); they are replaced by inert stand-ins.
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        stand_ins = [(type(name.rsplit(".", 1)[-1], (_OpaqueObject,), {}), name)
                     for name in unsafe]
        with torch.serialization.safe_globals(stand_ins):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(f"{path}: cannot read PyTorch checkpoint: {e}") from e


class _OpaqueObject:
    """Inert stand-in for a non-tensor object pickled in a checkpoint."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


def _to_numpy(value):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def read_state_dict(source):
    """A flat {name: float32 ndarray} from a mapping, an .npz or a PyTorch checkpoint."""
    origin = "state_dict"
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        origin = path
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such checkpoint")
        if path.endswith(".npz"):
            try:
                with np.load(path) as data:
                    source = {k: data[k] for k in data.files}
            except Exception as e:
                raise ValueError(f"{path}: cannot read .npz: {e}") from e
        elif path.endswith(TORCH_SUFFIXES):
            source = _torch_load(path)
        else:
            raise ValueError(f"{path}: unknown checkpoint type; expected .npz or one of "
                             f"{', '.join(TORCH_SUFFIXES)}")
    if not hasattr(source, "keys"):
        raise ValueError(f"{origin}: expected a mapping of parameter names to arrays, "
                         f"got {type(source).__name__}")
    if "state_dict" in source and hasattr(source["state_dict"], "keys"):
        source = source["state_dict"]
    state = {}
    for key, value in source.items():
        if hasattr(value, "keys"):
            raise ValueError(f"{origin}: entry {key!r} is a nested mapping, not an array")
        state[str(key)] = _to_numpy(value).astype(np.float32)
    return state


def _strip_prefix(state, prefix):
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def select_component(state, component):
    """The entries of one network: strips `module.`, keeps `<component>.` entries if any."""
    while state and all(k.startswith("module.") for k in state):
        state = _strip_prefix(state, "module.")
    if any(k.startswith(component + ".") for k in state):
        state = _strip_prefix(state, component + ".")
    return state


# ----------------------------------------------------------------------------- weight mapping

class _Loader:
    """Consumes state_dict entries into model variables, recording every problem."""

    def __init__(self, state):
        self.state = state
        self.used = set()
        self.missing = []
        self.mismatched = []
        self.conflicts = []

    def take(self, prefix, aliases, required=True):
        """The first present of prefix + alias; all present aliases are consumed and must agree."""
        found = [prefix + a for a in aliases if prefix + a in self.state]
        self.used.update(found)
        if not found:
            if required:
                self.missing.append(prefix + aliases[0])
            return None
        value = self.state[found[0]]
        for other in found[1:]:
            if self.state[other].shape != value.shape or not np.array_equal(self.state[other], value):
                self.conflicts.append(f"{found[0]} != {other}")
        return value

    def assign(self, variable, value, key):
        if value is None:
            return
        if tuple(variable.shape) != value.shape:
            self.mismatched.append(f"{key}: checkpoint {value.shape}, model {tuple(variable.shape)}")
            return
        variable.assign(value)

    def check(self, what):
        unknown = sorted(set(self.state) - self.used)
        problems = []
        for title, items in (("missing keys", self.missing), ("unknown keys", unknown),
                             ("shape mismatches", self.mismatched),
                             ("aliased entries that differ", self.conflicts)):
            if items:
                shown = "\n    ".join(items[:40])
                more = f"\n    ... and {len(items) - 40} more" if len(items) > 40 else ""
                problems.append(f"  {title} ({len(items)}):\n    {shown}{more}")
        if problems:
            raise ValueError(f"cannot load {what}:\n" + "\n".join(problems))


def _kernel_from_torch(weight):
    """[O, I, k...] -> [k..., I, O]."""
    rank = weight.ndim
    return np.transpose(weight, tuple(range(2, rank)) + (1, 0))


def _sn_v_from_torch(v, weight):
    """PyTorch's v indexes the flattened (I, k...) axes; ours the flattened (k..., I) axes."""
    in_and_kernel = weight.shape[1:]
    rank = len(in_and_kernel)
    return np.transpose(v.reshape(in_and_kernel), tuple(range(1, rank)) + (0,)).reshape(-1)


def recover_sn_v(weight_orig, weight_u, normalized_weight):
    """v for a spectral-norm state saved without `weight_v` (old PyTorch), as PyTorch does it.

    Solves for the v with W v = sigma u, where sigma = mean(weight_orig / normalized_weight).
    """
    w = weight_orig.reshape(weight_orig.shape[0], -1).astype(np.float64)
    u = weight_u.astype(np.float64)
    sigma = np.mean(weight_orig / normalized_weight)
    v = np.linalg.pinv(w.T @ w) @ w.T @ u
    return (v * (sigma / (u @ (w @ v)))).astype(np.float32)


def _load_conv(loader, layer, prefix, shift):
    """One reference conv (`featureConv`/`gatingConv` or a discriminator conv) into `layer`."""
    if layer.spectral_norm:
        weight = loader.take(prefix, ("weight_orig",))
        u = loader.take(prefix, ("weight_u",))
        v = loader.take(prefix, ("weight_v",), required=False)
        if v is None and weight is not None and u is not None:
            normalized = loader.take(prefix, ("weight",))
            if normalized is not None:
                v = recover_sn_v(weight, u, normalized)
                loader.missing = [m for m in loader.missing if m != prefix + "weight_v"]
        loader.assign(layer.sn_u, u, prefix + "weight_u")
        if v is not None and weight is not None:
            loader.assign(layer.sn_v, _sn_v_from_torch(v, weight), prefix + "weight_v")
    else:
        weight = loader.take(prefix, ("layer.weight", "weight_orig", "weight"))
        # The reference keeps SN's power-iteration state in its 2D convs, where SN is a no-op.
        loader.take(prefix, ("weight_u",), required=False)
        loader.take(prefix, ("weight_v",), required=False)
    if weight is not None:
        loader.assign(layer.kernel, _kernel_from_torch(weight), prefix + "weight")
    loader.assign(layer.bias, loader.take(prefix, ("layer.bias", "bias")), prefix + "bias")
    if getattr(layer, "shift", None) is not None:
        taps = [loader.take(prefix, (key,), required=shift == "learnable") for key in SHIFT_KEYS]
        if all(t is not None for t in taps):
            if layer.shift.shift_groups != 2 or layer.shift.per_channel:
                loader.mismatched.append(f"{prefix}learnableTSM: the reference has 2 shared groups")
            else:
                kernel = np.stack([t.reshape(-1) for t in taps], axis=-1)
                loader.assign(layer.shift.kernel, kernel.reshape(layer.shift.kernel.shape),
                              prefix + "learnableTSM")


def _infer_nf(state, conv1_prefix):
    for alias in ("layer.weight", "weight_orig", "weight"):
        if conv1_prefix + alias in state:
            return int(state[conv1_prefix + alias].shape[0])
    raise ValueError(f"cannot infer nf: no {conv1_prefix}weight in the checkpoint "
                     f"(first keys: {sorted(state)[:5]})")


def load_reference_generator(source, variant="lgtsm", nf=None, **build_kwargs):
    """A Keras generator with the reference generator's weights.

    Args:
      source: mapping name -> array, path to an .npz, or a PyTorch checkpoint path.
      variant: "lgtsm", "gtsm", "2d" or "3d".
      nf: base channels; None reads it from the checkpoint.
      build_kwargs: further `build_generator` arguments (e.g. `name`).
    Returns:
      The model from `build_generator(variant, nf)` (inputs frames in [0, 1], masks 1 = hole).
    """
    get_variant(variant)
    state = select_component(read_state_dict(source), "generator")
    state = select_component(state, "coarse_net")
    if nf is None:
        nf = _infer_nf(state, "downsample_module.conv1.featureConv.")
    model = build_generator(variant, nf=nf, **build_kwargs)
    loader = _Loader(state)
    shift = get_variant(variant)["temporal_shift"]
    for name, *_, upsample in GENERATOR_LAYERS:
        module = "upsample_module" if name.startswith(("deconv", "conv9", "conv10", "conv11")) \
            else "downsample_module"
        layer = model.get_layer(name)
        prefix = f"{module}.{name}."
        if upsample:
            layer, prefix = layer.conv, prefix + "conv."
        _load_conv(loader, layer.feature, prefix + "featureConv.", shift)
        _load_conv(loader, layer.gating, prefix + "gatingConv.", shift)
    loader.check(f"reference {variant} generator (nf={nf}) from {_describe(source)}")
    return model


def load_reference_discriminator(source, variant="lgtsm", nf=None, **build_kwargs):
    """A Keras temporal PatchGAN discriminator with the reference discriminator's weights.

    Same arguments as `load_reference_generator`; entries under `temporal_discriminator.` are
    used when the source is a whole training checkpoint.
    """
    get_variant(variant)
    state = select_component(read_state_dict(source), "temporal_discriminator")
    if nf is None:
        nf = _infer_nf(state, "conv1.featureConv.")
    model = build_discriminator(variant, nf=nf, **build_kwargs)
    loader = _Loader(state)
    shift = get_variant(variant)["temporal_shift"]
    for name, *_ in DISCRIMINATOR_LAYERS:
        _load_conv(loader, model.get_layer(name), f"{name}.featureConv.", shift)
    loader.check(f"reference {variant} discriminator (nf={nf}) from {_describe(source)}")
    return model


def _describe(source):
    return os.fspath(source) if isinstance(source, (str, os.PathLike)) else "the given state_dict"

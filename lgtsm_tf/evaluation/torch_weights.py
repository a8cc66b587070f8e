"""Shared helpers for the optional PyTorch networks (LPIPS, I3D): importing torch, reading files."""

import os


def import_torch(what: str, flag: str):
    """Returns the torch module, or raises ImportError saying which flag needs it."""
    try:
        import torch  # noqa: PLC0415 (optional dependency)
    except ImportError as e:
        raise ImportError(
            f"{flag} was given but PyTorch is not importable ({e}); {what} runs the reference "
            "network in PyTorch: install it with `pip install \"lgtsm-tf[torch]\"` or drop "
            f"{flag}") from None
    return torch


def load_state_dict(path: str, flag: str) -> dict:
    """Reads a PyTorch weights file into a flat {name: tensor} dict (no code is run).

    Accepts a bare state_dict or a checkpoint with a "state_dict"/"model"/"net" entry; strips a
    leading "module." (DataParallel). Raises FileNotFoundError / ValueError naming the file.
    """
    torch = import_torch("this metric", flag)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file ({flag})")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 (corrupt, not a torch file, pickled code objects)
        raise ValueError(f"{path}: cannot read PyTorch weights ({flag}): "
                         f"{type(e).__name__}: {e}") from None
    for key in ("state_dict", "model", "net"):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
            break
    if not isinstance(data, dict) or not all(torch.is_tensor(v) for v in data.values()):
        raise ValueError(f"{path}: not a PyTorch state_dict of tensors ({flag})")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in data.items()}


def check_keys(path: str, flag: str, model, state: dict, optional_prefixes=(),
               ignorable_missing=("num_batches_tracked",)) -> None:
    """Loads `state` into `model` strictly, except for the tolerated keys; clear errors."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state
               and not k.endswith(ignorable_missing) and not k.startswith(optional_prefixes)]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k}: file {tuple(state[k].shape)} vs network {tuple(expected[k].shape)}"
              for k in state if k in expected and tuple(state[k].shape) != tuple(expected[k].shape)]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} key(s): {', '.join(missing[:8])}"
                        + (" ..." if len(missing) > 8 else ""))
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} key(s): {', '.join(unexpected[:8])}"
                        + (" ..." if len(unexpected) > 8 else ""))
    if shapes:
        problems.append("shape mismatch: " + "; ".join(shapes[:8]))
    if problems:
        raise ValueError(f"{path}: weights do not fit the network ({flag}): "
                         + "; ".join(problems))
    model.load_state_dict({k: v for k, v in state.items()}, strict=False)

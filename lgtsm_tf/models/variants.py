"""The network variants as data: variant name -> how its convolutions are built.

lgtsm: learnable gated temporal shift (the paper's model, Chang et al. BMVC 2019).
gtsm:  gated temporal shift with the shift fixed (the reference's `fixed: true`, frozen taps).
2d:    gated 2D convolutions, no temporal information (ablation).
3d:    3D gated convolutions with real spectral normalisation (the FFVI baseline, no skips).
"""

VARIANTS = {
    "lgtsm": {"conv": "2d", "temporal_shift": "learnable", "spectral_norm": False},
    "gtsm": {"conv": "2d", "temporal_shift": "fixed", "spectral_norm": False},
    "2d": {"conv": "2d", "temporal_shift": "none", "spectral_norm": False},
    "3d": {"conv": "3d", "temporal_shift": None, "spectral_norm": True},
}


def get_variant(variant):
    """The settings of a variant; a clear error lists the known names."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
    return VARIANTS[variant]

"""Fréchet distance between Gaussians fitted to two feature sets (FID / VFID), numpy + scipy."""

import math
import warnings

import numpy as np
from scipy import linalg


def gaussian(features) -> tuple:
    """(mean [D], covariance [D, D]) of features [N, D], N >= 2 (unbiased covariance)."""
    x = np.asarray(features, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need features [N, D] with N >= 2, got shape {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """d^2 = ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    The matrix square root is scipy's `sqrtm`; if it is not finite (a near-singular product,
    usual with fewer samples than dimensions) `eps` is added to both diagonals and it is
    recomputed; an imaginary part from rounding is dropped (a large one raises ValueError).
    This is the standard FID computation (Heusel et al. 2017; the one the video-inpainting
    evaluations call for VFID).
    """
    mu1 = np.atleast_1d(np.asarray(mu1, np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, np.float64))
    s1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    s2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise ValueError(f"shape mismatch: means {mu1.shape} vs {mu2.shape}, covariances "
                         f"{s1.shape} vs {s2.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():  # singular products are expected with few videos
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(s1 @ s2)
        if not np.isfinite(root).all():
            offset = np.eye(s1.shape[0]) * eps
            root = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(root):
        if not np.allclose(np.diagonal(root).imag, 0, atol=1e-3):
            raise ValueError(f"matrix square root has an imaginary part of "
                             f"{np.max(np.abs(root.imag)):.3g}")
        root = root.real
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(root))
    return value if math.isfinite(value) else math.nan


def feature_distance(real, fake) -> float:
    """Fréchet distance between the Gaussians of feature sets real [N, D] and fake [M, D].

    Same value as `frechet_distance(*gaussian(real), *gaussian(fake))` (unbiased covariances),
    computed exactly from the centred feature matrices X (N x D) and Y (M x D):
    tr((S1 S2)^(1/2)) is the sum of the singular values of X Y^T / sqrt((N-1)(M-1)), because the
    non-zero eigenvalues of S1 S2 are those of that matrix times its transpose. This costs
    O(N M D) instead of a D x D matrix square root (seconds for D = 1024 on a CPU) and avoids
    the inaccuracy of `sqrtm` on the singular products that fewer videos than feature
    dimensions give (the usual case for VFID: 50-90 test videos, 1024 I3D features); results
    agree with the reference's sqrtm route up to that rounding.
    """
    x = np.asarray(real, np.float64)
    y = np.asarray(fake, np.float64)
    for name, f in (("real", x), ("fake", y)):
        if f.ndim != 2 or f.shape[0] < 2:
            raise ValueError(f"need {name} features [N, D] with N >= 2, got shape {f.shape}")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"feature sizes differ: {x.shape[1]} vs {y.shape[1]}")
    mu1, mu2 = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - mu1, y - mu2
    n, m = x.shape[0] - 1, y.shape[0] - 1
    trace_root = float(np.sum(linalg.svdvals(xc @ yc.T / math.sqrt(n * m))))
    diff = mu1 - mu2
    value = float(diff @ diff + np.sum(xc * xc) / n + np.sum(yc * yc) / m - 2.0 * trace_root)
    return value if math.isfinite(value) else math.nan

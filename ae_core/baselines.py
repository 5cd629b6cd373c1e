"""Classical denoisers from scikit-image, so users can see what learning adds over filtering."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .messages import N_
from .parallel import split_map


@dataclass(frozen=True)
class Baseline:
    key: str
    name: str
    description: str
    fn: Callable[[np.ndarray], np.ndarray]  # a stack (N, 28, 28) of float images in [0, 1] -> the same


# scipy and scikit-image are imported where a filter first runs: the registry is read by every page (app.py's first
# import), and scikit-image's TV module alone pulls in scipy.stats, about 0.9 s of the first page's start.


def _median(imgs: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    return ndimage.median_filter(imgs, size=(1, 3, 3), mode="reflect")  # 3x3 within each image


def _nl_means(imgs: np.ndarray) -> np.ndarray:
    from skimage.restoration import denoise_nl_means

    # Tuned on the bundled sample at the tutorial's Gaussian 0.5 (best mean PSNR of h 0.15-0.9, patch 3-5).
    return np.stack([denoise_nl_means(im, h=0.2, patch_size=5, patch_distance=6, fast_mode=True) for im in imgs])


def _tv(imgs: np.ndarray) -> np.ndarray:
    from skimage.restoration import denoise_tv_chambolle

    return np.stack([denoise_tv_chambolle(im, weight=0.2) for im in imgs])  # tuned like non-local means


BASELINES: dict[str, Baseline] = {
    b.key: b
    for b in (
        Baseline("median", N_("Median 3×3"), N_("Each pixel becomes the median of its 3×3 neighbourhood."), _median),
        Baseline(
            "nl_means", N_("Non-local means"), N_("Averages pixels whose surrounding patches look alike."), _nl_means
        ),
        Baseline("tv", N_("TV (Chambolle)"), N_("Total-variation denoising: flattens noise, keeps edges."), _tv),
    )
}


def apply(key: str, x: torch.Tensor) -> torch.Tensor:
    """Denoise a batch (N, 1, 28, 28) in [0, 1] with a classical filter."""
    if not len(x):
        return x.detach().clone()

    def one(xs: torch.Tensor) -> torch.Tensor:  # per image, so chunks of the stack run on all cores
        out = np.clip(BASELINES[key].fn(xs.detach().reshape(-1, 28, 28).double().numpy()), 0, 1)
        return torch.from_numpy(out).float()

    return split_map(one, x).reshape(x.shape)

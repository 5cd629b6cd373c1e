"""Rebuild the bundled sample: python -m ae_core.make_sample (needs the full test set)."""

from __future__ import annotations

import numpy as np
import torch

from .data import SAMPLE_PATH, load_mnist

PER_CLASS = 100


def main() -> None:
    test = load_mnist(train=False)
    idx = torch.cat([torch.nonzero(test.labels == c).flatten()[:PER_CLASS] for c in range(10)]).sort().values
    SAMPLE_PATH.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        SAMPLE_PATH,
        images=test.images[idx].numpy(),
        labels=test.labels[idx].numpy().astype(np.uint8),
        test_index=idx.numpy().astype(np.int16),  # position in the official test set
    )
    print(f"wrote {SAMPLE_PATH} ({SAMPLE_PATH.stat().st_size / 1024:.0f} KB, {len(idx)} digits)")


if __name__ == "__main__":
    main()

"""The latency floor for bench/ui_latency.py: one slider and five numpy images, nothing else (it starts at 0.0, so a
sweep to the right has 20 new values, like the playground's)."""

import numpy as np
import streamlit as st

st.title("Floor")
f = st.slider("Noise factor", 0.0, 1.0, 0.0, step=0.05)
rng = np.random.default_rng(0)
base = rng.random((28, 28))
for col, k in zip(st.columns(5), range(5), strict=True):
    img = np.clip(base * (1 - f) + f * np.random.default_rng(k + 1).random((28, 28)), 0, 1)
    col.image(np.kron(img, np.ones((6, 6))), width="stretch", output_format="PNG", clamp=True)

"""The server-CPU floor for bench/capacity.py: a fragment with one slider and one HTML block of five inline 28x28
PNGs, nothing else. Served from the repository root, so it runs with ae-lab's own .streamlit/config.toml.
bench/ui_latency.py uses it as the second, stricter browser floor (its images are inline like the playground's)."""

import base64
import io

import numpy as np
import streamlit as st
from PIL import Image

st.title("Floor")
rng = np.random.default_rng()  # each session its own digit, like ae-lab's spread-out students
base = rng.random((28, 28))


def png(img: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


@st.fragment
def row() -> None:
    f = st.slider("Noise factor", 0.0, 1.0, 0.0, step=0.05, key="pg_factor")  # 0.0: a sweep right has 20 new values
    imgs = [base * (1 - f) + f * np.random.default_rng(k).random((28, 28)) for k in range(5)]
    st.html("".join(f'<img alt="output {k}" src="data:image/png;base64,{png(i)}">' for k, i in enumerate(imgs)))


row()

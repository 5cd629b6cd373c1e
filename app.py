"""ae-lab: an interactive lab for learning and comparing denoising autoencoders. Run: streamlit run app.py"""

import streamlit as st

st.set_page_config(page_title="ae-lab", page_icon="✏️", layout="wide")
# 28x28 images are sent as they are and upscaled by the browser without blurring.
st.html("<style>[data-testid='stImage'] img {image-rendering: pixelated;}</style>")

pages = [
    st.Page("pages/playground.py", title="Playground", icon="✏️", default=True),
]
st.navigation(pages).run()

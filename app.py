"""ae-lab: an interactive lab for learning and comparing denoising autoencoders. Run: streamlit run app.py"""

import streamlit as st

st.set_page_config(page_title="ae-lab", page_icon="✏️", layout="wide")

pages = [
    st.Page("pages/playground.py", title="Playground", icon="✏️", default=True),
]
st.navigation(pages).run()

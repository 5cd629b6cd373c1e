"""ae-lab: an interactive lab for learning and comparing denoising autoencoders. Run: streamlit run app.py"""

import streamlit as st

from ui import frame

frame.setup()
pages = [
    st.Page("pages/playground.py", title="Playground", icon=":material/draw:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/scoreboard.py", title="Scoreboard", icon=":material/leaderboard:"),
    st.Page("pages/inside.py", title="Inside the models", icon=":material/neurology:"),
]
st.navigation(pages).run()

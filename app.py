"""ae-lab: an interactive lab for learning and comparing denoising autoencoders. Run: streamlit run app.py"""

import streamlit as st

from ui import frame, lesson

frame.setup()
pages = [
    st.Page("pages/playground.py", title="Playground", icon=":material/draw:", default=True),
    *([] if lesson.hidden("retrain") else [st.Page("pages/train.py", title="Train", icon=":material/model_training:")]),
    st.Page("pages/scoreboard.py", title="Scoreboard", icon=":material/leaderboard:"),
    st.Page("pages/inside.py", title="Inside the models", icon=":material/neurology:"),
    st.Page("pages/explorer.py", title="Explore the code space", icon=":material/explore:"),
]
st.navigation(pages).run()

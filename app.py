"""ae-lab: an interactive lab for learning and comparing denoising autoencoders. Run: streamlit run app.py"""

import streamlit as st

from ui import frame, lesson
from ui.i18n import _

frame.setup(switch=False)  # the page draws the language switch
pages = [
    st.Page("views/playground.py", title=_("Playground"), icon=":material/draw:", default=True),
    st.Page("views/tutorial.py", title=_("Tutorial"), icon=":material/school:"),
    *(
        []
        if lesson.hidden("retrain")
        else [st.Page("views/train.py", title=_("Train"), icon=":material/model_training:")]
    ),
    st.Page("views/scoreboard.py", title=_("Scoreboard"), icon=":material/leaderboard:"),
    st.Page("views/inside.py", title=_("Inside the models"), icon=":material/neurology:"),
    st.Page("views/explorer.py", title=_("Explore the code space"), icon=":material/explore:"),
]
st.navigation(pages).run()

"""The rules a class server enforces, with no Streamlit: jobs and their quotas, the memory budget, the row worker,
the byte-capped results cache and the teacher-key throttle. ae_core holds the torch core; ui wires both to Streamlit."""

"""Drivers shared by tests/ and bench/: a real server, headless Chromium, and a Streamlit protocol client."""

"""Small Streamlit helpers shared by the views in ``pages/`` (no science here)."""

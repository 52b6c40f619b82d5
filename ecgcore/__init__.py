"""ECG Latent Workbench core library.

Signals inside the library are float32 microvolts shaped ``[leads, samples]`` and travel
with their sampling rate; lead order is the standard 12-lead order (see ``ecgcore.leads``).
This package never imports Streamlit.
"""

__version__ = "0.1.0"

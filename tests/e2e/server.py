"""The browser tests' server and Chromium helpers: they live in :mod:`ecgwb.browser`
(shared with ``ecgwb bench app``)."""

from ecgwb.browser import (  # noqa: F401
    CHROMIUM_ARGS,
    HIGHLIGHTED,
    POINTS_DRAWN,
    ROOT,
    chromium,
    chromium_missing,
    free_port,
    streamlit_server,
)

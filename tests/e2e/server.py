"""The browser tests' server and Chromium helpers: they live in :mod:`ecgcore.browser`
(shared with ``ecgwb bench app``)."""

from ecgcore.browser import (  # noqa: F401
    CHROMIUM,
    CHROMIUM_ARGS,
    HIGHLIGHTED,
    POINTS_DRAWN,
    ROOT,
    chromium,
    chromium_missing,
    free_port,
    streamlit_server,
)

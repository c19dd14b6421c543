"""The twin's browser front end: ``streamlit run app.py`` (binds to localhost; see .streamlit/config.toml).

Pages (``pages/``): Plan (sites, cameras, expected alerts), Compare (plans side by side),
Pipeline (the real face engine on images and synthetic probes), Record (the deployment record
preview). The app only calls the library and draws; the logic is in ``twin.app`` (plan, cameras,
views, workbench).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from twin.app import ui
from twin.app.ui import TwinError
from twin.app.webassets import ensure_static

app_paths = ui.configure(Path(__file__).resolve().parent)  # scenarios/, maps/, static/ beside this file
st.set_page_config(page_title="LFR deployment twin", page_icon=ui.favicon(), layout="wide")
# A tighter top margin: the map and the figures should fit one screen.
st.html(
    '<style>[data-testid="stMainBlockContainer"],.block-container{padding-top:2.2rem;padding-bottom:2rem}</style>'
)

try:
    ensure_static(app_paths.static)  # Leaflet and plugins for the maps, from an installed package (offline)
except TwinError as exc:
    st.warning(f"The map assets could not be prepared, so maps may not draw: {exc}")

#: (script, title, icon) of each page; the titles are given here, not read back from st.Page (whose
#: title property fails when this script runs outside a Streamlit server, e.g. re-run as the
#: __main__ of a spawned worker).
PAGES = [
    ("pages/plan.py", "Plan", ":material/map:"),
    ("pages/compare.py", "Compare", ":material/compare_arrows:"),
    ("pages/pipeline.py", "Pipeline", ":material/face:"),
    ("pages/record.py", "Record", ":material/description:"),
]
pages = [
    st.Page(path, title=title, icon=icon, default=(i == 0)) for i, (path, title, icon) in enumerate(PAGES)
]
# The page links are drawn here, not by st.navigation's sidebar menu: with a pages/ folder Streamlit
# would list its raw file names ("app", "compare", ...) until this script has run once, so that menu
# is off (.streamlit/config.toml: client.showSidebarNavigation = false) and these links replace it.
page = st.navigation(pages, position="hidden")
with st.sidebar:
    for p, (_path, title, icon) in zip(pages, PAGES, strict=True):
        st.page_link(p, label=title, icon=icon)
page.run()

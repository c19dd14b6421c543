"""Layer 8, the browser app's library: what ``app.py`` and ``pages/`` call; they only draw.

``plan`` (plans as scenario documents and the controls), ``cameras`` (placing and editing cameras),
``cache`` (finished runs by crowd key), ``views`` (what the pages show, from the one metric table),
``workbench`` (the Pipeline page), ``webassets`` (Leaflet served offline) and ``ui`` (the one
module that imports streamlit).
"""

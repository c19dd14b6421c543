"""Layer 5, recognition: images and 1:N search, no simulation.

``engines/`` (the face engine protocol, dlib, insightface), ``faces/`` (image loading, sample
photos, the face bank, probe rendering, frame composition), ``watchlist`` (the gallery and its
1:N search), ``enrol`` (a watchlist from identity folders), ``fillers`` (filler entries fitted to
an engine's non-mated scores), ``pipeline`` (detect, gate, embed, search, alert).
Imports scenario/, world/ and scoring/ at most; no simpy, folium or streamlit.
"""

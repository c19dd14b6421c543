"""Faces: robust image loading, sample images, the face bank, probe rendering and frame composition.

Modules:

* :mod:`twin.recognition.faces.io` — any image file to an (H, W, 3) uint8 RGB array, or an
:class:`~twin.errors.ImageError`.
* :mod:`twin.recognition.faces.samples` — sample photos shipped in installed packages, and the
face_recognition 1.3.0
  test images fetched once by an install step (``twin samples``).
* :mod:`twin.recognition.faces.bank` — identities → images (identity folders, samples, video frames).
* :mod:`twin.recognition.faces.render` — a CCTV-like probe rendered from a recorded face for one capture.
* :mod:`twin.recognition.faces.compose` — rendered probes composed into a full camera frame for the detector.

This package is pure (no simpy, folium or streamlit) and imports no face engine at import time.
"""

from __future__ import annotations

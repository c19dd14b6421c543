"""Leaflet and plugin assets for the browser app, served by Streamlit with no network.

streamlit-folium strips ``<script src>`` from a map's header and loads the URLs of every element's
``default_js`` / ``default_css`` itself (shared/reference/offline_maps.md), so a plain folium map
asks the browser for CDN files: blank on a closed network. Here:

* :func:`ensure_static` writes the few files the twin's maps need into ``static/vendor/`` next to
  the app (Streamlit serves it at ``/app/static/vendor/`` when ``enableStaticServing`` is on). The
  bytes come from an installed PyPI package, ``folium-offline`` (import ``offlinefolium``), which
  carries Leaflet 1.9.3 and the plugins folium 0.20 uses; nothing is downloaded and no third-party
  file is committed (``static/vendor/`` is git-ignored).
* :func:`localize_map` points every element of a folium map at those files, and drops the assets
  folium adds by default that the twin's maps never use (jQuery, Bootstrap, Font Awesome,
  awesome-markers): fewer requests, and no font file requested that is not there.

An element asking for an asset that is neither known nor known-unused raises
:class:`~twin.errors.TwinError` rather than silently loading from a CDN.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from twin.errors import TwinError

__all__ = ["STATIC_URL", "UNUSED_ASSETS", "VENDOR_FILES", "asset_urls", "ensure_static", "localize_map"]

#: Where Streamlit serves ``static/vendor/`` (``[server] enableStaticServing = true``).
STATIC_URL = "/app/static/vendor"

#: CDN URL, as folium 0.20 names it → local file name in ``static/vendor/``.
VENDOR_FILES: dict[str, str] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet-1.9.3.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet-1.9.3.css",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/"
    "leaflet_heat.min.js": "leaflet-heat.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet-dvf/0.3.0/"
    "leaflet-dvf.markers.min.js": "leaflet-dvf-0.3.0.markers.min.js",
}

#: Assets a folium ``Map`` asks for by default that the twin's maps (vector layers, circle and
#: polygon markers, a heat layer, the layer control) never use: dropped by :func:`localize_map`.
UNUSED_ASSETS: frozenset[str] = frozenset({
    "https://code.jquery.com/jquery-3.7.1.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css",
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css",
})  # fmt: skip


def _bundled_text(url: str) -> str:
    """The asset's text as folium-offline bundles it.

    Raises:
        TwinError: folium-offline is missing or lacks the asset.
    """
    try:
        from offlinefolium import elements
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise TwinError(
            "the folium-offline package is missing; reinstall the twin (pip install -e .)"
        ) from exc
    text = getattr(elements, "_res", {}).get(url)
    if text is None:
        raise TwinError(
            f"folium-offline does not bundle {url}; pin folium-offline to the version in constraints.txt"
        )
    return text


def ensure_static(static_dir: str | Path) -> Path:
    """Write the vendor assets into ``static_dir/vendor`` (idempotent; files rewritten only if changed).

    Args:
        static_dir: the app's ``static/`` folder (next to ``app.py``).

    Returns:
        the ``vendor`` folder.

    Raises:
        TwinError: an asset is missing from folium-offline, or the folder cannot be written.
    """
    vendor = Path(static_dir) / "vendor"
    try:
        vendor.mkdir(parents=True, exist_ok=True)
        for url, name in VENDOR_FILES.items():
            data = _bundled_text(url).encode("utf-8")
            dest = vendor / name
            if dest.is_file() and hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(data).digest():
                continue
            fd, tmp = tempfile.mkstemp(dir=vendor, prefix=f".{name}.")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, dest)
    except OSError as exc:
        raise TwinError(
            f"cannot write the map assets into {vendor}: {exc}; check the folder's permissions"
        ) from exc
    return vendor


def _walk(element: Any) -> Iterator[Any]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def localize_map(m: Any, base_url: str = STATIC_URL) -> Any:
    """Point every element's JS/CSS at ``base_url`` and drop unused defaults (in place; returns ``m``).

    Raises:
        TwinError: an element asks for an asset this module does not know.
    """
    base = base_url.rstrip("/")
    for el in _walk(m):
        for attr in ("default_js", "default_css"):
            links = getattr(el, attr, None)
            if not links:
                continue
            out = []
            for name, url in links:
                if url.startswith(base + "/") or url in UNUSED_ASSETS:
                    if url.startswith(base + "/"):
                        out.append((name, url))
                    continue
                if url not in VENDOR_FILES:
                    raise TwinError(
                        f"map element {type(el).__name__} needs {url}, which is not served locally; "
                        "add it to twin.app.webassets.VENDOR_FILES"
                    )
                out.append((name, f"{base}/{VENDOR_FILES[url]}"))
            setattr(el, attr, out)  # instance attribute: the class default stays untouched
    return m


def asset_urls(m: Any) -> list[str]:
    """Every JS/CSS URL the map's elements ask for (what streamlit-folium will load)."""
    urls: list[str] = []
    for el in _walk(m):
        for attr in ("default_js", "default_css"):
            urls.extend(url for _, url in getattr(el, attr, None) or [])
    return list(dict.fromkeys(urls))

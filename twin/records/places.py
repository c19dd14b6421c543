"""Normalise published location strings to places, modelled sites and kinds of place.

The Met prints locations as free text ("Croydon, Northend", "North End, Croydon", "Stratford B'way",
"Westfield, Stratford", "Tottenham Ct Rd"). :func:`normalise_location` gives each:

* ``site_id``: one of the twin's modelled sites (``maps/``) where the text names it —
  ``oxford_circus`` (Oxford Circus, Oxford St), ``leicester_square``, ``stratford``,
  ``croydon_north_end`` (North End / Northend in Croydon; a bare "Croydon" is matched
  *approximately*: North End is the town centre's main pedestrian street, but the row may have
  stood on George St or Church St a few hundred metres away);
* ``key``: a normalised place name shared by spellings of the same place (the records' rate
  models pool deployments at one place);
* ``kind``: ``central`` (the Central Activities Zone: West End, Westminster, the City, the South
  Bank, Camden Town, Islington), ``event`` (a stadium or arena) or ``town_centre`` (a
  suburban or metropolitan town centre: every other place, and any place not in the gazetteer —
  most deployments from 2024 on are in town centres).

The gazetteer is London geography (the London Plan 2021's Central Activities Zone and town
centre network), not fitted to any record.

>>> p = normalise_location("North End, Croydon")
>>> p.site_id, p.key, p.kind, p.match
('croydon_north_end', 'croydon', 'town_centre', 'exact')
>>> normalise_location("Stratford B'way").site_id
'stratford'
>>> normalise_location("Westminster, Piccadilly").kind
'central'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["KINDS", "MODELLED_SITES", "Place", "normalise_location"]

#: Kinds of place, in the order the rate models use them (town_centre is the baseline).
KINDS: tuple[str, ...] = ("town_centre", "central", "event")

#: Modelled sites (maps/<id>.geojson) and the patterns (on the normalised text) that name them.
MODELLED_SITES: dict[str, tuple[str, ...]] = {
    "oxford_circus": (r"\boxford (circus|street)\b",),
    "leicester_square": (r"\bleicester square\b",),
    "stratford": (r"\bstratford\b",),
    "croydon_north_end": (r"\bcroydon\b.*\bnorth ?end\b", r"\bnorth ?end\b.*\bcroydon\b"),
}

#: Abbreviations in published locations, expanded before matching.
_ABBREV: tuple[tuple[str, str], ...] = (
    (r"\bst\b(?=\s*$|\s*,)", "street"), (r"\bsq\b", "square"), (r"\bb'?way\b", "broadway"),
    (r"\bct\b", "court"), (r"\brd\b", "road"), (r"\bpk\b", "park"), (r"\bjunc\b", "junction"),
    (r"\bstn\b", "station"), (r"\boxford st\b", "oxford street"), (r"\bnorthend\b", "north end"),
    (r"\bhigh st\b", "high street"),
)  # fmt: skip

#: Places of the Central Activities Zone (London Plan 2021, Policy SD4) that deployments name.
_CENTRAL: tuple[str, ...] = tuple(
    (
        "westminster|oxford circus|oxford street|piccadilly|leicester square|covent garden|soho|"
        "tottenham court road|london bridge|camden|islington|kings cross|king's cross|euston|victoria|"
        "waterloo|south bank|city of london|bank|liverpool street|holborn|strand|savoy|the mall|"
        "birdcage walk|trafalgar|whitehall|knightsbridge|marble arch|bond street|earls court|paddington|"
        "angel|regent street|bloomsbury|mayfair"
    ).split("|")
)
#: Stadiums and arenas (crowds arrive for an event).
_EVENT: tuple[str, ...] = tuple(
    (
        "o2 arena|wembley stadium|wembley arena|selhurst park|twickenham|emirates|stamford bridge|"
        "tottenham hotspur stadium|london stadium|olympic park|craven cottage|the valley|"
        "brentford community|lords|the oval|carnival|hyde park|excel"
    ).split("|")
)


@dataclass(frozen=True, kw_only=True)
class Place:
    """A normalised published location.

    Attributes:
        text: the location as published.
        key: normalised place name (spellings of one place share it).
        site_id: modelled site id, or None.
        kind: one of :data:`KINDS`.
        match: "exact" or "approximate" (site matched by a broader name), "none" (no modelled site).
        in_gazetteer: False where the kind is the default for an unknown place.
    """

    text: str
    key: str
    site_id: str | None
    kind: str
    match: str
    in_gazetteer: bool


def _clean(text: str) -> str:
    s = text.lower().replace("’", "'").replace("`", "'")
    s = re.sub(r"[^a-z0-9',& ]+", " ", s)
    s = " ".join(s.split())
    for pat, rep in _ABBREV:
        s = re.sub(pat, rep, s)
    return " ".join(s.replace(" ,", ",").split())


def _has(s: str, name: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(name)}(?![a-z])", s) is not None


def normalise_location(text: str) -> Place:
    """The place a published location names.

    Args:
        text: the location as published (free text).

    Returns:
        :class:`Place`.

    >>> normalise_location("Croydon, George St").site_id is None
    True
    >>> normalise_location("Croydon").match
    'approximate'
    >>> normalise_location("Tottenham Ct Rd").key
    'tottenham court road'
    >>> normalise_location("Somewhere New").kind, normalise_location("Somewhere New").in_gazetteer
    ('town_centre', False)
    """
    s = _clean(text)
    site, match = None, "none"
    for sid, pats in MODELLED_SITES.items():
        if any(re.search(p, s) for p in pats):
            site, match = sid, "exact"
            break
    if site is None and s.strip(" ,") == "croydon":
        site, match = "croydon_north_end", "approximate"
    parts = [p.strip() for p in s.split(",") if p.strip()]
    key = _key(s, parts)
    if any(_has(s, n) for n in _EVENT):
        kind, known = "event", True
    elif any(_has(s, n) for n in _CENTRAL):
        kind, known = "central", True
    else:
        kind, known = "town_centre", _is_known_town(s)
    return Place(text=text, key=key, site_id=site, kind=kind, match=match, in_gazetteer=known)


#: The borough or town a place is pooled under when the text names one (first match wins).
_POOL: tuple[str, ...] = tuple(
    (
        "oxford circus|piccadilly circus|leicester square|croydon|westminster|haringey|selhurst park|"
        "tottenham court road|london bridge|clapham junction|tooting|ealing|shepherds bush|sutton|"
        "stratford|o2 arena"
    ).split("|")
)


def _key(s: str, parts: list[str]) -> str:
    for name in _POOL:
        if _has(s, name):
            return name
    first = parts[0] if parts else s
    first = re.sub(r"\b(broadway|high street|station|town centre|road|street)\b", "", first)
    return " ".join(first.split()) or s


#: Town centres of the London Plan 2021 network that deployments have named or are likely to name.
_TOWNS: tuple[str, ...] = tuple(
    (
        "croydon|tooting|clapham|catford|lewisham|romford|woolwich|sutton|bromley|ealing|southall|"
        "hounslow|kingston|barking|dagenham|ilford|haringey|wood green|enfield|barnet|brent|harlesden|"
        "peckham|bethnal green|whitechapel|dalston|hackney|walthamstow|east ham|uxbridge|acton|"
        "hammersmith|shepherds bush|thornton heath|bexleyheath|northumberland park|stratford|tottenham|"
        "brixton|wembley|harrow|edmonton|leyton|bow|hornchurch|orpington|eltham|streatham|wandsworth|"
        "putney|fulham|chelsea|kilburn|finsbury park|holloway|seven sisters|camberwell|deptford|"
        "greenwich|canary wharf|mitcham|morden|wimbledon|richmond|twickenham|feltham|hayes|wealdstone|"
        "edgware|golders green|mile end|poplar|canning town|forest gate|upton park|chingford|erith|"
        "welling|sidcup|beckenham|penge|norwood|elephant|kennington|vauxhall|battersea|notting hill|"
        "kensington|white city|wood lane|queensway|kentish town|archway|highbury|stoke newington|"
        "lewisham|surrey quays|bermondsey|rotherhithe|plumstead|abbey wood|thamesmead|rainham|upminster|"
        "collier row|barkingside|chadwell heath|gants hill"
    ).split("|")
)


def _is_known_town(s: str) -> bool:
    return any(_has(s, n) for n in _TOWNS)

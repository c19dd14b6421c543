"""Loading and validating deployment records (twin/records/schema.py) and places (places.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO
from twin.errors import RecordsError
from twin.records.places import normalise_location
from twin.records.schema import MAX_FILE_BYTES, REQUIRED_COLUMNS, load_records, parse_records

SHIPPED = REPO / "data" / "records" / "met_deployments_2020-02_2024-09.csv"
HEADER = ",".join(REQUIRED_COLUMNS)
GOOD = "2024-03-05,Oxford Circus,395,12483,0.6,4810,9,9,0,"


def _csv(*rows: str, header: str = HEADER + ",arrests") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_shipped_records_load_with_their_two_known_problems() -> None:
    """156 deployments; the README's known problems are the warnings (fault row, 2024-01-10 sums)."""
    rs = load_records(SHIPPED)
    assert len(rs) == 156
    assert len(rs.warnings) == 2
    assert "line 3 (2020-02-21, Oxford Circus): no faces_seen" in rs.warnings[0]
    assert "line 34 (2024-01-10, Westminster): alerts 1 != true 2 + false 0" in rs.warnings[1]
    df = rs.frame()
    assert df["threshold_assumed"].sum() == 9  # the 2020-22 grid printed no thresholds
    assert set(df.loc[df["threshold_assumed"], "threshold"]) == {0.6}
    assert (df["site_id"] == "oxford_circus").sum() == 8


@pytest.mark.parametrize(("row", "column", "words"), [
    ("2024-03-05,Oxford Circus,395,12483,0.6,many,9,9,0,", "faces_seen", "'many' is not a whole number"),
    ("2024-03-05,Oxford Circus,395,12483,0.6,-5,9,9,0,", "faces_seen", "-5 is outside [0,"),
    ("2024-03-05,Oxford Circus,395,12483,1.7,4810,9,9,0,", "threshold", "1.7 is outside [0, 1]"),
    ("05/03/2024,Oxford Circus,395,12483,0.6,4810,9,9,0,", "date", "not a date written YYYY-MM-DD"),
    ("2024-03-05,Oxford Circus,395,0,0.6,4810,9,9,0,", "watchlist_size", "0 is outside [1,"),
    ("2024-03-05,Oxford Circus,395,12483,0.6,4810,9,9,0.5,", "false_alerts", "'0.5' is not a whole number"),
    ("2024-03-05,,395,12483,0.6,4810,9,9,0,", "location", "is empty"),
    ("2024-03-05,Oxford Circus,0,12483,0.6,4810,9,9,0,", "duration_min", "0 minutes is outside"),
    ("2024-03-05,Oxford Circus,395,12483,nan,4810,9,9,0,", "threshold", "not a finite number"),
])  # fmt: skip
def test_a_bad_cell_names_file_line_column_and_fix(row: str, column: str, words: str) -> None:
    with pytest.raises(RecordsError) as exc:
        parse_records(_csv(GOOD, row), source="x.csv")
    msg = str(exc.value)
    assert msg.startswith(f"x.csv: line 3, column {column}: ") and words in msg, msg


def test_file_level_problems_are_named() -> None:
    with pytest.raises(RecordsError, match=r"missing column.*faces_seen"):
        parse_records(
            b"date,location,duration_min,watchlist_size,threshold,alerts,true_alerts,false_alerts\n"
        )
    with pytest.raises(RecordsError, match="the file is empty"):
        parse_records(b"  \n")
    with pytest.raises(RecordsError, match="header only"):
        parse_records(_csv())
    with pytest.raises(RecordsError, match="line 3 repeats the header"):
        parse_records(_csv(GOOD, HEADER + ",arrests", GOOD))
    with pytest.raises(RecordsError, match="not UTF-8"):
        parse_records(_csv(GOOD) + b"\xff\xfe")


def test_a_file_over_the_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as f:
        f.truncate(50_000_000)  # sparse: 50 MB on paper
    with pytest.raises(RecordsError, match=r"50\.0 MB; records files are capped at 5 MB"):
        load_records(big)
    assert MAX_FILE_BYTES == 5_000_000
    with pytest.raises(RecordsError, match="not found"):
        load_records(tmp_path / "nope.csv")
    with pytest.raises(RecordsError, match="is a folder"):
        load_records(tmp_path)


def test_inconsistent_rows_are_kept_with_a_warning_that_names_them() -> None:
    rs = parse_records(_csv(GOOD, "2024-03-06,Bromley,300,12000,0.6,1500,3,1,1,"), source="y.csv")
    assert len(rs) == 2
    assert rs.warnings == (
        "y.csv: line 3 (2024-03-06, Bromley): alerts 3 != true 1 + false 1; kept as published",
    )


@pytest.mark.parametrize(("text", "site", "match"), [
    ("North End, Croydon", "croydon_north_end", "exact"),
    ("Croydon, Northend", "croydon_north_end", "exact"),
    ("Northend, Croydon", "croydon_north_end", "exact"),
    ("Croydon", "croydon_north_end", "approximate"),
    ("Croydon, George St", None, "none"),
    ("Oxford Circus", "oxford_circus", "exact"),
    ("Oxford St", "oxford_circus", "exact"),
    ("Stratford B'way", "stratford", "exact"),
    ("Stratford B’way", "stratford", "exact"),
    ("Westfield, Stratford", "stratford", "exact"),
    ("Leicester Sq", "leicester_square", "exact"),
    ("Leicester Square", "leicester_square", "exact"),
    ("Tooting Broadway", None, "none"),
])  # fmt: skip
def test_locations_normalise_to_the_modelled_sites(text: str, site: str | None, match: str) -> None:
    """The issue's examples; other places stay unmatched (and are still used for the rate models)."""
    p = normalise_location(text)
    assert (p.site_id, p.match) == (site, match)


def test_spellings_of_one_place_share_a_key_and_kinds_follow_london_geography() -> None:
    assert {normalise_location(t).key for t in ("Tooting", "Tooting Broadway")} == {"tooting"}
    assert {normalise_location(t).key for t in ("Clapham Junc", "Clapham Junction")} == {"clapham junction"}
    assert {normalise_location(t).key for t in ("Ealing B’way Stn", "Ealing Broadway")} == {"ealing"}
    assert normalise_location("Westminster, The Mall").kind == "central"
    assert normalise_location("O2 Arena").kind == "event"
    assert normalise_location("Selhurst Park, Holmesdale Rd").kind == "event"
    assert normalise_location("Woolwich").kind == "town_centre"
    unknown = normalise_location("<script>alert(1)</script>")
    assert unknown.kind == "town_centre" and not unknown.in_gazetteer

"""A measure at a node: SPC chart, stratified view, small multiples and funnel, suppressed."""

import io
import re

from django.test import Client
from openpyxl import load_workbook

URL = "/nodes/MUH-4W/measures/readmission_30d/"


def test_it_shows_the_charts_and_their_tables(client, analyst, ward, page_numbers):
    client.force_login(analyst)
    response = client.get(URL + "?dimension=race_ethnicity")
    assert response.status_code == 200
    specs = page_numbers.specs(response.text)
    assert set(specs) == {"spc", "stratified", "groups"}
    for name in ("spc", "stratified", "groups"):
        assert f'data-table="{name}"' in response.text
    # The analyst may see small cells, so the small month is charted with limits.
    points = page_numbers.rows(specs["spc"])
    small = next(p for p in points if p["period"] == "2025-06-01")
    assert small["numerator"] == 7 and small["centre"] is not None


def test_it_names_the_widest_gap_against_the_largest_group(client, analyst, ward, page_numbers):
    client.force_login(analyst)
    response = client.get(URL)
    text = re.sub(r"\s+", " ", response.text)
    # Black: 60/240 = 25.0% against White 60/600 = 10.0%, ratio 2.5; excess 60 - 0.1 x 240.
    assert "Widest significant gap: <strong>Black or African American</strong> 25.0" in text
    assert "against White 10.0" in text
    assert "ratio 2.50" in text and "excess events 36.0" in text


def test_it_hides_small_cells_and_limits_from_a_unit_leader(
    client, unit_leader, ward, page_numbers
):
    client.force_login(unit_leader)
    response = client.get(URL)
    assert response.status_code == 200
    assert not [v for v in page_numbers.counts(response.text) if 1 <= v <= 10]
    specs = page_numbers.specs(response.text)
    points = page_numbers.rows(specs["spc"])
    small = next(p for p in points if p["period"] == "2025-06-01")
    assert small["numerator"] is None and small["value"] is None
    # One hidden month means no centre line or limits anywhere on the series.
    assert all(p["centre"] is None and p["upper"] is None for p in points)
    assert "Centre line and limits are not shown because some months are suppressed" in (
        response.text
    )
    strata = page_numbers.rows(specs["stratified"])
    asian = next(r for r in strata if r.get("group") == "Asian")
    assert asian["rate"] is None and asian["numerator"] is None and asian["suppressed"]


def test_it_draws_a_funnel_of_the_units_below(client, analyst, ward, page_numbers):
    client.force_login(analyst)
    response = client.get("/nodes/MUH-MED/measures/readmission_30d/")
    specs = page_numbers.specs(response.text)
    rows = page_numbers.rows(specs["funnel"])
    units = [r for r in rows if "node" in r]
    assert {u["node"] for u in units} == {"MUH-4W", "MUH-5E"}
    limits = [r for r in rows if "lower_95" in r]
    # 95% limits around the department's 12% must contain 12%.
    assert all(row["lower_95"] <= 12 <= row["upper_95"] for row in limits)


def test_the_dimension_picker_returns_a_partial_for_htmx(client, analyst, ward, page_numbers):
    client.force_login(analyst)
    response = client.get(
        URL, {"dimension": "race_ethnicity", "partial": "dimension"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert '<div id="by-dimension">' in response.text
    assert "<html" not in response.text


def test_it_404s_for_a_dimension_the_measure_lacks(client, analyst, ward, page_numbers):
    client.force_login(analyst)
    assert client.get(URL + "?dimension=shoe_size").status_code == 404


def test_it_404s_outside_the_persons_scope(client, other_unit_leader, ward, page_numbers):
    client.force_login(other_unit_leader)
    assert client.get(URL).status_code == 404
    assert client.get(URL + "?export=csv&table=spc").status_code == 404


def test_the_chart_bundle_is_served_locally(client, unit_leader, settings, tmp_path):
    settings.HOME = tmp_path
    client.force_login(unit_leader)
    response = client.get("/measures/charts.js")
    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert b"equileanCharts" in body
    # The bundle built under HOME on first use, byte for byte.
    [bundle] = (tmp_path / "assets").glob("charts-*.js")
    assert body == bundle.read_bytes()
    assert Client().get("/measures/charts.js").status_code == 302


GROUPS_TABLE = re.compile(r'<table[^>]*data-table="groups">(.*?)</table>', re.S)
TABLE_ROW = re.compile(r"<tr( class=\"suppressed-row\")?>(.*?)</tr>", re.S)


def test_a_suppressed_groups_counts_are_hidden_from_a_unit_leader_everywhere(
    client, unit_leader, ward, page_numbers
):
    # Asian (4 of 25) and Unknown (12 of 35) hide their numerators; the 25 and 35 must go too,
    # as in the stratified table and the API, or the page and the API disagree.
    client.force_login(unit_leader)
    response = client.get(URL + "?dimension=race_ethnicity")
    [table] = GROUPS_TABLE.findall(response.text)
    hidden_rows = [cells for hidden, cells in TABLE_ROW.findall(table) if hidden]
    assert hidden_rows
    for cells in hidden_rows:
        assert re.findall(r'class="count" data-value="([^"]*)"', cells) == ["", ""], cells
    rows = page_numbers.rows(page_numbers.specs(response.text)["groups"])
    hidden = [r for r in rows if r["suppressed"]]
    assert {r["group"] for r in hidden} >= {"Asian", "Unknown"}
    assert all(r["numerator"] is None and r["denominator"] is None for r in hidden)
    for fmt in ("csv", "xlsx"):
        download = client.get(URL + f"?dimension=race_ethnicity&export={fmt}&table=groups")
        if fmt == "csv":
            body = download.content.decode().splitlines()
            header, lines = body[0].split(","), [line.split(",") for line in body[1:]]
        else:
            header, *lines = load_workbook(io.BytesIO(download.content)).active.values
        counts = [header.index("Numerator"), header.index("Denominator")]
        for line in lines:
            if line[0] in ("Asian", "Unknown"):
                assert all(line[i] in ("", None) for i in counts), line

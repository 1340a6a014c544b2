"""CSV and XLSX downloads of the page tables: the page's cells, blanks where suppressed."""

import csv
import io

from openpyxl import load_workbook

URL = "/nodes/MUH-4W/measures/readmission_30d/"


def _csv(response):
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_a_unit_leader_gets_blanks_and_a_suppressed_column(client, unit_leader, ward):
    client.force_login(unit_leader)
    response = client.get(URL + "?dimension=race_ethnicity&export=csv&table=stratified")
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert "equilean_MUH-4W_readmission_30d_stratified_" in disposition
    assert disposition.endswith('.csv"')
    rows = {row["Group"]: row for row in _csv(response)}
    assert rows["Asian"]["Numerator"] == "" and rows["Asian"]["Rate (%)"] == ""
    assert rows["Asian"]["Suppressed"] == "yes"
    assert rows["Black or African American"]["Numerator"] == "60"
    assert rows["Black or African American"]["Suppressed"] == "no"


def test_the_analyst_gets_the_small_cells(client, analyst, ward):
    client.force_login(analyst)
    response = client.get(URL + "?export=csv&table=stratified")
    rows = {row["Group"]: row for row in _csv(response)}
    assert rows["Asian"]["Numerator"] == "4"


def test_the_monthly_series_exports_as_xlsx(client, unit_leader, ward):
    client.force_login(unit_leader)
    response = client.get(URL + "?export=xlsx&table=spc")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, *rows = list(sheet.values)
    assert header[:3] == ("Month", "Numerator", "Denominator")
    small = next(r for r in rows if r[0] == "2025-06-01")
    assert small[1] is None and small[header.index("Suppressed")] == "yes"
    assert len(rows) == 15
    # 40 of 300 is 13.333...%: whole counts, and the rate to the page's two decimals.
    january = next(r for r in rows if r[0] == "2025-01-01")
    assert january[1:4] == (40, 300, 13.33)
    assert isinstance(january[1], int) and january[header.index("Suppressed")] == "no"


def test_the_monthly_series_exports_whole_counts_rounded_rates_and_yes_no(client, analyst, ward):
    client.force_login(analyst)
    response = client.get(URL + "?export=csv&table=spc")
    january = next(r for r in _csv(response) if r["Month"] == "2025-01-01")
    assert (january["Numerator"], january["Denominator"]) == ("40", "300")
    assert january["Rate (%)"] == "13.33"
    assert january["Suppressed"] == "no"
    assert all(len(v.partition(".")[2]) <= 2 for v in january.values() if v[:1].isdigit())


def test_the_signal_list_exports_without_hidden_evidence(client, unit_leader, ward):
    client.force_login(unit_leader)
    response = client.get("/nodes/MUH-4W/equity/?export=csv&table=signals")
    rows = {row["Group"]: row for row in _csv(response)}
    assert rows["Asian"]["Numerator"] == "" and rows["Asian"]["Suppressed"] == "yes"
    assert rows["Black or African American"]["Numerator"] == "60"


def test_it_refuses_an_unknown_table_or_format(client, unit_leader, ward):
    client.force_login(unit_leader)
    assert client.get(URL + "?export=pdf&table=spc").status_code == 400
    assert client.get(URL + "?export=csv&table=nope").status_code == 400

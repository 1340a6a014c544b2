"""Equity dimensions (strata) and the code maps behind them: race and ethnicity, language, payer."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa

RACES = ("aian", "asian", "black", "nhpi", "white", "mena")
UNKNOWN = "Unknown"
DECLINED = "Asked but declined"
MULTIRACIAL = "Multiracial"
HISPANIC = "Hispanic or Latino"
NOT_HISPANIC = "Not Hispanic or Latino"
OTHER = "Other"
# A CDC code has four digits, a hyphen and a check digit; its concept is the four digits.
CDC_CODE = r"^[0-9]{4}-[0-9]$"


def _codes_dir() -> Path:
    return Path(str(resources.files("equilean.engine") / "data" / "codes"))


def _read_csv(name: str) -> list[dict[str, str]]:
    with (_codes_dir() / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@cache
def race_ethnicity_categories() -> dict[str, dict[str, str]]:
    """The category table: field (race/ethnicity/none) and the labels each category maps to."""
    return {row["category"]: row for row in _read_csv("race_ethnicity_categories.csv")}


def _key(token: str) -> str:
    """The lookup key of one raw value: a CDC code's four-digit concept, else lower-case text."""
    text = token.strip().lower()
    if len(text) == 6 and text[4] == "-" and text[:4].isdigit() and text[5].isdigit():
        return text[:4]
    return text


@cache
def race_ethnicity_keys() -> pd.DataFrame:
    """Every lookup key with its category and whether it is an OMB-level (roll-up) White code.

    Explicit codes and text values come from `race_ethnicity_codes.csv`; the CDC hierarchy blocks
    in `race_ethnicity_ranges.csv` fill in the detailed codes that are not listed one by one.
    """
    rows = {}
    for rng in _read_csv("race_ethnicity_ranges.csv"):
        for number in range(int(rng["first"]), int(rng["last"]) + 1):
            rows[f"{number:04d}"] = (rng["category"], "detailed")
    for row in _read_csv("race_ethnicity_codes.csv"):
        rows[_key(row["code"])] = (row["category"], row["level"])
    keys = pd.DataFrame(
        [(key, cat, level) for key, (cat, level) in rows.items()],
        columns=["key", "category", "level"],
    )
    # The bare White code (or word) next to a MENA code is CDC's roll-up of MENA under White,
    # not a second race, so it is told apart from detailed White codes such as 2113-9 Irish.
    keys["white_rollup"] = (keys["category"] == "white") & keys["level"].isin(["omb", "text"])
    return keys


def _as_series(values) -> pd.Series:
    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.to_pandas()
    return pd.Series(values, dtype="object")


def race_ethnicity_tokens(race_codes, ethnicity_codes) -> pd.DataFrame:
    """One row per raw value in either field: row position, field, token, category.

    `category` is null for a value no code map knows. `misplaced` is true for a valid race code in
    the ethnicity field or an ethnicity code in the race field (counted, but worth reporting).
    """
    race = _as_series(race_codes).reset_index(drop=True)
    eth = _as_series(ethnicity_codes).reset_index(drop=True)
    parts = []
    for name, series in (("race", race), ("ethnicity", eth)):
        tokens = series.astype("string").str.split("|").explode().str.strip()
        tokens = tokens[tokens.notna() & (tokens != "")]
        parts.append(
            pd.DataFrame(
                {"row": tokens.index.to_numpy(), "field": name, "token": tokens.to_numpy()}
            )
        )
    tokens = pd.concat(parts, ignore_index=True)
    keys = race_ethnicity_keys().set_index("key")
    looked_up = tokens["token"].map(_key)
    tokens["category"] = looked_up.map(keys["category"])
    tokens["white_rollup"] = looked_up.isin(keys.index[keys["white_rollup"]])
    home = tokens["category"].map(
        {cat: row["field"] for cat, row in race_ethnicity_categories().items()}
    )
    tokens["misplaced"] = home.isin(["race", "ethnicity"]) & (home != tokens["field"])
    return tokens


def _flags(race_codes, ethnicity_codes) -> pd.DataFrame:
    """Per row: one boolean column per race category, hispanic, not_hispanic, declined flags."""
    tokens = race_ethnicity_tokens(race_codes, ethnicity_codes)
    n = len(_as_series(race_codes))
    cat = tokens["category"]
    marks = pd.DataFrame({"row": tokens["row"]})
    for race in RACES:
        marks[race] = cat == race
    marks["white_detail"] = (cat == "white") & ~tokens["white_rollup"]
    marks["hispanic"] = cat == "hispanic"
    marks["not_hispanic"] = cat == "not_hispanic"
    marks["declined_race"] = (cat == "declined") & (tokens["field"] == "race")
    marks["declined_ethnicity"] = (cat == "declined") & (tokens["field"] == "ethnicity")
    flags = marks.groupby("row").any().reindex(range(n), fill_value=False).astype(bool)
    flags["white"] = flags["white_detail"] | (flags["white"] & ~flags["mena"])
    return flags


def _race_label_map(column: str) -> dict[str, str]:
    return {cat: row[column] for cat, row in race_ethnicity_categories().items() if row[column]}


def _per_distinct_pair(race_codes, ethnicity_codes, rule) -> pd.Series:
    """Apply `rule` (flags -> labels) once per distinct pair of raw values, then spread back."""
    race = _as_series(race_codes)
    eth = _as_series(ethnicity_codes).set_axis(race.index)
    pairs = pd.MultiIndex.from_arrays([race.fillna(""), eth.fillna("")])
    codes, distinct = pd.factorize(pairs)
    labels = rule(
        _flags(distinct.get_level_values(0).to_series(), distinct.get_level_values(1).to_series())
    )
    return pd.Series(labels.to_numpy()[codes], index=race.index, dtype="str")


def _combined_rule(flags: pd.DataFrame) -> pd.Series:
    races = flags[list(RACES)]
    n_races = races.sum(axis=1)
    single = races.idxmax(axis=1).map(_race_label_map("combined_label"))
    declined = flags["declined_race"] | flags["declined_ethnicity"]
    result = pd.Series(UNKNOWN, index=flags.index, dtype="object")
    result = result.mask(declined, DECLINED)
    result = result.mask(n_races == 1, single)
    result = result.mask(flags["hispanic"] & (n_races <= 1), HISPANIC)
    return result.mask(n_races >= 2, MULTIRACIAL)


def _race_1997_rule(flags: pd.DataFrame) -> pd.Series:
    races = flags[list(RACES)].copy()
    races["white"] = races["white"] | races.pop("mena")
    n_races = races.sum(axis=1)
    single = races.idxmax(axis=1).map(_race_label_map("race_label"))
    result = pd.Series(UNKNOWN, index=flags.index, dtype="object")
    result = result.mask(flags["declined_race"], DECLINED)
    result = result.mask(n_races == 1, single)
    return result.mask(n_races >= 2, MULTIRACIAL)


def _ethnicity_rule(flags: pd.DataFrame) -> pd.Series:
    result = pd.Series(UNKNOWN, index=flags.index, dtype="object")
    result = result.mask(flags["declined_ethnicity"], DECLINED)
    result = result.mask(flags["not_hispanic"], NOT_HISPANIC)
    return result.mask(flags["hispanic"], HISPANIC)


def combine_race_ethnicity(race_codes, ethnicity_codes) -> pd.Series:
    """Derive the OMB SPD 15 (2024) combined race/ethnicity label from raw "|"-joined codes.

    Parameters
    ----------
    race_codes, ethnicity_codes : pandas.Series or pyarrow.Array
        Raw values as given (CDC codes such as ``2106-3``, HL7 null flavours such as ``ASKU``, or
        words such as ``white``), several per patient joined with ``"|"``.

    Returns
    -------
    pandas.Series
        One label per row, aligned with ``race_codes``'s index.

    Notes
    -----
    Bridges two-question (1997) data to the combined question of OMB SPD 15 (2024), Federal
    Register 89 FR 22182: two or more distinct minimum race categories -> "Multiracial";
    otherwise Hispanic or Latino ethnicity -> "Hispanic or Latino" (AHRQ's "Hispanic of any race"
    bridge); otherwise the single race; otherwise ASKU -> "Asked but declined", else "Unknown".
    CDC 2118-8 and its children are "Middle Eastern or North African"; a bare White code beside
    them is CDC's roll-up and not a second race. Codes in the wrong field still count. The
    categories and codes come from the CSV files in ``engine/data/codes``.

    Examples
    --------
    >>> combine_race_ethnicity(pd.Series(["2106-3", "2106-3|2054-5", "ASKU"]),
    ...                        pd.Series(["2135-2", "2186-5", "ASKU"])).tolist()
    ['Hispanic or Latino', 'Multiracial', 'Asked but declined']
    """
    return _per_distinct_pair(race_codes, ethnicity_codes, _combined_rule)


def race_1997(race_codes, ethnicity_codes) -> pd.Series:
    """The 1997 OMB race (five races, MENA under White, Multiracial, Unknown, declined)."""
    return _per_distinct_pair(race_codes, ethnicity_codes, _race_1997_rule)


def ethnicity(race_codes, ethnicity_codes) -> pd.Series:
    """The 1997 OMB ethnicity: Hispanic or Latino, Not Hispanic or Latino, Unknown, declined."""
    return _per_distinct_pair(race_codes, ethnicity_codes, _ethnicity_rule)


@cache
def _payer_maps() -> tuple[dict[str, str], dict[str, str]]:
    names = {row["value"].strip().lower(): row["payer_group"] for row in _read_csv("payers.csv")}
    sopt = {row["first_digit"]: row["payer_group"] for row in _read_csv("payer_sopt.csv")}
    return names, sopt


def map_payer_group(payers) -> pd.Series:
    """Map raw payer names or codes to payer groups (Medicare, Medicaid, Commercial, ...).

    Parameters
    ----------
    payers : pandas.Series or pyarrow.Array
        Raw payer names (e.g. Synthea's "Dual Eligible", "NO_INSURANCE", "Aetna") or Source of
        Payment Typology (SOPT) codes.

    Returns
    -------
    pandas.Series
        Exact names from ``payers.csv`` first, then the SOPT code's first digit
        (``payer_sopt.csv``, PHDSC Source of Payment Typology v9); other values are "Other" and
        missing ones "Unknown".
    """
    values = _as_series(payers)
    names, sopt = _payer_maps()
    text = values.astype("string").str.strip().str.lower()
    by_name = text.map(names)
    by_sopt = text.where(text.str.fullmatch(r"[0-9]+").fillna(False).astype(bool)).str[0].map(sopt)
    result = by_name.fillna(by_sopt).fillna(OTHER).astype("object")
    result = result.mask(text.isna() | (text == ""), UNKNOWN)
    return result.astype("str")


@cache
def language_names() -> dict[str, str]:
    """BCP-47 primary subtag -> English name, from ``languages.csv``."""
    return {row["code"]: row["name"] for row in _read_csv("languages.csv")}


def default_top_languages() -> tuple[str, ...]:
    """The languages the language dimension names by default; the rest are grouped as Other."""
    return tuple(row["code"] for row in _read_csv("languages.csv") if row["top"] == "1")


@cache
def age_bands() -> tuple[tuple[int, int | None, str], ...]:
    """(lower, upper or None, label) for each age band, from ``age_bands.csv``."""
    return tuple(
        (int(row["lower"]), int(row["upper"]) if row["upper"] else None, row["label"])
        for row in _read_csv("age_bands.csv")
    )


# ---------------------------------------------------------------------------------------------
# Dimensions as Ibis expressions over the measure table joined to patients.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    """One way to split a measure into groups, compiled to an Ibis string expression.

    ``compile`` takes the joined relation (measure table columns, patient columns, ``age`` at the
    measure's date, and ``race`` / ``ethnicity`` when listed in ``needs``) and returns the group
    label for each row; nulls become "Unknown". ``groups`` lists the known groups in display
    order, and ``ordered`` marks an ordinal scale (for slope indices such as SII/RII).
    """

    id: str
    name: str
    compile: Callable[[ibis.Table], ibis.Value]
    groups: tuple[str, ...] = ()
    ordered: bool = False
    needs: frozenset[str] = field(default_factory=frozenset)
    description: str = ""

    def expr(self, rel: ibis.Table) -> ibis.Value:
        """The group label of each row of `rel`."""
        return self.compile(rel).fill_null(UNKNOWN)


def _cases(pairs: Iterable[tuple[ibis.Value, str]], default: str) -> ibis.Value:
    return ibis.cases(*[(cond, ibis.literal(label)) for cond, label in pairs], else_=default)


def _yes_no(column: str, yes: str, no: str) -> Callable[[ibis.Table], ibis.Value]:
    return lambda rel: _cases([(rel[column] == True, yes), (rel[column] == False, no)], UNKNOWN)  # noqa: E712


def combined_labels() -> tuple[str, ...]:
    """The combined race/ethnicity labels in display order."""
    cats = race_ethnicity_categories()
    labels = [cats[c]["combined_label"] for c in ("aian", "asian", "black", "hispanic", "mena")]
    labels += [cats[c]["combined_label"] for c in ("nhpi", "white")]
    return (*labels, MULTIRACIAL, UNKNOWN, DECLINED)


def language_dimension(
    top: Sequence[str] | None = None, id: str = "language", name: str = "Language"
) -> Dimension:
    """Preferred language: the `top` languages by name, then Other, then Unknown."""
    top = tuple(top) if top is not None else default_top_languages()
    names = language_names()
    labels = tuple(names.get(code, code) for code in top)

    def compile(rel):
        code = _trim(rel.language).lower()
        pairs = [(code == c, label) for c, label in zip(top, labels, strict=True)]
        pairs += [(code.isnull() | code.isin(["", "und", "unk"]), UNKNOWN)]
        return _cases(pairs, OTHER)

    return Dimension(id, name, compile, (*labels, OTHER, UNKNOWN))


def _age_band(rel):
    pairs = [
        ((rel.age >= lo) & (rel.age <= hi) if hi is not None else rel.age >= lo, label)
        for lo, hi, label in age_bands()
    ]
    return _cases(pairs, UNKNOWN)


def _adi_quintile(rel):
    names = {1: "Q1 least deprived", 5: "Q5 most deprived"}
    quintile = (rel.adi_decile + 1) // 2
    return _cases([(quintile == q, names.get(q, f"Q{q}")) for q in range(1, 6)], UNKNOWN)


def _sex(rel):
    return _cases([(rel.sex == s, s.capitalize()) for s in ("female", "male", "other")], UNKNOWN)


def builtin_dimensions(top_languages: Sequence[str] | None = None) -> dict[str, Dimension]:
    """The built-in dimensions by id, with the language dimension's named languages configurable.

    Parameters
    ----------
    top_languages : sequence of str, optional
        BCP-47 codes the language dimension names; others are "Other". Defaults to the ``top``
        column of ``languages.csv``.
    """
    race_labels = (
        "American Indian or Alaska Native",
        "Asian",
        "Black or African American",
        "Native Hawaiian or Pacific Islander",
        "White",
        MULTIRACIAL,
        UNKNOWN,
        DECLINED,
    )
    dims = [
        Dimension(
            "race_ethnicity",
            "Race and ethnicity",
            lambda rel: rel.race_ethnicity,
            combined_labels(),
            description="OMB SPD 15 (2024) combined question, bridged from 1997 data",
        ),
        Dimension(
            "race",
            "Race (1997 OMB)",
            lambda rel: rel.race,
            race_labels,
            needs=frozenset({"race"}),
            description="five 1997 races; MENA counted as White",
        ),
        Dimension(
            "ethnicity",
            "Ethnicity (1997 OMB)",
            lambda rel: rel.ethnicity,
            (HISPANIC, NOT_HISPANIC, UNKNOWN, DECLINED),
            needs=frozenset({"ethnicity"}),
        ),
        language_dimension(top_languages),
        Dimension(
            "interpreter_needed",
            "Interpreter needed",
            _yes_no("interpreter_needed", "Interpreter needed", "No interpreter needed"),
            ("Interpreter needed", "No interpreter needed", UNKNOWN),
        ),
        Dimension(
            "payer_group",
            "Payer",
            lambda rel: rel.payer_group,
            ("Medicare", "Medicaid", "Commercial", "Self-pay", OTHER, UNKNOWN),
        ),
        Dimension("sex", "Sex", _sex, ("Female", "Male", OTHER, UNKNOWN)),
        Dimension(
            "age_band",
            "Age band",
            _age_band,
            (*(label for _, _, label in age_bands()), UNKNOWN),
            ordered=True,
            needs=frozenset({"age"}),
            description="age in whole years at the measure's date",
        ),
        Dimension(
            "adi_quintile",
            "Area deprivation (ADI quintile)",
            _adi_quintile,
            ("Q1 least deprived", "Q2", "Q3", "Q4", "Q5 most deprived", UNKNOWN),
            ordered=True,
            description="quintile of the ADI state decile: deciles 1-2 are Q1, 9-10 are Q5",
        ),
        Dimension(
            "disability",
            "Disability",
            _yes_no("disability", "Disability", "No disability"),
            ("Disability", "No disability", UNKNOWN),
        ),
    ]
    return {d.id: d for d in dims}


BUILTIN_DIMENSION_IDS = tuple(builtin_dimensions(()))


def intersect(dims: Sequence[Dimension], id: str | None = None, name: str | None = None):
    """The intersection of several dimensions: one group per combination, "A / B"."""

    def compile(rel):
        labels = [d.expr(rel) for d in dims]
        out = labels[0]
        for label in labels[1:]:
            out = out.concat(" / ", label)
        return out

    return Dimension(
        id or "_x_".join(d.id for d in dims),
        name or " x ".join(d.name for d in dims),
        compile,
        needs=frozenset().union(*(d.needs for d in dims)),
        description="intersection of " + ", ".join(d.id for d in dims),
    )


def age_at(birth_date: ibis.Value, on: ibis.Value) -> ibis.Value:
    """Age in completed years on a date, in portable Ibis (no engine-specific date_diff)."""
    years = on.year() - birth_date.year()
    before_birthday = (on.month() * 100 + on.day()) < (birth_date.month() * 100 + birth_date.day())
    return years - before_birthday.cast("int64")


# Spark compiles Ibis's split() to a regex split and strip() to a TRIM of a character list it
# misreads (dropping 'v' and 'f'), so these two spell the same thing portably.
_SEPARATOR = "\x1f"  # ASCII unit separator: never in a code, and not special in a regex


def _split_codes(column: ibis.StringValue) -> ibis.ArrayValue:
    """Split "|"-joined raw codes into an array, identically on DuckDB and Spark."""
    return column.replace("|", _SEPARATOR).split(_SEPARATOR)


def _trim(column: ibis.StringValue) -> ibis.StringValue:
    """Leading and trailing white space removed, identically on DuckDB and Spark."""
    return column.re_replace(r"^\s+|\s+$", "")


def patient_race_ethnicity(patients: ibis.Table) -> ibis.Table:
    """Per patient: the 1997 `race` and `ethnicity` labels, derived in the backend from raw codes.

    The same code maps and rules as `race_1997` and `ethnicity`, as a portable Ibis query
    (split, unnest, join to the code map, any() per patient), so patient rows stay in the store.
    Patients with no usable code are absent; join with a left join and fill "Unknown".
    """
    keys = ibis.memtable(
        pa.Table.from_pandas(
            race_ethnicity_keys()[["key", "category", "white_rollup"]], preserve_index=False
        )
    )
    parts = [
        patients.select(
            "patient_id", field=ibis.literal(name), token=_split_codes(patients[column]).unnest()
        )
        for name, column in (("race", "race_codes"), ("ethnicity", "ethnicity_codes"))
    ]
    tokens = ibis.union(*parts)
    token = _trim(tokens.token).lower()
    tokens = tokens.mutate(key=ibis.ifelse(token.re_search(CDC_CODE), token.substr(0, 4), token))
    hits = tokens.join(keys, "key")
    cat = hits.category
    flags = hits.group_by("patient_id").aggregate(
        **{race: (cat == race).any() for race in RACES},
        white_detail=((cat == "white") & ~hits.white_rollup).any(),
        hispanic=(cat == "hispanic").any(),
        not_hispanic=(cat == "not_hispanic").any(),
        declined_race=((cat == "declined") & (hits.field == "race")).any(),
        declined_ethnicity=((cat == "declined") & (hits.field == "ethnicity")).any(),
    )
    white = flags.white_detail | flags.white | flags.mena
    races = {
        "American Indian or Alaska Native": flags.aian,
        "Asian": flags.asian,
        "Black or African American": flags.black,
        "Native Hawaiian or Pacific Islander": flags.nhpi,
        "White": white,
    }
    n_races = sum(flag.cast("int64") for flag in races.values())
    race = _cases(
        [(n_races >= 2, MULTIRACIAL)]
        + [(flag, label) for label, flag in races.items()]
        + [(flags.declined_race, DECLINED)],
        UNKNOWN,
    )
    eth = _cases(
        [
            (flags.hispanic, HISPANIC),
            (flags.not_hispanic, NOT_HISPANIC),
            (flags.declined_ethnicity, DECLINED),
        ],
        UNKNOWN,
    )
    return flags.select("patient_id", race=race, ethnicity=eth)

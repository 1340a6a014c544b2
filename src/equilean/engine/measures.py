"""Measure definitions in YAML: a safe expression language, line-numbered validation, loading."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import ibis
import ibis.common.exceptions as ibis_exc
import yaml
from ibis.common.annotations import ValidationError

from equilean.engine import dimensions as dims
from equilean.engine.errors import InputError
from equilean.engine.schema import TABLES

PILLARS = ("safety", "quality", "equity", "experience", "people", "stewardship")
TYPES = ("proportion", "rate", "mean", "median")
BETTER = ("lower", "higher")
FIELDS = (
    "id",
    "name",
    "pillar",
    "type",
    "table",
    "date",
    "unit",
    "denominator",
    "numerator",
    "value",
    "better",
    "per",
    "target",
    "dimensions",
    "description",
)
DEFAULT_DATE = {
    "encounters": "start_time",
    "census_days": "census_date",
    "appointments": "scheduled_time",
}
DEFAULT_PER = {"proportion": 100, "rate": 1000, "mean": 1, "median": 1}
MEASURE_TABLES = tuple(t for t in TABLES if t != "patients")
# Patient columns a measure or dimension expression may use, beside its own table's columns.
PATIENT_COLUMNS = tuple(
    c.name for c in TABLES["patients"] if c.name not in ("patient_id", "source")
)
DERIVED_COLUMNS = {"age": "int64"}


# ---------------------------------------------------------------------------------------------
# The expression language: tokenizer, recursive-descent parser, compiler to Ibis. Never eval.
# ---------------------------------------------------------------------------------------------


class ExpressionError(ValueError):
    """A syntax error in an expression, at a 0-based character position."""

    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.message = message
        self.position = position


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<>|<=|>=|<|>|=|\+|-|\*|/|\(|\)|,)
    """,
    re.VERBOSE,
)
KEYWORDS = {"and", "or", "not", "in", "is", "null", "between", "true", "false"}
_REFUSED = {
    ".": "attribute access is not allowed",
    "[": "indexing is not allowed",
    "]": "indexing is not allowed",
    ";": "only one expression is allowed",
    "@": "decorators and matrix operators are not allowed",
    "`": "backquotes are not allowed",
}


def tokenize(text: str) -> list[tuple[str, Any, int]]:
    """Split an expression into (kind, value, position) tokens, ending with ("end", None, n)."""
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            char = text[pos]
            reason = _REFUSED.get(char, "this character is not part of the expression language")
            raise ExpressionError(f"unexpected '{char}': {reason}", pos)
        kind, raw = match.lastgroup, match.group()
        if kind == "number":
            tokens.append(("number", float(raw) if re.search(r"[.eE]", raw) else int(raw), pos))
        elif kind == "string":
            tokens.append(("string", raw[1:-1].replace(raw[0] * 2, raw[0]), pos))
        elif kind == "name":
            low = raw.lower()
            tokens.append(("keyword", low, pos) if low in KEYWORDS else ("name", raw, pos))
        elif kind == "op":
            tokens.append(("op", raw, pos))
        pos = match.end()
    tokens.append(("end", None, len(text)))
    return tokens


class _Parser:
    """Recursive descent over the grammar in docs/measures.md."""

    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self, offset=0):
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def take(self):
        token = self.tokens[self.i]
        self.i += 1
        return token

    def accept(self, kind, value=None):
        token = self.peek()
        if token[0] == kind and (value is None or token[1] == value):
            self.i += 1
            return token
        return None

    def expect(self, kind, value, what):
        token = self.accept(kind, value)
        if token is None:
            got = self.peek()
            raise ExpressionError(f"expected {what}, found {_describe(got)}", got[2])
        return token

    def parse(self):
        node = self.disjunction()
        token = self.peek()
        if token[0] != "end":
            raise ExpressionError(f"unexpected {_describe(token)}", token[2])
        return node

    def disjunction(self):
        node = self.conjunction()
        while self.accept("keyword", "or"):
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self):
        node = self.negation()
        while self.accept("keyword", "and"):
            node = ("and", node, self.negation())
        return node

    def negation(self):
        if self.accept("keyword", "not"):
            return ("not", self.negation())
        return self.comparison()

    def comparison(self):
        left = self.additive()
        token = self.peek()
        if token[0] == "op" and token[1] in ("==", "=", "!=", "<>", "<", "<=", ">", ">="):
            self.take()
            right = self.additive()
            if "null" in (_literal_kind(left), _literal_kind(right)):
                raise ExpressionError(
                    "compare with null using 'is null' or 'is not null'", token[2]
                )
            op = {"=": "==", "<>": "!="}.get(token[1], token[1])
            return ("cmp", op, left, right)
        if self.accept("keyword", "is"):
            negated = bool(self.accept("keyword", "not"))
            self.expect("keyword", "null", "'null' after 'is'")
            return ("isnull", left, negated)
        negated = bool(
            token[0] == "keyword"
            and token[1] == "not"
            and self.peek(1)[:2] in (("keyword", "in"), ("keyword", "between"))
            and self.take()
        )
        if self.accept("keyword", "in"):
            self.expect("op", "(", "'(' after 'in'")
            items = [self.literal()]
            while self.accept("op", ","):
                items.append(self.literal())
            self.expect("op", ")", "')' to close the list")
            return ("in", left, tuple(items), negated)
        if self.accept("keyword", "between"):
            low = self.additive()
            self.expect("keyword", "and", "'and' in 'between a and b'")
            return ("between", left, low, self.additive(), negated)
        return left

    def additive(self):
        node = self.term()
        while (token := self.peek())[0] == "op" and token[1] in "+-":
            self.take()
            node = ("arith", token[1], node, self.term())
        return node

    def term(self):
        node = self.unary()
        while (token := self.peek())[0] == "op" and token[1] in "*/":
            self.take()
            node = ("arith", token[1], node, self.unary())
        return node

    def unary(self):
        if self.accept("op", "-"):
            return ("neg", self.unary())
        return self.primary()

    def literal(self):
        token = self.take()
        if token[0] in ("number", "string"):
            return token[1]
        if token[0] == "keyword" and token[1] in ("true", "false"):
            return token[1] == "true"
        if token[0] == "op" and token[1] == "-" and self.peek()[0] == "number":
            return -self.take()[1]
        raise ExpressionError(f"expected a literal in the list, found {_describe(token)}", token[2])

    def primary(self):
        token = self.take()
        kind, value, pos = token
        if kind in ("number", "string"):
            return ("lit", value)
        if kind == "keyword" and value in ("true", "false"):
            return ("lit", value == "true")
        if kind == "keyword" and value == "null":
            return ("lit", None)
        if kind == "name":
            if self.peek()[:2] == ("op", "("):
                raise ExpressionError(f"function calls such as '{value}(...)' are not allowed", pos)
            return ("col", value, pos)
        if kind == "op" and value == "(":
            node = self.disjunction()
            self.expect("op", ")", "')'")
            return node
        raise ExpressionError(f"unexpected {_describe(token)}", pos)


def _describe(token) -> str:
    kind, value, _ = token
    if kind == "end":
        return "end of the expression"
    return f"'{value}'" if kind != "string" else f"the string '{value}'"


def _literal_kind(node) -> str | None:
    return "null" if node[0] == "lit" and node[1] is None else None


def _walk_columns(node) -> Iterable[tuple[str, int]]:
    if node[0] == "col":
        yield node[1], node[2]
    elif node[0] != "lit":
        for part in node[1:]:
            if isinstance(part, tuple) and part and isinstance(part[0], str):
                yield from _walk_columns(part)


_COMPARE = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_ARITH = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}


def _compile(node, rel: ibis.Table) -> ibis.Value:
    kind = node[0]
    if kind == "col":
        return rel[node[1]]
    if kind == "lit":
        return ibis.null() if node[1] is None else ibis.literal(node[1])
    if kind == "not":
        return ~_compile(node[1], rel)
    if kind == "and":
        return _compile(node[1], rel) & _compile(node[2], rel)
    if kind == "or":
        return _compile(node[1], rel) | _compile(node[2], rel)
    if kind == "cmp":
        return _COMPARE[node[1]](_compile(node[2], rel), _compile(node[3], rel))
    if kind == "arith":
        return _ARITH[node[1]](_compile(node[2], rel), _compile(node[3], rel))
    if kind == "neg":
        return -_compile(node[1], rel)
    if kind == "isnull":
        value = _compile(node[1], rel)
        return value.notnull() if node[2] else value.isnull()
    if kind == "in":
        result = _compile(node[1], rel).isin(list(node[2]))
        return ~result if node[3] else result
    low, high = _compile(node[2], rel), _compile(node[3], rel)
    result = _compile(node[1], rel).between(low, high)
    return ~result if node[4] else result


@dataclass(frozen=True)
class Expression:
    """A parsed expression: its source text and syntax tree, compiled to Ibis on demand."""

    text: str
    tree: tuple

    def columns(self) -> set[str]:
        """The column names the expression reads."""
        return {name for name, _ in _walk_columns(self.tree)}

    def compile(self, rel: ibis.Table) -> ibis.Value:
        """The Ibis expression over `rel`, which must have every column in `columns()`."""
        return _compile(self.tree, rel)


def parse_expression(text: str) -> Expression:
    """Parse an expression of the measure language (see docs/measures.md).

    Parameters
    ----------
    text : str
        E.g. ``encounter_class == 'inpatient' and disposition != 'expired'``.

    Returns
    -------
    Expression

    Raises
    ------
    ExpressionError
        With the 0-based position of the first problem. Function calls, attribute access,
        indexing and anything outside the grammar are refused; nothing is ever evaluated.
    """
    return Expression(str(text), _Parser(str(text)).parse())


# ---------------------------------------------------------------------------------------------
# YAML with line numbers
# ---------------------------------------------------------------------------------------------


class Located(dict):
    """A YAML mapping that remembers the line (1-based) of the mapping and of each key."""

    line: int = 0
    lines: dict

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


class _LineLoader(yaml.SafeLoader):
    """A safe YAML loader whose mappings are `Located`."""


def _construct_located(loader: _LineLoader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    mapping = Located()
    mapping.line = node.start_mark.line + 1
    mapping.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise InputError(
                f"'{key}' is given twice",
                line=key_node.start_mark.line + 1,
                field=str(key),
                hint="keep one of them",
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_located)


def read_yaml(path: Path) -> Any:
    """Read a YAML file whose mappings carry line numbers."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(str(exc), file=str(path), hint="give a readable file") from exc
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise InputError(
            f"not valid YAML: {exc.problem}",
            file=str(path),
            line=mark.line + 1 if mark else None,
            hint="fix the YAML syntax",
        ) from exc
    except InputError as exc:
        exc.file = str(path)
        raise


# ---------------------------------------------------------------------------------------------
# Measures
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """A validated measure: what is counted, over which rows, and which way is better.

    For a proportion, `denominator` and `numerator` are conditions (rows counted); for a rate they
    are numbers summed (e.g. falls per patient_days); for a mean or median, `denominator` picks
    the rows and `value` is the number averaged.
    """

    id: str
    name: str
    pillar: str
    type: str
    table: str
    date: str
    unit: str
    denominator: Expression
    numerator: Expression | None
    value: Expression | None
    better: str
    per: float
    target: float | None = None
    dimensions: tuple[str, ...] = ()
    description: str = ""
    file: str | None = None
    line: int | None = None
    columns_used: frozenset[str] = field(default_factory=frozenset)


def joined_schema(table: str) -> ibis.Schema:
    """The columns a measure on `table` can use: its own, the patient's, and derived `age`."""
    own = {c.name: c.dtype for c in TABLES[table]}
    patient = {c.name: c.dtype for c in TABLES["patients"] if c.name in PATIENT_COLUMNS}
    return ibis.schema({**patient, **own, **DERIVED_COLUMNS})


def _suggest(name: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def compile_checked(
    text: Any, schema: ibis.Schema, where: dict, kind: str, errors: list[InputError]
) -> Expression | None:
    """Parse `text`, check its columns against `schema` and its type is `kind`; else add errors.

    `kind` is "boolean" or "numeric". `where` holds the InputError location (file, row, field).
    """
    if not isinstance(text, str | int | float | bool) or text is None:
        errors.append(InputError("expected an expression", **where, hint="write it as a string"))
        return None
    source = "true" if text is True else "false" if text is False else str(text)
    try:
        expr = parse_expression(source)
    except ExpressionError as exc:
        errors.append(
            InputError(
                f"{exc.message} (at character {exc.position + 1} of {source!r})",
                **where,
                hint="see the expression language in docs/measures.md",
            )
        )
        return None
    missing = sorted({name for name in expr.columns() if name not in schema})
    for name in missing:
        hint = _suggest(name, schema.names) or "use a column of the table or of patients"
        errors.append(InputError(f"unknown column '{name}'", **where, hint=hint))
    if missing:
        return None
    try:
        value = expr.compile(ibis.table(schema, name="measure_rows"))
    except (ibis_exc.IbisError, ValidationError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        errors.append(
            InputError(f"the types do not fit: {first}", **where, hint="check the column types")
        )
        return None
    dtype = value.type()
    fits = dtype.is_boolean() if kind == "boolean" else dtype.is_numeric() or dtype.is_boolean()
    if not fits:
        errors.append(
            InputError(
                f"expected a {kind} expression, this one is {dtype}",
                **where,
                hint="a condition for proportions, a number for rates and values",
            )
        )
        return None
    return expr


def _number(raw: Any, where: dict, errors: list[InputError]) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        errors.append(InputError(f"expected a number, got {raw!r}", **where))
        return None
    return raw


def _choice(raw: Any, options: tuple[str, ...], where: dict, errors: list[InputError]) -> str:
    if raw not in options:
        hint = _suggest(str(raw), options) or f"use one of {', '.join(options)}"
        errors.append(InputError(f"'{raw}' is not one of {', '.join(options)}", **where, hint=hint))
    return raw


def parse_measure(
    raw: Mapping, file: str | None, known_dimensions: Iterable[str], errors: list[InputError]
) -> Measure | None:
    """Validate one measure mapping; append every problem to `errors`; the Measure if none."""
    before = len(errors)
    line_of = raw.line_of if isinstance(raw, Located) else (lambda _key: None)

    def where(key: str) -> dict:
        return {"file": file, "line": line_of(key), "field": key}

    for key in raw:
        if key not in FIELDS:
            hint = _suggest(str(key), FIELDS) or f"the fields are {', '.join(FIELDS)}"
            errors.append(InputError(f"unknown field '{key}'", **where(str(key)), hint=hint))
    for key in ("id", "name", "pillar", "type", "table", "denominator", "better"):
        if raw.get(key) in (None, ""):
            errors.append(InputError(f"'{key}' is required", **where(key)))
    mid = str(raw.get("id") or "")
    if mid and not re.fullmatch(r"[a-z][a-z0-9_]*", mid):
        errors.append(InputError(f"id '{mid}' must be lower_snake_case", **where("id")))
    choices = (("pillar", PILLARS), ("type", TYPES), ("better", BETTER), ("table", MEASURE_TABLES))
    pillar, mtype, better, table = (
        _choice(raw[key], options, where(key), errors) if raw.get(key) else None
        for key, options in choices
    )
    # The expressions can still be checked, and their errors reported, unless the table or type
    # they depend on is itself wrong.
    if table not in MEASURE_TABLES or mtype not in TYPES or not raw.get("denominator"):
        return None
    schema = joined_schema(table)
    date = raw.get("date", DEFAULT_DATE[table])
    if date not in schema or not (schema[date].is_date() or schema[date].is_timestamp()):
        hint = _suggest(str(date), schema.names) or "name a date or timestamp column"
        errors.append(
            InputError(f"'{date}' is not a date column of {table}", **where("date"), hint=hint)
        )
    unit = raw.get("unit", "unit")
    if unit not in {c.name for c in TABLES[table]}:
        hint = _suggest(str(unit), [c.name for c in TABLES[table]]) or "name the unit column"
        errors.append(
            InputError(f"'{unit}' is not a column of {table}", **where("unit"), hint=hint)
        )
    den_kind = "numeric" if mtype == "rate" else "boolean"
    denominator = compile_checked(
        raw["denominator"], schema, where("denominator"), den_kind, errors
    )
    numerator = value = None
    if mtype in ("proportion", "rate"):
        if raw.get("numerator") in (None, ""):
            errors.append(InputError(f"a {mtype} needs a numerator", **where("numerator")))
        else:
            numerator = compile_checked(
                raw["numerator"], schema, where("numerator"), den_kind, errors
            )
    else:
        if raw.get("value") in (None, ""):
            errors.append(InputError(f"a {mtype} needs a value", **where("value")))
        else:
            value = compile_checked(raw["value"], schema, where("value"), "numeric", errors)
        if raw.get("numerator") not in (None, ""):
            errors.append(
                InputError(f"a {mtype} has a value, not a numerator", **where("numerator"))
            )
    per = _number(raw.get("per", DEFAULT_PER[mtype]), where("per"), errors)
    target = raw.get("target")
    if target is not None:
        target = _number(target, where("target"), errors)
    known = set(known_dimensions)
    wanted = raw.get("dimensions", list(dims.BUILTIN_DIMENSION_IDS))
    if not isinstance(wanted, list) or not all(isinstance(d, str) for d in wanted):
        errors.append(InputError("expected a list of dimension ids", **where("dimensions")))
        wanted = []
    for dim in wanted:
        if dim not in known:
            hint = _suggest(dim, known) or f"use one of {', '.join(sorted(known))}"
            errors.append(
                InputError(f"unknown dimension '{dim}'", **where("dimensions"), hint=hint)
            )
    if len(errors) > before:
        return None
    used = set(denominator.columns())
    for expr in (numerator, value):
        if expr is not None:
            used |= expr.columns()
    return Measure(
        id=mid,
        name=str(raw["name"]),
        pillar=pillar,
        type=mtype,
        table=table,
        date=date,
        unit=unit,
        denominator=denominator,
        numerator=numerator,
        value=value,
        better=better,
        per=float(per),
        target=None if target is None else float(target),
        dimensions=tuple(wanted),
        description=str(raw.get("description") or "").strip(),
        file=file,
        line=line_of("id"),
        columns_used=frozenset(used),
    )


# ---------------------------------------------------------------------------------------------
# Custom dimensions in YAML
# ---------------------------------------------------------------------------------------------


def _column_dimension(column: str):
    return lambda rel: rel[column].cast("string")


def _cases_dimension(conditions: list[tuple[Expression, str]], default: str):
    def compile(rel):
        pairs = [(expr.compile(rel).fill_null(False), label) for expr, label in conditions]
        return ibis.cases(*[(cond, ibis.literal(label)) for cond, label in pairs], else_=default)

    return compile


def parse_dimension(
    raw: Mapping, file: str | None, known: Mapping[str, dims.Dimension], errors: list[InputError]
) -> dims.Dimension | None:
    """Validate one custom dimension mapping (cases, column, based_on language, or intersect)."""
    before = len(errors)
    line_of = raw.line_of if isinstance(raw, Located) else (lambda _key: None)

    def where(key: str) -> dict:
        return {"file": file, "line": line_of(key), "field": key}

    did = raw.get("id")
    if not isinstance(did, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", did):
        errors.append(InputError("a dimension needs a lower_snake_case id", **where("id")))
        return None
    name = str(raw.get("name") or did)
    kinds = [k for k in ("cases", "column", "based_on", "intersect") if k in raw]
    if len(kinds) != 1:
        errors.append(
            InputError(
                "give exactly one of cases, column, based_on or intersect",
                **where("id"),
                hint="see 'how to write a dimension' in docs/data-guide.md",
            )
        )
        return None
    kind = kinds[0]
    schema = joined_schema("encounters")
    patient_schema = ibis.schema({n: schema[n] for n in (*PATIENT_COLUMNS, *DERIVED_COLUMNS)})
    if kind == "intersect":
        parts = raw["intersect"]
        if not isinstance(parts, list) or len(parts) < 2:
            errors.append(
                InputError(
                    "intersect needs a list of two or more dimension ids", **where("intersect")
                )
            )
            return None
        missing = [p for p in parts if p not in known]
        for part in missing:
            hint = _suggest(str(part), known) or "define it first or use a built-in"
            errors.append(
                InputError(f"unknown dimension '{part}'", **where("intersect"), hint=hint)
            )
        return None if missing else dims.intersect([known[p] for p in parts], did, name)
    if kind == "based_on":
        if raw["based_on"] != "language" or not isinstance(raw.get("top"), list):
            errors.append(
                InputError("based_on supports 'language' with a 'top' list", **where("based_on"))
            )
            return None
        return dims.language_dimension([str(t).lower() for t in raw["top"]], did, name)
    if kind == "column":
        column = raw["column"]
        if column not in patient_schema:
            hint = _suggest(str(column), patient_schema.names) or "name a patient column"
            errors.append(InputError(f"unknown column '{column}'", **where("column"), hint=hint))
            return None
        return dims.Dimension(did, name, _column_dimension(column))
    conditions = []
    cases = raw["cases"]
    if not isinstance(cases, list) or not cases:
        errors.append(InputError("cases must be a list of {group, when}", **where("cases")))
        return None
    for case in cases:
        case_where = {
            "file": file,
            "field": "cases",
            "line": case.line if isinstance(case, Located) else line_of("cases"),
        }
        if not isinstance(case, Mapping) or "group" not in case or "when" not in case:
            errors.append(InputError("each case needs 'group' and 'when'", **case_where))
            continue
        expr = compile_checked(case["when"], patient_schema, case_where, "boolean", errors)
        if expr is not None:
            conditions.append((expr, str(case["group"])))
    if len(errors) > before:
        return None
    default = str(raw.get("else", dims.OTHER))
    labels = (*dict.fromkeys(label for _, label in conditions), default)
    needs = frozenset(c for expr, _ in conditions for c in expr.columns() if c in DERIVED_COLUMNS)
    return dims.Dimension(
        did,
        name,
        _cases_dimension(conditions, default),
        labels,
        bool(raw.get("ordered", False)),
        needs,
        str(raw.get("description") or ""),
    )


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


@dataclass
class Catalogue:
    """Measures and custom dimensions read from YAML files, with every problem found."""

    measures: dict[str, Measure] = field(default_factory=dict)
    dimensions: dict[str, dims.Dimension] = field(default_factory=dict)
    errors: list[InputError] = field(default_factory=list)


def _yaml_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
    return [path]


def read_catalogue(paths: Iterable[str | Path], base: Catalogue | None = None) -> Catalogue:
    """Read measure and dimension files, collecting every error instead of stopping at the first.

    A file holds a mapping with ``measures:`` and/or ``dimensions:`` lists, a list of measures,
    or one measure. Dimensions are read before measures so a measure may use them.
    """
    cat = Catalogue(
        dict(base.measures) if base else {},
        dict(base.dimensions) if base else dims.builtin_dimensions(),
    )
    documents = []
    for path in paths:
        for file in _yaml_files(Path(path)):
            try:
                doc = read_yaml(file)
            except InputError as exc:
                cat.errors.append(exc)
                continue
            if isinstance(doc, Mapping) and ("measures" in doc or "dimensions" in doc):
                extra = [k for k in doc if k not in ("measures", "dimensions")]
                for key in extra:
                    cat.errors.append(
                        InputError(
                            f"unknown top-level key '{key}'",
                            file=str(file),
                            line=doc.line_of(key),
                            field=str(key),
                            hint="use measures: and dimensions:",
                        )
                    )
                documents.append((file, doc.get("dimensions") or [], doc.get("measures") or []))
            elif isinstance(doc, list):
                documents.append((file, [], doc))
            elif isinstance(doc, Mapping):
                documents.append((file, [], [doc]))
            else:
                cat.errors.append(
                    InputError(
                        "expected measures",
                        file=str(file),
                        hint="start with 'measures:' and a list",
                    )
                )
    for file, dim_list, _ in documents:
        for raw in dim_list:
            dim = _entry(raw, file, cat, parse_dimension, cat.dimensions)
            if dim is not None:
                cat.dimensions[dim.id] = dim
    for file, _, measure_list in documents:
        for raw in measure_list:
            measure = _entry(raw, file, cat, parse_measure, list(cat.dimensions))
            if measure is None:
                continue
            if measure.id in cat.measures:
                first = cat.measures[measure.id]
                cat.errors.append(
                    InputError(
                        f"measure id '{measure.id}' is already at {first.file}:{first.line}",
                        file=str(file),
                        line=measure.line,
                        field="id",
                        hint="give each measure its own id",
                    )
                )
                continue
            cat.measures[measure.id] = measure
    return cat


def _entry(raw, file: Path, cat: Catalogue, parse, known):
    if not isinstance(raw, Mapping):
        cat.errors.append(
            InputError(
                f"expected a mapping, got {type(raw).__name__}",
                file=str(file),
                hint="each entry is a mapping of fields",
            )
        )
        return None
    return parse(raw, str(file), known, cat.errors)


def check(path: str | Path) -> list[InputError]:
    """Every problem in a measure file or folder, each with file, line and field.

    Parameters
    ----------
    path : str or pathlib.Path
        A YAML file or a folder of them. Built-in dimensions and measure ids are known, so a file
        may use built-in dimensions and must not reuse a built-in measure id.

    Returns
    -------
    list of InputError
        Empty when the file is valid. Backs ``equilean measures check FILE``.
    """
    return read_catalogue([path], builtin_catalogue()).errors


def builtin_dir() -> Path:
    """The folder of the built-in measure library."""
    return Path(str(resources.files("equilean.engine") / "data" / "measures"))


@cache
def builtin_catalogue() -> Catalogue:
    """The built-in measures and dimensions; raises if the bundled library is invalid."""
    cat = read_catalogue([builtin_dir()])
    if cat.errors:
        raise cat.errors[0]
    return cat


def builtin_measures() -> dict[str, Measure]:
    """The built-in measure library by id, read from ``engine/data/measures``."""
    return dict(builtin_catalogue().measures)


def load_measures(path_or_dir: str | Path, with_builtins: bool = False) -> dict[str, Measure]:
    """Read and validate measures from a YAML file or folder.

    Parameters
    ----------
    path_or_dir : str or pathlib.Path
        A YAML file or a folder of ``*.yaml`` files.
    with_builtins : bool
        Also return the built-in measures (the file's ids must then be new).

    Returns
    -------
    dict of str to Measure

    Raises
    ------
    InputError
        The first problem, with how many more there are; `check` lists them all.
    """
    cat = read_catalogue([path_or_dir], builtin_catalogue() if with_builtins else None)
    if cat.errors:
        first = cat.errors[0]
        if len(cat.errors) > 1:
            first.message += f" (and {len(cat.errors) - 1} more; run `equilean measures check`)"
        raise first
    return cat.measures


def load_catalogue(path_or_dir: str | Path) -> Catalogue:
    """Read measures and custom dimensions together (built-ins included); raise the first error."""
    cat = read_catalogue([path_or_dir], builtin_catalogue())
    if cat.errors:
        raise cat.errors[0]
    return cat

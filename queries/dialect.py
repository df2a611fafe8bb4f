"""The few places PostgreSQL and SQLite differ, each one construct compiled per dialect.

Queries call `time_bucket`, `value_bucket`, `json_number` and `json_text` and never ask which
database they are on.
"""

from __future__ import annotations

from sqlalchemy import DateTime, Float, Integer, Text, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

# -- time buckets -------------------------------------------------------------------------------


class time_bucket(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """The start of the fixed-size UTC bucket (in whole seconds since the epoch) that holds `col`."""

    type = DateTime()
    inherit_cache = True
    name = "time_bucket"

    def __init__(self, col, seconds: int):
        if int(seconds) <= 0:
            raise ValueError("bucket size must be positive")
        super().__init__(col, literal(int(seconds), Integer))


@compiles(time_bucket)
def _time_bucket_default(element, compiler, **kw):  # str(statement) while debugging, and SQLAlchemy's own walks
    col, seconds = (compiler.process(c, **kw) for c in element.clauses)
    return f"time_bucket({col}, {seconds})"


@compiles(time_bucket, "postgresql")
def _time_bucket_pg(element, compiler, **kw):
    col, seconds = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"(to_timestamp(floor(extract(epoch from {col}) / {seconds}) * {seconds}) AT TIME ZONE 'UTC')"
    )


@compiles(time_bucket, "sqlite")
def _time_bucket_sqlite(element, compiler, **kw):
    col, seconds = (compiler.process(c, **kw) for c in element.clauses)
    return f"datetime((CAST(strftime('%s', {col}) AS INTEGER) / {seconds}) * {seconds}, 'unixepoch')"


# -- value buckets ------------------------------------------------------------------------------


class value_bucket(FunctionElement):  # noqa: N801
    """The integer index of the fixed-width bucket holding a non-negative double.

    `floor(0.29 * 100)` is 28 in floating point, so the value is scaled, rounded to 9 places (far
    below the stored precision of the signals we bucket) and only then floored: a stored 0.29 lands
    in bucket 29 of width 0.01 on both databases.
    """

    type = Integer()
    inherit_cache = True
    name = "value_bucket"

    def __init__(self, col, scale: int):
        if int(scale) <= 0:
            raise ValueError("scale must be positive")
        super().__init__(col, literal(int(scale), Integer))


@compiles(value_bucket, "postgresql")
def _value_bucket_pg(element, compiler, **kw):
    col, scale = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(floor(round(CAST({col} * {scale} AS numeric), 9)) AS integer)"


@compiles(value_bucket, "sqlite")
def _value_bucket_sqlite(element, compiler, **kw):
    col, scale = (compiler.process(c, **kw) for c in element.clauses)
    # CAST AS INTEGER truncates toward zero, which is floor for the non-negative values we bucket.
    return f"CAST(round({col} * {scale}, 9) AS INTEGER)"


def bucket_scale(width: float) -> int:
    """Buckets per unit for a width such as 0.05 or 0.01 (widths must divide 1 exactly)."""
    scale = round(1 / width)
    if scale <= 0 or abs(scale * width - 1) > 1e-9:
        raise ValueError(f"bucket width {width} must divide 1 exactly (0.1, 0.05, 0.01, …)")
    return scale


# -- JSON ---------------------------------------------------------------------------------------


def _path_literal(path: tuple[str, ...]) -> None:
    for key in path:
        if not key.replace("_", "").isalnum():
            raise ValueError(f"JSON path keys are code constants, got {key!r}")


class json_number(FunctionElement):  # noqa: N801
    """A number at a JSON path, or NULL when the value there is missing or not a number."""

    type = Float()
    inherit_cache = True
    name = "json_number"

    def __init__(self, col, *path: str):
        _path_literal(path)
        self.path = path
        super().__init__(col)


class json_text(FunctionElement):  # noqa: N801
    """A string at a JSON path (NULL when missing or not a string)."""

    type = Text()
    inherit_cache = True
    name = "json_text"

    def __init__(self, col, *path: str):
        _path_literal(path)
        self.path = path
        super().__init__(col)


class json_has(FunctionElement):  # noqa: N801
    """True when the JSON value at the path is present and not JSON null."""

    type = Integer()
    inherit_cache = True
    name = "json_has"

    def __init__(self, col, *path: str):
        _path_literal(path)
        self.path = path
        super().__init__(col)


def _pg_path(path: tuple[str, ...]) -> str:
    return "'{" + ",".join(path) + "}'"


def _sqlite_path(path: tuple[str, ...]) -> str:
    return "'$" + "".join(f'."{k}"' for k in path) + "'"


@compiles(json_number, "postgresql")
def _json_number_pg(element, compiler, **kw):
    col = compiler.process(list(element.clauses)[0], **kw)
    p = _pg_path(element.path)
    return f"(CASE WHEN jsonb_typeof({col} #> {p}) = 'number' THEN ({col} #>> {p})::double precision END)"


@compiles(json_number, "sqlite")
def _json_number_sqlite(element, compiler, **kw):
    col = compiler.process(list(element.clauses)[0], **kw)
    p = _sqlite_path(element.path)
    return f"(CASE WHEN json_type({col}, {p}) IN ('integer', 'real') THEN json_extract({col}, {p}) END)"


@compiles(json_text, "postgresql")
def _json_text_pg(element, compiler, **kw):
    col = compiler.process(list(element.clauses)[0], **kw)
    p = _pg_path(element.path)
    return f"(CASE WHEN jsonb_typeof({col} #> {p}) = 'string' THEN ({col} #>> {p}) END)"


@compiles(json_text, "sqlite")
def _json_text_sqlite(element, compiler, **kw):
    col = compiler.process(list(element.clauses)[0], **kw)
    p = _sqlite_path(element.path)
    return f"(CASE WHEN json_type({col}, {p}) = 'text' THEN json_extract({col}, {p}) END)"


@compiles(json_has, "postgresql")
def _json_has_pg(element, compiler, **kw):
    col = compiler.process(list(element.clauses)[0], **kw)
    p = _pg_path(element.path)
    return f"(CASE WHEN coalesce(jsonb_typeof({col} #> {p}), 'null') <> 'null' THEN 1 ELSE 0 END)"


@compiles(json_has, "sqlite")
def _json_has_sqlite(element, compiler, **kw):
    col = compiler.process(list(element.clauses)[0], **kw)
    p = _sqlite_path(element.path)
    return f"(CASE WHEN coalesce(json_type({col}, {p}), 'null') <> 'null' THEN 1 ELSE 0 END)"


class json_is_true(FunctionElement):  # noqa: N801
    """1 when the JSON value at the path is the literal true, else 0 (missing, false, null, "true")."""

    type = Integer()
    inherit_cache = True
    name = "json_is_true"

    def __init__(self, col, *path: str):
        _path_literal(path)
        self.path = path
        super().__init__(col)


@compiles(json_is_true, "postgresql")
def _json_is_true_pg(element, compiler, **kw):
    col = compiler.process(list(element.clauses)[0], **kw)
    p = _pg_path(element.path)
    return f"(CASE WHEN ({col} #> {p}) = 'true'::jsonb THEN 1 ELSE 0 END)"


@compiles(json_is_true, "sqlite")
def _json_is_true_sqlite(element, compiler, **kw):
    col = compiler.process(list(element.clauses)[0], **kw)
    p = _sqlite_path(element.path)
    return f"(CASE WHEN json_type({col}, {p}) = 'true' THEN 1 ELSE 0 END)"


# -- JSON object entries ------------------------------------------------------------------------

#: The columns of `json_entries(col).table_valued(*JSON_ENTRY_COLUMNS)`, the same on both databases.
JSON_ENTRY_COLUMNS = ("key", "type", "value")


class json_entries(FunctionElement):  # noqa: N801
    """The top-level entries of a JSON object as rows, shaped like SQLite's `json_each`.

    Columns (JSON_ENTRY_COLUMNS): `key`; `type`, which is 'text' for a string on both databases
    (other labels follow SQLite: integer, real, true, false, null, object, array); and `value`, the
    string itself when `type` is 'text' (compare other values only through `type`). Anything that is
    not an object (SQL NULL, JSON null, an array, a scalar) has no entries. Join it ON true:
    `t.join(entries := json_entries(t.c.col).table_valued(*JSON_ENTRY_COLUMNS), true())`. On
    PostgreSQL it renders as a LATERAL subquery over `jsonb_each`.
    """

    inherit_cache = True
    name = "json_entries"

    def __init__(self, col):
        super().__init__(col)


@compiles(json_entries, "postgresql")
def _json_entries_pg(element, compiler, **kw):
    col = compiler.process(list(element.clauses)[0], **kw)
    kind = (
        "CASE jsonb_typeof(e.value) WHEN 'string' THEN 'text' WHEN 'boolean' THEN e.value #>> '{}' "
        "WHEN 'number' THEN CASE WHEN (e.value #>> '{}') ~ '^-?[0-9]+$' THEN 'integer' ELSE 'real' END "
        "ELSE jsonb_typeof(e.value) END"
    )
    return (
        f"LATERAL (SELECT e.key AS key, {kind} AS type, e.value #>> '{{}}' AS value FROM jsonb_each("
        f"CASE WHEN jsonb_typeof({col}) = 'object' THEN {col} ELSE '{{}}'::jsonb END) AS e)"
    )


@compiles(json_entries, "sqlite")
def _json_entries_sqlite(element, compiler, **kw):
    col = compiler.process(list(element.clauses)[0], **kw)
    return f"json_each(CASE WHEN json_type({col}) = 'object' THEN {col} ELSE '{{}}' END)"


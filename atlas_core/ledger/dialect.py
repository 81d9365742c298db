"""What differs between SQLite and PostgreSQL, in one place: statements are written once, for SQLite.

The ledger's statements are written in SQLite's dialect, and most of them PostgreSQL accepts as
they are once placeholders are translated. ``to_postgres`` rewrites the rest mechanically, once
per statement text (cached):

- placeholders: ``?`` becomes ``%s`` and ``:name`` becomes ``%(name)s`` (``%`` is doubled);
- planner hints SQLite needs and PostgreSQL has no use for: ``INDEXED BY x``, a unary ``+``;
- ``x IS ?`` (SQLite's null-safe equality) becomes ``IS NOT DISTINCT FROM``; ``instr`` ``strpos``;
- JSON: ``json_group_array``/``json_array`` become ``json_agg``/``json_build_array`` (as text,
  ``'[]'`` when empty, as SQLite answers); ``json_extract(x, '$.a')`` and ``'$[1]'`` become
  ``#>>`` paths; ``json_each`` a set-returning function of the same columns (``COMPAT_FUNCTIONS``);
  a list parameter ``col IN (SELECT value FROM json_each(?))`` is cast to the column's type;
- ``CAST(x AS INTEGER)`` truncates as SQLite does (PostgreSQL rounds);
- a subquery in FROM gets the alias PostgreSQL 15 requires;
- ``UPDATE t ... WHERE id = (SELECT id FROM t ... LIMIT 1)`` (a claim) locks its pick with
  ``FOR UPDATE SKIP LOCKED``.

DDL of the migrations (``CREATE TABLE``, ``ALTER TABLE ... ADD COLUMN``) is translated too:
``INTEGER PRIMARY KEY`` becomes an identity column, ``INTEGER`` ``BIGINT``, ``REAL``
``DOUBLE PRECISION``, so migrations written in the common subset need no edits.

What cannot be rewritten from the text alone (a 0/1 parameter used as a truth value) is written
so both engines accept it: pass a Python bool there.
"""

from __future__ import annotations

import re
from functools import lru_cache

POSTGRES_SCHEMES = ("postgresql://", "postgres://")

# Integer columns of the ledger that a JSON list parameter is compared with (the rest are text).
INTEGER_COLUMNS = frozenset({
    "id", "upload_id", "chunk_id", "retry_of", "row_number", "sequence", "attempt", "attempts",
})

# Functions PostgreSQL lacks, made once per database (engine glue, not part of the schema's
# migrations): SQLite's json_each (key, value, type), json_type's names, json_valid, and sum()
# over truth values (SQLite counts ``sum(state = 'x')``).
COMPAT_FUNCTIONS = [
    """
    CREATE OR REPLACE FUNCTION atlas_json_type(v json) RETURNS text LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE json_typeof(v)
            WHEN 'number' THEN CASE WHEN v::text ~ '^-?[0-9]+$' THEN 'integer' ELSE 'real' END
            WHEN 'string' THEN 'text'
            WHEN 'boolean' THEN v::text
            ELSE json_typeof(v) END
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION atlas_json_each(doc json)
    RETURNS TABLE (key text, value json, type text) LANGUAGE sql IMMUTABLE AS $$
        SELECT e.key, e.value, atlas_json_type(e.value) FROM json_each(
            CASE WHEN json_typeof(doc) = 'object' THEN doc ELSE '{}'::json END) AS e
        UNION ALL
        SELECT (a.n - 1)::text, a.value, atlas_json_type(a.value) FROM json_array_elements(
            CASE WHEN json_typeof(doc) = 'array' THEN doc ELSE '[]'::json END)
            WITH ORDINALITY AS a(value, n)
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION json_valid(doc text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
    BEGIN
        PERFORM doc::json;
        RETURN doc IS NOT NULL;
    EXCEPTION WHEN others THEN
        RETURN false;
    END
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION atlas_bool_sum(acc bigint, v boolean) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN v IS NULL THEN acc
                                           ELSE coalesce(acc, 0) + v::int END $$
    """,
    """
    DO $$ BEGIN
        CREATE AGGREGATE sum(boolean) (sfunc = atlas_bool_sum, stype = bigint);
    EXCEPTION WHEN duplicate_function THEN NULL;
    END $$
    """,
]


def is_database_url(location: object) -> bool:
    """True when a ledger location is a PostgreSQL URL rather than a SQLite file path."""
    return isinstance(location, str) and location.strip().lower().startswith(POSTGRES_SCHEMES)


# Tokens: string literals, quoted identifiers, and everything else piece by piece.
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|::|:[A-Za-z_]\w*|\?|%|[^'\"?:%]+|.", re.S)


def _placeholders(sql: str) -> str:
    out = []
    for tok in _TOKEN.findall(sql):
        if tok == "?":
            out.append("%s")
        elif tok == "%":
            out.append("%%")
        elif tok.startswith(":") and tok != "::" and len(tok) > 1:
            out.append(f"%({tok[1:]})s")
        elif tok.startswith("'"):
            out.append(tok.replace("%", "%%"))  # psycopg reads % inside literals too
        else:
            out.append(tok)
    return "".join(out)


def _split_literals(sql: str) -> list[tuple[bool, str]]:
    """(is_literal, text) pieces, so rewrites never touch a string literal's text."""
    pieces: list[tuple[bool, str]] = []
    for m in re.finditer(r"'(?:[^']|'')*'|[^']+", sql):
        pieces.append((m.group().startswith("'"), m.group()))
    return pieces


def _outside_literals(sql: str, fn) -> str:  # type: ignore[no-untyped-def]
    return "".join(text if lit else fn(text) for lit, text in _split_literals(sql))


def _matching(sql: str, open_at: int) -> int:
    """The index of the parenthesis closing the one at ``open_at`` (literals skipped)."""
    depth, i, n = 0, open_at, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "'":
            i = sql.index("'", i + 1)
            while i + 1 < n and sql[i + 1] == "'":
                i = sql.index("'", i + 2)
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unbalanced parentheses in {sql!r}")


def _rewrite_calls(sql: str, name: str, fn) -> str:  # type: ignore[no-untyped-def]
    """Replace every call ``name(args)`` (case-insensitive) by ``fn(args)``, innermost first.

    ``fn`` may take the text after the call as a second argument (what the call is used as).
    """
    pattern = re.compile(rf"(?<![\w.]){name}\s*\(", re.I)
    starts = [m for m in pattern.finditer(sql) if not _in_literal(sql, m.start())]
    wants_after = fn.__code__.co_argcount == 2
    # Right to left: a later call is inner or after, so rewriting it keeps earlier offsets valid.
    for m in reversed(starts):
        open_at = m.end() - 1
        close = _matching(sql, open_at)
        args = sql[open_at + 1 : close]
        new = fn(args, sql[close + 1 :]) if wants_after else fn(args)
        sql = sql[: m.start()] + new + sql[close + 1 :]
    return sql


def _in_literal(sql: str, pos: int) -> bool:
    return sql.count("'", 0, pos) % 2 == 1


def _split_args(args: str) -> list[str]:
    parts, depth, start, i = [], 0, 0, 0
    while i < len(args):
        ch = args[i]
        if ch == "'":
            i = args.index("'", i + 1)
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(args[start:i].strip())
            start = i + 1
        i += 1
    parts.append(args[start:].strip())
    return parts


def _json_path(path_literal: str) -> str:
    """SQLite's '$.a.b[1]' as PostgreSQL's '{a,b,1}'."""
    path = path_literal.strip()[1:-1]
    if not path.startswith("$"):
        raise ValueError(f"unsupported JSON path {path_literal}")
    keys = re.findall(r"\.([A-Za-z_]\w*)|\[(\d+)\]", path[1:])
    return "'{" + ",".join(a or b for a, b in keys) + "}'"


_SQL_TYPES = frozenset({"integer", "int", "bigint", "real", "text", "numeric", "boolean", "double"})
_OUTPUT_ALIAS = re.compile(r"\s+AS\s+(\w+)", re.I)


def _json_extract(args: str, after: str) -> str:
    doc, path = _split_args(args)
    alias = _OUTPUT_ALIAS.match(after)
    if alias and alias.group(1).lower() not in _SQL_TYPES:
        # A value the query hands back: as JSON, which psycopg reads into the number, text or
        # null it is, as SQLite hands it back. Inside a statement, text (``#>>``) compares.
        return f"(CAST({doc} AS json) #> {_json_path(path)})"
    return f"(CAST({doc} AS json) #>> {_json_path(path)})"


def _json_type(args: str) -> str:
    parts = _split_args(args)
    doc = f"CAST({parts[0]} AS json)"
    if len(parts) == 2:
        doc = f"({doc} #> {_json_path(parts[1])})"
    return f"atlas_json_type({doc})"


def _json_each(args: str) -> str:
    if re.fullmatch(r"\s*(\?|:[A-Za-z_]\w*)\s*", args):
        # A parameter is a list the statement walks (``FROM json_each(?) AS r``): the built-in
        # set function, whose rows the planner can join by index, names its column value too.
        return f"json_array_elements(CAST({args.strip()} AS json))"
    return f"atlas_json_each(CAST({args} AS json))"


def _cast(args: str) -> str:
    m = re.match(r"(?s)(.*)\s+AS\s+(INTEGER|INT|BIGINT)\s*$", args, re.I)
    if m is None:
        return f"CAST({args})"
    inner = m.group(1)
    if "json" in inner.lower() or "#>>" in inner:  # text from JSON: PostgreSQL reads it exactly
        return f"CAST({inner} AS BIGINT)"
    return f"CAST(trunc({inner}) AS BIGINT)"  # SQLite truncates a real; PostgreSQL would round


_LIST_PARAM = re.compile(
    r"(?P<col>(?:\w+\.)?(?P<name>\w+))\s+(?P<neg>NOT\s+)?IN\s*\(\s*SELECT\s+value\s+FROM\s+"
    r"json_each\((?P<arg>[^()]*)\)\s*\)",
    re.I,
)
_BARE_LIST = re.compile(r"\(\s*SELECT\s+value\s+FROM\s+json_each\((?P<arg>[^()]*)\)\s*\)", re.I)


def _list_params(sql: str) -> str:
    def typed(m: re.Match[str]) -> str:
        value = "value::bigint" if m.group("name").lower() in INTEGER_COLUMNS else "value"
        return (f"{m.group('col')} {m.group('neg') or ''}IN (SELECT {value} FROM"
                f" json_array_elements_text(CAST({m.group('arg')} AS json)) AS value)")

    sql = _LIST_PARAM.sub(typed, sql)
    return _BARE_LIST.sub(
        lambda m: f"(SELECT value FROM json_array_elements_text(CAST({m.group('arg')} AS json)) AS value)",
        sql,
    )


_INT_EQUALS_JSON = re.compile(r"(?:\w+\.)?(?P<name>\w+)\s*=\s*(?=json_extract\s*\()", re.I)


def _typed_json_comparisons(sql: str) -> str:
    """``id = json_extract(...)``: PostgreSQL reads JSON as text, so an integer column casts it."""
    for m in reversed(list(_INT_EQUALS_JSON.finditer(sql))):
        if m.group("name").lower() not in INTEGER_COLUMNS or _in_literal(sql, m.start()):
            continue
        open_at = sql.index("(", m.end())
        close = _matching(sql, open_at)
        sql = f"{sql[: m.end()]}CAST({sql[m.end() : close + 1]} AS INTEGER){sql[close + 1 :]}"
    return sql


_KEYWORDS = frozenset({
    "null", "case", "when", "then", "else", "end", "and", "or", "not", "is", "in", "true", "false",
    "excluded", "distinct", "from", "between", "like", "as", "cast",
})
_UPSERT = re.compile(r"^\s*INSERT\s+INTO\s+(\w+).*?\bDO\s+UPDATE\s+SET\b", re.I | re.S)


def _qualify_upsert(sql: str) -> str:
    """``DO UPDATE SET n = n + excluded.n``: PostgreSQL wants the table's ``n`` named as such."""
    m = _UPSERT.match(sql)
    if m is None:
        return sql
    table, head, tail = m.group(1), sql[: m.end()], sql[m.end() :]
    stop = re.search(r"\b(WHERE|RETURNING)\b", tail, re.I)
    body, rest = (tail[: stop.start()], tail[stop.start() :]) if stop else (tail, "")
    out = []
    for part in _split_args(body):
        column, _, value = part.partition("=")
        value = re.sub(
            r"(?<![\w.:%'])([A-Za-z_]\w*)(?![\w.(])",
            lambda w: w.group(1) if w.group(1).lower() in _KEYWORDS else f"{table}.{w.group(1)}",
            value,
        )
        out.append(f"{column.strip()} = {value.strip()}")
    return f"{head} {', '.join(out)} {rest}".rstrip()


_PICK_ONE = re.compile(
    r"^\s*UPDATE\s+(?P<t>\w+)\s+SET\b.*?\bWHERE\s+id\s*=\s*\(\s*SELECT\s+id\s+FROM\s+(?P=t)\b", re.I | re.S)


def _skip_locked(sql: str) -> str:
    """``UPDATE t ... WHERE id = (SELECT id FROM t ... LIMIT 1)`` picks one row to take (a chunk
    claim): on PostgreSQL the pick locks it and skips rows another transaction is taking, so two
    claimers never wait on, or both miss, the same row."""
    m = _PICK_ONE.match(sql)
    if m is None:
        return sql
    open_at = m.start() + m.group(0).rindex("(")
    close = _matching(sql, open_at)
    return f"{sql[:close]} FOR UPDATE SKIP LOCKED{sql[close:]}"


def _alias_subqueries(sql: str) -> str:
    """Give each subquery in FROM without an alias one (PostgreSQL before 16 requires it)."""
    count = 0
    pos = 0
    while True:
        m = re.compile(r"\bFROM\s*\(\s*(?=SELECT|WITH)", re.I).search(sql, pos)
        if m is None:
            return sql
        open_at = sql.index("(", m.start())
        close = _matching(sql, open_at)
        rest = sql[close + 1 :]
        if not re.match(r"\s*(AS\s+)?(?!(WHERE|GROUP|ORDER|LIMIT|UNION|HAVING|JOIN|LEFT|ON|OFFSET)\b)[A-Za-z_]", rest, re.I):
            count += 1
            sql = f"{sql[: close + 1]} AS _sub{count}{rest}"
        pos = open_at + 1


_PARAM_AS_CONDITION = re.compile(r"(\?|:[A-Za-z_]\w*)(?=\s*(?:\bTHEN\b|\bOR\b|\bAND\b|\)|$))", re.I)
_CONDITION_BEFORE = re.compile(r"(?:\b(?:WHEN|OR|AND|NOT|WHERE|ON)\s*\(*|\(\s*\()\s*$", re.I)


_BETWEEN_AND = re.compile(r"\bBETWEEN\s+(?:\?|:\w+|[\w.]+|\([^()]*\))\s+AND\s*$", re.I)


def _truth_params(text: str) -> str:
    """A parameter standing alone as a condition (``CASE WHEN ? THEN``, ``(:all OR ...)``): SQLite
    takes 0/1 there, PostgreSQL a boolean, and an integer casts to one."""
    out, last = [], 0
    for m in _PARAM_AS_CONDITION.finditer(text):
        if m.start() and text[m.start() - 1] == ":":
            continue  # a :: cast, not a parameter
        if _CONDITION_BEFORE.search(text, 0, m.start()) is None:
            continue
        if _BETWEEN_AND.search(text, 0, m.start()):
            continue  # ``x BETWEEN ? AND ?``: a bound, not a condition
        out.append(text[last : m.start()] + f"CAST({m.group(1)} AS BOOLEAN)")
        last = m.end()
    return "".join(out) + text[last:]


def _mechanical(text: str) -> str:
    text = re.sub(r"\s+INDEXED\s+BY\s+\w+", "", text, flags=re.I)
    text = re.sub(r"\s+NOT\s+INDEXED\b", "", text, flags=re.I)
    text = re.sub(r"(?<=[\s(=,])\+(?=[A-Za-z_])", "", text)  # unary + hides an index from SQLite
    text = re.sub(r"\bIS\s+(?=\?|:[A-Za-z_])", "IS NOT DISTINCT FROM ", text, flags=re.I)
    text = re.sub(r"(?<![\w.])instr\s*\(", "strpos(", text, flags=re.I)
    text = _truth_params(text)
    # An always-true term written as 1 (``WHERE 1``): PostgreSQL wants a truth value there.
    text = re.sub(r"\b(WHERE|AND|OR|ON|WHEN)(\s+)1(?=\s*(\)|$|AND\b|OR\b|GROUP\b|ORDER\b|LIMIT\b|THEN\b))",
                  r"\1\2TRUE", text, flags=re.I)
    return text


def _ddl(sql: str) -> str:
    text = re.sub(r"\bINTEGER\s+PRIMARY\s+KEY\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                  sql, flags=re.I)
    text = re.sub(r"\bINTEGER\b", "BIGINT", text, flags=re.I)
    text = re.sub(r"\bREAL\b", "DOUBLE PRECISION", text, flags=re.I)
    text = re.sub(r"\bBLOB\b", "BYTEA", text, flags=re.I)
    return re.sub(r"\s+AUTOINCREMENT\b", "", text, flags=re.I)


_DDL = re.compile(r"^\s*(CREATE\s+(TEMP\w*\s+)?TABLE|ALTER\s+TABLE)\b", re.I)


@lru_cache(maxsize=2048)
def to_postgres(sql: str) -> str:
    """A statement written for SQLite, as PostgreSQL (through psycopg) accepts it."""
    if _DDL.match(sql):
        return _placeholders(_outside_literals(sql, _ddl))
    text = _outside_literals(sql, _mechanical)
    text = _list_params(text)
    text = _typed_json_comparisons(text)
    text = _rewrite_calls(text, "json_group_array",
                          lambda a: f"coalesce(CAST(json_agg({a}) AS text), '[]')")
    text = _rewrite_calls(text, "json_array", lambda a: f"json_build_array({a})")
    text = _rewrite_calls(text, "json_extract", _json_extract)
    text = _rewrite_calls(text, "json_type", _json_type)
    text = _rewrite_calls(text, "json_each", _json_each)
    text = _rewrite_calls(text, "CAST", _cast)
    text = _alias_subqueries(text)
    text = _qualify_upsert(text)
    text = _skip_locked(text)
    return _placeholders(text)


_INSERT_VALUES = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)\b.*\bVALUES\s*\(", re.I | re.S)


def inserted_table(sql: str) -> str | None:
    """The table of a one-row ``INSERT ... VALUES`` without RETURNING (its new id is wanted), or None."""
    m = _INSERT_VALUES.match(sql)
    if m is None or re.search(r"\bRETURNING\b", sql, re.I) or re.search(r"\bON\s+CONFLICT\b", sql, re.I):
        return None
    return m.group(1).lower()


_MANY_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)\s*\(([^()]*)\)\s*VALUES\s*\(([\s?,]*)\)\s*$", re.I)
_MANY_UPDATE = re.compile(r"^\s*UPDATE\s+(\w+)\s+SET\s+(.*?)\s+WHERE\s+(.*?)\s*$", re.I | re.S)


def insert_rows(sql: str) -> tuple[str, list[str]] | None:
    """The table and columns of a plain ``INSERT INTO t (a, b) VALUES (?, ?)``, or None.

    executemany otherwise sends a statement per row (a round trip each on PostgreSQL); such an
    insert is written with COPY instead.
    """
    m = _MANY_INSERT.match(sql)
    if m is None:
        return None
    columns = [c.strip() for c in m.group(2).split(",")]
    if m.group(3).count("?") != len(columns):
        return None
    return m.group(1), columns


def update_rows(sql: str, count: int, types: dict[tuple[str, str], str]) -> tuple[str, int] | None:
    """``UPDATE t SET a = ?, ... WHERE k = ? [AND ...]`` for ``count`` parameter sets as one
    ``UPDATE ... FROM (VALUES ...)`` and the index of its key parameter, or None if not that shape.
    """
    m = _MANY_UPDATE.match(sql)
    if m is None:
        return None
    table = m.group(1).lower()
    sets: list[str] = []
    names: list[str] = []

    def typed(column: str) -> str | None:
        kind = types.get((table, column.lower()))
        if kind is None:
            return None
        names.append(f"p{len(names)}")
        return f"CAST(v.{names[-1]} AS {kind})"

    for part in _split_args(m.group(2)):
        column, _, value = part.partition("=")
        column, value = column.strip(), value.strip()
        if value == "?":
            cast = typed(column)
            if cast is None:
                return None
            sets.append(f"{column} = {cast}")
        elif "?" in value or ":" in value:
            return None
        else:
            sets.append(f"{column} = {value}")
    wheres = []
    for term in re.split(r"\s+AND\s+", m.group(3), flags=re.I):
        column, _, value = term.partition("=")
        if value.strip() != "?" or not re.fullmatch(r"\s*\w+\s*", column):
            return None
        cast = typed(column.strip())
        if cast is None:
            return None
        wheres.append(f"{table}.{column.strip()} = {cast}")
    row = "(" + ", ".join(["%s"] * len(names)) + ")"
    values = ", ".join([row] * count)
    return (f"UPDATE {table} SET {', '.join(sets)} FROM (VALUES {values}) AS v({', '.join(names)})"
            f" WHERE {' AND '.join(wheres)}", len(names) - len(wheres))

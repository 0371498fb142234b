"""Raw SQL that runs on SQLite and PostgreSQL alike: placeholders, portable fragments, chunks.

The read-side aggregates and the hot paths are written as SQL text with `?` placeholders;
`run` converts them to the database's own parameter style, so each statement exists once.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence, TypeVar

from peewee import Database, SqliteDatabase

T = TypeVar("T")
CHUNK = 500  # ids per IN (...) list: well under every engine's parameter limit
PAGE_ROWS = 1000  # statements sent in one round trip on PostgreSQL (the group commit's largest batch)


def is_sqlite(db: Database) -> bool:
    return isinstance(db, SqliteDatabase)


def execute_many(db: Database, sql: str, rows: list, cursor=None) -> None:
    """`executemany`, in one round trip on PostgreSQL too: psycopg2's executemany sends each
    row's statement on its own and waits for its answer (recording a batch of 16 events took
    ~50 round trips; execute_batch sends them together)."""
    cursor = cursor or db.cursor()
    if is_sqlite(db):
        cursor.executemany(sql, rows)
        return
    from psycopg2.extras import execute_batch

    execute_batch(cursor, sql, rows, page_size=PAGE_ROWS)


def table(model) -> str:
    return model._meta.table_name


def param_style(db: Database, sql: str) -> str:
    """`sql` written with `?` placeholders in the database's own style (with psycopg's `%s`
    style a literal `%`, as in LIKE patterns, must be doubled)."""
    if db.param == "?":
        return sql
    return sql.replace("%", "%%").replace("?", db.param)


def run(db: Database, sql: str, params: Sequence = ()) -> list[tuple]:
    return db.execute_sql(param_style(db, sql), params).fetchall()


def when(condition: str) -> str:
    """A portable 0/1 of a condition, for SUM (PostgreSQL cannot sum booleans)."""
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


def join_hints(db: Database) -> tuple[str, str]:
    """(join keyword, column prefix) that pin SQLite's join order and keep its planner off a
    poor index; PostgreSQL's planner needs neither."""
    return ("CROSS JOIN", "+") if is_sqlite(db) else ("JOIN", "")


def chunks(items: Sequence[T] | Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]

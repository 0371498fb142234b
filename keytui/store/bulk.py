"""Bulk inserts and IN-list selects compiled once.

Peewee spends longer building a many-row INSERT, or a SELECT with hundreds of values in an IN
list, than SQLite spends running it, so the bulk paths (issuing thousands of keys in one
batch) compile one statement per model, columns and list length, convert values with the
fields' own `db_value`, and hand the rows to `execute_many`.
"""

from __future__ import annotations

from keytui.store.sql import execute_many, param_style

_STATEMENTS: dict[tuple, str] = {}
_PLAIN = frozenset({str, int, float, bytes, type(None)})  # what the drivers take as is; the rest via db_value


def insert_rows(db, model, rows: list[dict]) -> None:
    """Insert dict rows (field names as keys, all rows with the same keys) in one executemany."""
    if not rows:
        return
    names = tuple(rows[0])
    fields = [model._meta.fields[name] for name in names]
    key = (model, names, db.param)
    sql = _STATEMENTS.get(key)
    if sql is None:
        columns = ", ".join(f.column_name for f in fields)
        sql = _STATEMENTS[key] = (f"INSERT INTO {model._meta.table_name} ({columns}) "
                                  f"VALUES ({', '.join([db.param] * len(fields))})")
    convert = [(name, f.db_value) for name, f in zip(names, fields)]
    execute_many(db, sql, [tuple(v if v.__class__ in _PLAIN else to_db(v)
                               for name, to_db in convert for v in (row[name],)) for row in rows])


def set_column(db, model, column: str, pairs: list[tuple]) -> None:
    """UPDATE one column of many rows by id in one executemany: pairs of (value, id)."""
    if pairs:
        field = model._meta.fields[column]
        execute_many(db, f"UPDATE {model._meta.table_name} SET {field.column_name} = {db.param} WHERE id = {db.param}",
                     pairs)


def select_in(db, model, columns: tuple[str, ...], column: str, values: list, where: str = "",
              params: tuple = ()) -> list[tuple]:
    """SELECT `columns` of the rows whose `column` is one of `values` (plain values, at most a
    few hundred), and, if given, `where` (SQL with `?` placeholders for `params`)."""
    if not values:
        return []
    key = (model, columns, column, len(values), where, db.param)
    sql = _STATEMENTS.get(key)
    if sql is None:
        fields = model._meta.fields
        marks = ", ".join(["?"] * len(values))
        sql = _STATEMENTS[key] = param_style(db, (
            f"SELECT {', '.join(fields[c].column_name for c in columns)} FROM {model._meta.table_name} "
            f"WHERE {fields[column].column_name} IN ({marks})" + (f" AND ({where})" if where else "")))
    return db.execute_sql(sql, (*values, *params)).fetchall()

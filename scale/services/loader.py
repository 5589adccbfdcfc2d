"""Writing generated rows fast: PostgreSQL's COPY, or batched inserts elsewhere.

The generator (``scale/services/generator.py``) yields plain tuples; this module puts them in a
table without the ORM's per-object cost. On PostgreSQL it uses ``COPY … FROM STDIN`` through
psycopg, with the table's secondary indexes dropped during the load and rebuilt once after it
(one sort per index instead of millions of index insertions), and, where the role may, with
foreign-key triggers off for the load (``session_replication_role = replica``): the generator
allocates every id itself, so the references are consistent by construction, and a test checks
that on real data. Elsewhere (SQLite, for the test suite's small runs) it uses ``executemany``
in batches.

Columns left out of a load get the model field's default. A default computed at run time (a
callable such as ``timezone.now``) is refused instead: the data must not depend on the day the
generator ran, so the generator names every such column itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from itertools import islice

from django.core.management.color import no_style
from django.db import connections, transaction
from django.db.models import JSONField, Model
from django.db.models.fields import NOT_PROVIDED

BATCH = 2_000  # rows per executemany on SQLite


class MissingColumn(ValueError):
    """A column the generator did not name has no fixed default to fall back on."""


class TableLoader:
    """Loads rows into the tables of one database connection and resets sequences at the end."""

    def __init__(self, using: str = "default"):
        self.connection = connections[using]
        self.using = using
        self.postgres = self.connection.vendor == "postgresql"
        self.loaded: list[type[Model]] = []
        self.replica_mode = False

    # --- ids ------------------------------------------------------------------------------

    def next_id(self, model: type[Model]) -> int:
        """The first id after every row already in the table (the generator counts on from it)."""
        table = self.connection.ops.quote_name(model._meta.db_table)
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608
            return int(cursor.fetchone()[0])

    def analyze(self) -> None:
        """Fresh planner statistics and visibility maps for every table loaded, so the pages'
        first queries plan on the real sizes (PostgreSQL; autovacuum would get there later)."""
        if not self.postgres:
            return
        ops = self.connection.ops
        tables = dict.fromkeys(m._meta.db_table for m in self.loaded)
        # VACUUM cannot run inside a transaction (the test suite's); ANALYZE alone can.
        command = "ANALYZE" if self.connection.in_atomic_block else "VACUUM (ANALYZE)"
        with self.connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"{command} {ops.quote_name(table)}")

    def reset_sequences(self) -> None:
        """After explicit ids, the next row the application saves must get the next free id."""
        models = list(dict.fromkeys(self.loaded))
        statements = self.connection.ops.sequence_reset_sql(no_style(), models)
        with self.connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    # --- loading --------------------------------------------------------------------------

    def load(self, model: type[Model], columns: Sequence[str], rows: Iterable[Sequence]) -> int:
        """Write ``rows`` (tuples in the order of ``columns``, attribute names such as
        ``client_id``) into the model's table; returns how many were written."""
        # A generated column (the listing's search document) is written by the database itself.
        fields = {f.attname: f for f in model._meta.concrete_fields if not f.generated}
        unknown = [c for c in columns if c not in fields]
        if unknown:
            raise ValueError(f"{model.__name__} has no column {', '.join(unknown)}")
        tail_fields = [f for name, f in fields.items() if name not in columns]
        tail = tuple(_fixed_default(model, f) for f in tail_fields)
        all_fields = [fields[c] for c in columns] + tail_fields
        json_positions = [i for i, f in enumerate(all_fields) if isinstance(f, JSONField)]
        names = [f.column for f in all_fields]
        self.loaded.append(model)
        with transaction.atomic(using=self.using):
            if self.postgres:
                return self._copy(model, names, rows, tail, json_positions)
            return self._insert(model, names, all_fields, rows, tail, json_positions)

    def _copy(self, model, names, rows, tail, json_positions) -> int:
        ops = self.connection.ops
        table = ops.quote_name(model._meta.db_table)
        columns = ", ".join(ops.quote_name(n) for n in names)
        count = 0
        with self.connection.cursor() as cursor, self._without_indexes(cursor, model):
            self._replica(cursor)
            raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608
                write = copy.write_row
                if json_positions:
                    for row in rows:
                        row = list(row) + list(tail)
                        for i in json_positions:
                            row[i] = json.dumps(row[i])
                        write(row)
                        count += 1
                elif tail:
                    for row in rows:
                        write((*row, *tail))
                        count += 1
                else:
                    for row in rows:
                        write(row)
                        count += 1
        return count

    def _insert(self, model, names, all_fields, rows, tail, json_positions) -> int:
        ops = self.connection.ops
        table = ops.quote_name(model._meta.db_table)
        columns = ", ".join(ops.quote_name(n) for n in names)
        marks = ", ".join(["%s"] * len(names))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
        json_set = set(json_positions)
        prepare = [
            (lambda v: json.dumps(v))
            if i in json_set
            else (lambda v, f=f: f.get_db_prep_save(v, self.connection))
            for i, f in enumerate(all_fields)
        ]
        count = 0
        iterator = iter(rows)
        with self.connection.cursor() as cursor:
            while batch := list(islice(iterator, BATCH)):
                cursor.executemany(
                    sql,
                    [[p(v) for p, v in zip(prepare, (*row, *tail), strict=True)] for row in batch],
                )
                count += len(batch)
        return count

    def _replica(self, cursor) -> None:
        """Foreign-key triggers off for this transaction when the role may (a superuser);
        otherwise the load is slower but the same."""
        cursor.execute("SAVEPOINT replica_mode")
        try:
            cursor.execute("SET LOCAL session_replication_role = replica")
        except Exception:  # noqa: BLE001 (insufficient privilege: keep the triggers)
            cursor.execute("ROLLBACK TO SAVEPOINT replica_mode")
            self.replica_mode = False
        else:
            cursor.execute("RELEASE SAVEPOINT replica_mode")
            self.replica_mode = True

    @contextmanager
    def _without_indexes(self, cursor, model):
        """Drop the table's plain secondary indexes for the load and build them after it.

        Indexes behind a constraint (primary key, unique) stay: they guard the data.
        """
        cursor.execute(
            """
            SELECT i.indexname, i.indexdef
            FROM pg_indexes i
            WHERE i.schemaname = current_schema() AND i.tablename = %s
              AND NOT EXISTS (
                SELECT 1 FROM pg_constraint c
                WHERE c.conindid
                    = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass
              )
            """,
            [model._meta.db_table],
        )
        indexes = cursor.fetchall()
        # Index DDL is refused while deferred foreign-key checks are pending in the
        # transaction (rows written earlier in it, or by this COPY when the triggers stayed
        # on): run them now, before each DDL.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {self.connection.ops.quote_name(name)}")
        yield
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _name, definition in indexes:
            cursor.execute(definition)


def _fixed_default(model: type[Model], field) -> object:
    """The value a column the generator left out gets, or MissingColumn."""
    if field.primary_key:
        raise MissingColumn(f"{model.__name__}.{field.name}: the generator must allocate ids")
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        raise MissingColumn(f"{model.__name__}.{field.name} is set at save time: name it")
    default = field.default
    if default is NOT_PROVIDED:
        if field.null:
            return None
        value = field.get_default()  # "" for text fields
        if value is None:
            raise MissingColumn(f"{model.__name__}.{field.name} has no default: name it")
        return value
    if callable(default):
        if default in (list, dict):
            return default()
        raise MissingColumn(f"{model.__name__}.{field.name}'s default is computed: name it")
    return default

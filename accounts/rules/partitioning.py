"""The access log partitioned by month on PostgreSQL: the SQL, worked out from the database.

The access log is the one table that grows without end, and its old rows leave only in whole
months, once the retention period has passed. Monthly range partitions on ``occurred_at`` make
both cheap: recent pages read only the recent months' indexes, and retiring a month is DETACH,
archive and DROP, with no DELETE (which the append-only trigger refuses anyway).
``manage.py partition_access_log`` prints or applies the SQL.

Django keeps working unchanged: the table keeps its name, columns, indexes, foreign keys and the
append-only trigger (on the parent, so every partition has it). The primary key becomes
(id, occurred_at), since PostgreSQL needs the partition key in every unique index; ids still
come from one sequence, so the model keeps using ``id`` alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

TABLE = "accounts_accessevent"
OLD_TABLE = "accounts_accessevent_unpartitioned"
DEFAULT_PARTITION = f"{TABLE}_default"
TRIGGER = "accounts_accessevent_append_only"  # and its function (migration 0003)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, moment: datetime | date) -> Month:
        if isinstance(moment, datetime):
            moment = moment.astimezone(UTC)
        return cls(moment.year, moment.month)

    def plus(self, months: int) -> Month:
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> str:
        # Partitions split at midnight UTC on the 1st: the stored times are UTC, and retention
        # only ever retires a month whose whole range is past the retention period.
        return f"{self.year:04d}-{self.month:02d}-01 00:00:00+00"

    @property
    def partition(self) -> str:
        return f"{TABLE}_y{self.year:04d}m{self.month:02d}"

    def create_sql(self) -> str:
        # Each partition is planned from its own statistics: each needs the staff member's
        # rows-belong-to-their-clinic dependency (migration accounts/0007) of its own.
        return (
            f"CREATE TABLE IF NOT EXISTS {self.partition} PARTITION OF {TABLE}\n"
            f"    FOR VALUES FROM ('{self.start}') TO ('{self.plus(1).start}');\n"
            f"CREATE STATISTICS IF NOT EXISTS {self.partition}_user_clinic (dependencies)\n"
            f"    ON user_id, clinic_id FROM {self.partition};"
        )


def months(first: Month, last: Month) -> list[Month]:
    out, month = [], first
    while month <= last:
        out.append(month)
        month = month.plus(1)
    return out


# --- What the database holds (read by ``accounts.selectors.partitioning``) -----------------


@dataclass
class TableFacts:
    partitioned: bool
    oldest: datetime | None
    sequence: str | None  # the id column's sequence, schema-qualified
    primary_key: str
    indexes: list[tuple[str, str]]  # (name, CREATE INDEX ...) but the primary key
    foreign_keys: list[tuple[str, str]]  # (name, definition)
    referenced_by: list[str]  # constraints of other tables pointing here (must be none)
    partitions: list[str]


# --- The SQL ---------------------------------------------------------------------------------
# Built with f-strings from this module's constants and the database's own catalogue (index and
# constraint definitions as PostgreSQL prints them), never from input: hence the noqa: S608.


def conversion_sql(facts: TableFacts, now: datetime, *, ahead: int, keep_old: bool) -> list[str]:
    """Statements that replace the plain table by a partitioned one holding the same rows.

    Meant for one transaction (the command runs them in one): the table is locked from the
    first statement to the commit, so the application's writes wait (they are not lost) for
    as long as the copy and the index builds take. docs/SCALING.md gives the figures and a way
    with a shorter wait.
    """
    if facts.partitioned:
        raise ValueError(f"{TABLE} is partitioned already.")
    if facts.referenced_by:
        raise ValueError(f"Other tables point at {TABLE}: {', '.join(facts.referenced_by)}.")
    first = Month.of(facts.oldest or now)
    statements = [
        "-- Writers wait from here to the commit; readers too (the table is replaced).",
        f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE;",
        "-- Foreign-key checks this transaction deferred (none when run on its own): now, or",
        "-- the old table could not be dropped at the end.",
        "SET CONSTRAINTS ALL IMMEDIATE;",
        f"ALTER TABLE {TABLE} RENAME TO {OLD_TABLE};",
    ]
    if facts.sequence:
        statements.append(f"ALTER SEQUENCE {facts.sequence} RENAME TO {OLD_TABLE}_id_seq;")
    # The old indexes give up their names (Django's) to the new table's.
    statements.append(f"ALTER INDEX {facts.primary_key} RENAME TO {OLD_TABLE}_pkey;")
    statements += [f"ALTER INDEX {name} RENAME TO {name}_old;" for name, _ in facts.indexes]
    statements += [
        "-- The same columns, defaults and identity (ids go on from where they were).",
        f"CREATE TABLE {TABLE} (LIKE {OLD_TABLE} INCLUDING DEFAULTS INCLUDING IDENTITY)\n"
        "    PARTITION BY RANGE (occurred_at);",
        f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), last_value, is_called)"  # noqa: S608
        f" FROM {OLD_TABLE}_id_seq;",
        "-- A month per partition, from the oldest row's to the months ahead.",
        *(month.create_sql() for month in months(first, Month.of(now).plus(ahead))),
        "-- Rows outside every month (a clock far off, a job that stopped creating months)",
        "-- land here rather than failing the request that writes them; the monthly job",
        "-- reports any.",
        f"CREATE TABLE IF NOT EXISTS {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT;",
        f"INSERT INTO {TABLE} SELECT * FROM {OLD_TABLE};",  # noqa: S608
        "-- Keys, indexes and foreign keys after the copy: one build each, not row by row.",
        f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, occurred_at);",
        *(f"{definition};" for _, definition in facts.indexes),
        *(
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition};"
            for name, definition in facts.foreign_keys
        ),
        "-- The append-only guard on the parent: every partition, now and future, has it.",
        f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON {TABLE}\n"
        f"    FOR EACH ROW EXECUTE FUNCTION {TRIGGER}();",
        "-- Every row came across, or nothing happens at all.",
        "DO $$ BEGIN\n"  # noqa: S608
        f"    IF (SELECT count(*) FROM {TABLE}) <> (SELECT count(*) FROM {OLD_TABLE}) THEN\n"
        "        RAISE EXCEPTION 'the partitioned access log lost rows: rolled back';\n"
        "    END IF;\n"
        "END $$;",
    ]
    if not keep_old:
        statements.append(f"DROP TABLE {OLD_TABLE};")
    statements.append(f"ANALYZE {TABLE};")
    return statements


def create_ahead_sql(facts: TableFacts, now: datetime, *, ahead: int) -> list[str]:
    """The partitions missing from this month to ``ahead`` months on (none: nothing to do)."""
    if not facts.partitioned:
        raise ValueError(f"{TABLE} is not partitioned yet.")
    wanted = months(Month.of(now), Month.of(now).plus(ahead))
    return [month.create_sql() for month in wanted if month.partition not in facts.partitions]


def retention_sql(facts: TableFacts, now: datetime, *, keep_months: int) -> list[str]:
    """What retiring the months older than ``keep_months`` whole months takes: printed for a
    person to check and run, never applied by the command (the retention period is the
    county's to confirm, and an archive must be verified before its month is dropped)."""
    if not facts.partitioned:
        raise ValueError(f"{TABLE} is not partitioned yet.")
    oldest_kept = Month.of(now).plus(-keep_months)
    statements = []
    for name in facts.partitions:
        if name == DEFAULT_PARTITION or not name.startswith(f"{TABLE}_y"):
            continue
        month = Month(int(name[-7:-3]), int(name[-2:]))
        if month < oldest_kept:
            statements += [
                # Not CONCURRENTLY: PostgreSQL refuses that beside a default partition. The
                # plain form holds the table's lock only for the catalog change.
                f"ALTER TABLE {TABLE} DETACH PARTITION {name};",
                f'-- pg_dump --format=custom --table={name} "$DATABASE_URL"'
                f" > {name}.dump  (then restore it elsewhere and check it)",
                f"DROP TABLE {name};",
            ]
    return statements

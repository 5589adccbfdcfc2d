"""What the SQL of the access log's partitioning is worked out from: PostgreSQL's catalogue.

The statements themselves are built, without the database, by ``accounts.rules.partitioning``.
"""

from accounts.rules.partitioning import TABLE, TableFacts


def read_facts(cursor) -> TableFacts:
    cursor.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [TABLE])
    partitioned = cursor.fetchone()[0] == "p"
    cursor.execute(f"SELECT min(occurred_at) FROM {TABLE}")  # noqa: S608 (a constant)
    oldest = cursor.fetchone()[0]
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
    sequence = cursor.fetchone()[0]
    cursor.execute(
        """
        SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass AND x.indisprimary
        """,
        [TABLE],
    )
    primary_key = cursor.fetchone()[0]
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
        ORDER BY i.relname
        """,
        [TABLE],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        """
        SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname
        """,
        [TABLE],
    )
    foreign_keys = cursor.fetchall()
    cursor.execute(
        "SELECT conname FROM pg_constraint"
        " WHERE confrelid = %s::regclass AND conrelid <> %s::regclass",
        [TABLE, TABLE],
    )
    referenced_by = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        """
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = %s::regclass ORDER BY c.relname
        """,
        [TABLE],
    )
    partitions = [row[0] for row in cursor.fetchall()]
    return TableFacts(
        partitioned, oldest, sequence, primary_key, indexes, foreign_keys, referenced_by, partitions
    )

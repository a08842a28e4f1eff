"""SQLite persistence: one table per emulated table, plus ``campaignitem`` (campaign <-> list links).

One connection guarded by a re-entrant lock keeps things simple and safe under the threaded server; nested
:meth:`Store.transaction` blocks become savepoints, which is what makes change sets and multi-member actions
all-or-nothing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .schema import ENTITIES, SQL_TYPES, EntityDef

SCHEMA_VERSION = 1


def q(name: str) -> str:
    """Quote an identifier (``list`` and ``_x_value`` columns need it)."""
    return '"' + name.replace('"', '""') + '"'


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.is_new = not path.exists()
        self.lock = threading.RLock()
        self._depth = 0
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self._create_schema()
        self._version = self._max_version()

    def _create_schema(self) -> None:
        with self.transaction():
            self.conn.execute("CREATE TABLE IF NOT EXISTS emulator_meta (key TEXT PRIMARY KEY, value TEXT)")
            self.conn.execute("INSERT OR IGNORE INTO emulator_meta VALUES ('schema_version', ?)",
                              (str(SCHEMA_VERSION),))
            for entity in ENTITIES.values():
                cols = []
                for col in entity.columns.values():
                    pk = " PRIMARY KEY" if col.name == entity.primary_key else ""
                    cols.append(f"{q(col.name)} {SQL_TYPES[col.type]}{pk}")
                self.conn.execute(f"CREATE TABLE IF NOT EXISTS {q(entity.logical_name)} ({', '.join(cols)})")
            self.conn.execute(
                'CREATE UNIQUE INDEX IF NOT EXISTS listmember_list_entity ON "listmember" '
                '("_listid_value", "_entityid_value")')
            self.conn.execute('CREATE INDEX IF NOT EXISTS listmember_entity ON "listmember" ("_entityid_value")')
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS campaignitem (campaignid TEXT NOT NULL, listid TEXT NOT NULL, "
                "PRIMARY KEY (campaignid, listid))")
            self.conn.execute("CREATE INDEX IF NOT EXISTS campaignitem_list ON campaignitem (listid)")
            # Change tracking (see ``changes``): tombstones of deleted records, and the version below which
            # delta tokens are void (a wipe raises it).
            self.conn.execute('CREATE TABLE IF NOT EXISTS "deletedrecord" (entity TEXT NOT NULL, id TEXT NOT NULL, '
                              "versionnumber INTEGER NOT NULL, PRIMARY KEY (entity, id))")
            self.conn.execute('CREATE INDEX IF NOT EXISTS deletedrecord_version ON "deletedrecord" '
                              "(entity, versionnumber)")
            self.conn.execute("INSERT OR IGNORE INTO emulator_meta VALUES ('tokens_valid_from', '0')")
            self._add_new_columns()

    def _add_new_columns(self) -> None:
        """Columns added to the schema after a database was created (``ALTER TABLE ... ADD COLUMN``)."""
        for entity in ENTITIES.values():
            present = {row[1] for row in self.conn.execute(f"PRAGMA table_info({q(entity.logical_name)})")}
            for col in entity.columns.values():
                if col.name not in present:
                    self.conn.execute(f"ALTER TABLE {q(entity.logical_name)} ADD COLUMN {q(col.name)} "
                                      f"{SQL_TYPES[col.type]}")

    def _max_version(self) -> int:
        highest = 0
        for entity in ENTITIES.values():
            value = self.conn.execute(f"SELECT MAX(versionnumber) FROM {q(entity.logical_name)}").fetchone()[0]
            highest = max(highest, value or 0)
        return highest

    @property
    def current_version(self) -> int:
        """The highest version handed out so far."""
        with self.lock:
            return self._version

    def next_version(self) -> int:
        with self.lock:
            self._version += 1
            return self._version

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing block; nests as savepoints, holds the lock throughout."""
        with self.lock:
            name = f"sp{self._depth}"
            self.conn.execute("BEGIN IMMEDIATE" if self._depth == 0 else f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self.conn.execute("ROLLBACK")
                else:
                    self.conn.execute(f"ROLLBACK TO {name}")
                    self.conn.execute(f"RELEASE {name}")
                raise
            self._depth -= 1
            self.conn.execute("COMMIT" if self._depth == 0 else f"RELEASE {name}")

    # -- generic access ------------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(row) for row in self.conn.execute(sql, params).fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self.lock:
            row = self.conn.execute(sql, params).fetchone()
            return row[0] if row else None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self.lock:
            return self.conn.execute(sql, params).rowcount

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.lock:
            self.conn.executemany(sql, rows)

    # -- records ---------------------------------------------------------------------------------------
    def get(self, entity: EntityDef, record_id: str) -> dict[str, Any] | None:
        rows = self.query(f"SELECT * FROM {q(entity.logical_name)} WHERE {q(entity.primary_key)} = ?",
                          (record_id,))
        return rows[0] if rows else None

    def existing_ids(self, entity: EntityDef, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            found.update(r[entity.primary_key] for r in self.query(
                f"SELECT {q(entity.primary_key)} FROM {q(entity.logical_name)} "
                f"WHERE {q(entity.primary_key)} IN ({marks})", chunk))
        return found

    def insert(self, entity: EntityDef, values: dict[str, Any]) -> None:
        names = list(values)
        marks = ",".join("?" * len(names))
        self.execute(f"INSERT INTO {q(entity.logical_name)} ({', '.join(q(n) for n in names)}) VALUES ({marks})",
                     [values[n] for n in names])

    def upsert(self, entity: EntityDef, values: dict[str, Any]) -> None:
        names = list(values)
        marks = ",".join("?" * len(names))
        self.execute(f"INSERT OR REPLACE INTO {q(entity.logical_name)} ({', '.join(q(n) for n in names)}) "
                     f"VALUES ({marks})", [values[n] for n in names])

    def update(self, entity: EntityDef, record_id: str, values: dict[str, Any]) -> None:
        if not values:
            return
        assignments = ", ".join(f"{q(n)} = ?" for n in values)
        self.execute(f"UPDATE {q(entity.logical_name)} SET {assignments} WHERE {q(entity.primary_key)} = ?",
                     [*values.values(), record_id])

    def delete(self, entity: EntityDef, record_id: str) -> bool:
        return self.execute(f"DELETE FROM {q(entity.logical_name)} WHERE {q(entity.primary_key)} = ?",
                            (record_id,)) > 0

    def record_deletion(self, entity: EntityDef, record_id: str) -> None:
        """Leave the tombstone change tracking answers for a deleted record."""
        self.execute('INSERT OR REPLACE INTO "deletedrecord" VALUES (?, ?, ?)',
                     (entity.logical_name, record_id, self.next_version()))

    def forget_deletion(self, entity: EntityDef, record_id: str) -> None:
        """A record created again under a deleted id is a change, no longer a deletion."""
        self.execute('DELETE FROM "deletedrecord" WHERE entity = ? AND id = ?', (entity.logical_name, record_id))

    def select(self, entity: EntityDef, *, where: str = "", params: Sequence[Any] = (),
               order: str = "", limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        sql = f"SELECT * FROM {q(entity.logical_name)}"
        if where:
            sql += f" WHERE {where}"
        if order:
            sql += f" ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        return self.query(sql, params)

    def count(self, entity: EntityDef, *, where: str = "", params: Sequence[Any] = ()) -> int:
        sql = f"SELECT COUNT(*) FROM {q(entity.logical_name)}"
        if where:
            sql += f" WHERE {where}"
        return int(self.scalar(sql, params) or 0)

    def counts(self) -> dict[str, int]:
        result = {e.entity_set: self.count(e) for e in ENTITIES.values()}
        result["campaignitems"] = int(self.scalar("SELECT COUNT(*) FROM campaignitem") or 0)
        return result

    def wipe(self) -> None:
        with self.transaction():
            for entity in ENTITIES.values():
                self.execute(f"DELETE FROM {q(entity.logical_name)}")
            self.execute("DELETE FROM campaignitem")
            self.execute('DELETE FROM "deletedrecord"')
            self.execute("UPDATE emulator_meta SET value = ? WHERE key = 'tokens_valid_from'",
                         (str(self.next_version()),))

    def close(self) -> None:
        with self.lock:
            self.conn.close()

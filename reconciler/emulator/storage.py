"""Where the emulated account lives: one SQLite file plus a folder of image files.

State must survive a restart on the same data dir and stay consistent when several clients
write at once, so every operation runs inside `Storage.transaction()`: a process-wide lock
(uvicorn runs our handlers concurrently in worker threads) around an SQLite `BEGIN IMMEDIATE`
transaction (which also serialises a second emulator process opened on the same file). Image
files are content-addressed (`files/<sha256>.png`), so a cloned dataset shares its files and a
file is removed only when no image refers to it any more.

Rows are plain dicts; the rules live in `behaviour.py`, not here.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any

Row = dict[str, Any]

TABLES = (
    "projects",
    "datasets",
    "images",
    "models",
    "deleted_datasets",
    "generation_requests",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY, project_name TEXT NOT NULL, project_description TEXT NOT NULL,
    ip_name TEXT, ip_description TEXT, ip_medium TEXT NOT NULL, ip_type TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, name TEXT NOT NULL,
    description TEXT, caption_prefix TEXT NOT NULL, status TEXT NOT NULL,
    captions_update_status TEXT NOT NULL, regen_started_at REAL, regen_ends_at REAL,
    regen_prefix TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY, dataset_id INTEGER NOT NULL, image_name TEXT NOT NULL,
    sha256 TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
    caption TEXT NOT NULL, caption_source TEXT NOT NULL, caption_updated_at REAL NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS images_by_dataset ON images (dataset_id, id);
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, dataset_id INTEGER NOT NULL,
    name TEXT NOT NULL, description TEXT, training_version TEXT NOT NULL,
    generation_prefix TEXT NOT NULL, will_fail INTEGER NOT NULL DEFAULT 0,
    started_at REAL, training_ends_at REAL, stop_requested_at REAL, stop_ends_at REAL,
    deleted_at REAL, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS deleted_datasets (id INTEGER PRIMARY KEY, deleted_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS generation_requests (
    id TEXT PRIMARY KEY, model_id INTEGER NOT NULL, image_url TEXT NOT NULL,
    structured_prompt TEXT NOT NULL, seed INTEGER NOT NULL, ready_at REAL NOT NULL);
"""
# Columns of the current API generation (the published OpenAPI), added to data dirs made before
# them: a model's training_version is "" when it has a training_mode instead.
_ADDED_COLUMNS = {
    "datasets": (("visual_schema", "TEXT"), ("upload_type", "TEXT")),
    "models": (
        ("training_mode", "TEXT"),
        ("training_parameters", "TEXT"),  # JSON object, set by start_training
        ("deleted_checkpoints", "TEXT"),  # JSON array of steps
    ),
}


class Storage:
    """The SQLite file and image folder under `data_dir`; thread-safe."""

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir)
        self.files_dir = self.data_dir / "files"
        self.results_dir = self.data_dir / "results"
        for folder in (self.data_dir, self.files_dir, self.results_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._transaction = _Transaction(self)
        self._conn = sqlite3.connect(
            self.data_dir / "emulator.sqlite3", check_same_thread=False, isolation_level=None
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._conn.executescript(_SCHEMA)
            self._add_columns()

    def _add_columns(self) -> None:
        for table, columns in _ADDED_COLUMNS.items():
            present = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns:
                if name not in present:
                    self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def transaction(self) -> AbstractContextManager[None]:
        """Serialise a whole read-check-write operation; nested calls join the outer one."""
        return self._transaction

    # ------------------------------------------------------------------ rows

    def next_id(self) -> int:
        """One id sequence for every kind of resource, so no project id is also a dataset id."""
        with self.transaction():
            found = self._conn.execute("SELECT value FROM meta WHERE key='next_id'").fetchone()
            value = int(found[0]) if found else 1
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('next_id', ?)", (value + 1,)
            )
            return value

    def insert(self, table: str, row: Row) -> int:
        row = dict(row)
        if "id" not in row:
            row["id"] = self.next_id()
        self.insert_row(table, row)
        return int(row["id"])

    def insert_row(self, table: str, row: Row) -> None:
        """Insert `row` as given (its own key, e.g. a generation request's text id)."""
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.transaction():
            self._conn.execute(
                f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row.values())
            )

    def update(self, table: str, row_id: int, changes: Row) -> None:
        if not changes:
            return
        assignments = ", ".join(f"{name} = ?" for name in changes)
        with self.transaction():
            self._conn.execute(
                f"UPDATE {table} SET {assignments} WHERE id = ?", (*changes.values(), row_id)
            )

    def get(self, table: str, row_id: int | str) -> Row | None:
        with self.transaction():
            cursor = self._conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,))
            found = cursor.fetchone()
        return dict(zip(_names(cursor), found, strict=True)) if found else None

    def select(self, table: str, where: str = "1", params: tuple[Any, ...] = ()) -> list[Row]:
        with self.transaction():
            cursor = self._conn.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY id", params)
            rows = cursor.fetchall()
        names = _names(cursor)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def count(self, table: str, where: str = "1", params: tuple[Any, ...] = ()) -> int:
        with self.transaction():
            found = self._conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)
            return int(found.fetchone()[0])

    def delete(self, table: str, where: str, params: tuple[Any, ...]) -> None:
        with self.transaction():
            self._conn.execute(f"DELETE FROM {table} WHERE {where}", params)

    def wipe(self) -> None:
        """Forget every resource (the id sequence keeps counting, so old ids stay unknown)."""
        with self.transaction():
            for table in TABLES:
                self._conn.execute(f"DELETE FROM {table}")
        for folder in (self.files_dir, self.results_dir):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ files

    def file_path(self, sha256: str) -> Path:
        return self.files_dir / f"{sha256}.png"

    def save_file(self, sha256: str, data: bytes) -> None:
        target = self.file_path(sha256)
        if not target.exists():
            _write_atomically(target, data)

    def drop_unreferenced_files(self, digests: set[str]) -> None:
        """Remove the files of these digests that no image refers to any more."""
        for digest in digests:
            if self.count("images", "sha256 = ?", (digest,)) == 0:
                self.file_path(digest).unlink(missing_ok=True)

    def save_result(self, name: str, data: bytes, *, ready_at: float = 0.0) -> None:
        """`ready_at`: the clock time before which the file is served as not found yet (an
        asynchronous generation still running), kept next to it as `<name>.ready`."""
        if ready_at > 0.0:
            _write_atomically(self.results_dir / f"{name}.ready", repr(ready_at).encode())
        _write_atomically(self.results_dir / name, data)

    def result_ready_at(self, name: str) -> float:
        try:
            return float((self.results_dir / f"{name}.ready").read_text())
        except (OSError, ValueError):
            return 0.0


class _Transaction(AbstractContextManager[None]):
    """`Storage.transaction()`: the process-wide lock around `BEGIN IMMEDIATE` ... `COMMIT` (or
    `ROLLBACK` on an error), joined by nested uses. A class rather than a `@contextmanager`
    generator, and one per storage (its state is the storage's), since every read opens one."""

    __slots__ = ("_storage",)

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def __enter__(self) -> None:
        storage = self._storage
        storage._lock.acquire()
        if storage._depth:
            storage._depth += 1
            return
        try:
            storage._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            storage._lock.release()
            raise
        storage._depth = 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        storage = self._storage
        try:
            if storage._depth > 1:
                storage._depth -= 1
                return
            try:
                storage._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
            finally:
                storage._depth = 0
        finally:
            storage._lock.release()


def _names(cursor: sqlite3.Cursor) -> list[str]:
    """The column names of a query's rows (plain tuples: a dict per row is built once, from
    them, rather than through an `sqlite3.Row` first)."""
    return [column[0] for column in cursor.description]


def _write_atomically(target: Path, data: bytes) -> None:
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise

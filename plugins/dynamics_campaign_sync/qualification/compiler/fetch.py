"""Running a compiled query and reading its rows column by column.

DuckDB hands over numpy columns. A DBAPI cursor hands over one tuple per row, and each pass over them costs
about 0.1 s per million rows whatever it reads (``random_11``, 922,546 people: 7 columns made in 0.6–0.9 s).
So a column is made only when it is asked for, an integer column straight into int64 (no Python object per
value to convert afterwards), and a column the qualified rows leave NULL (weights, flags, totals: read on a few
other rows) is read at those rows alone (``at``).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any, TypeGuard

import numpy as np
import sqlalchemy as sa

from dynamics_campaign_sync.qualification.compiler.dialects import CAST_FAILURES, prepare_connection
from dynamics_campaign_sync.qualification.duckdb_tables import duckdb_connection
from dynamics_campaign_sync.qualification.sources import SourceError


class CastFailed(SourceError):
    """A cast met text that is not what it casts to (an unguarded query, see ``Dialect.guarded_casts``)."""


class FetchedRows:
    """A query's result, read by column name: ``column`` (text: an object array, None for NULL), ``integers``
    (int64, ``null`` for NULL) and ``at`` (the values at some positions, without making the column). ``release``
    lets the cursor's tuples go once the columns needed in full are made."""

    def __init__(self, names: list[str], columns: dict[str, np.ndarray] | None = None,
                 tuples: Sequence[tuple[Any, ...]] | None = None) -> None:
        self._position = {name: position for position, name in enumerate(names)}
        self._columns = dict(columns or {})
        self._tuples = tuples
        self._length = len(tuples) if tuples is not None else len(next(iter(self._columns.values()), ()))

    def __len__(self) -> int:
        return self._length

    def _left(self) -> Sequence[tuple[Any, ...]]:
        """The cursor's tuples, unless released."""
        if self._tuples is None:
            raise RuntimeError("the rows were released: only the columns made before are left")
        return self._tuples

    def _values(self, name: str) -> Iterator[Any]:
        return map(itemgetter(self._position[name]), self._left())

    def column(self, name: str) -> np.ndarray:
        """The whole column, made once (one pass over the rows)."""
        if name not in self._columns:
            self._columns[name] = np.fromiter(self._values(name), dtype=object, count=self._length)
        self._columns[name] = _plain(self._columns[name])
        return self._columns[name]

    def integers(self, name: str, null: int = 0) -> np.ndarray:
        """The whole column as int64, ``null`` where it is NULL."""
        column = self._columns.get(name)
        if _masked(column):
            return column.filled(null).astype(np.int64)
        if column is None:
            with contextlib.suppress(TypeError, ValueError):  # a NULL among the rows: through the objects below
                return np.fromiter(self._values(name), dtype=np.int64, count=self._length)
            column = self.column(name)
        return integers(column, null)

    def at(self, name: str, positions: np.ndarray) -> np.ndarray:
        """The column's values at ``positions`` (an object array where the column is not made)."""
        if name in self._columns:
            return _plain(self._columns[name][positions])
        position, tuples = self._position[name], self._left()
        return np.fromiter((tuples[row][position] for row in positions.tolist()), dtype=object, count=len(positions))

    def release(self) -> None:
        """Let the cursor's tuples go (about 100 bytes a row): the columns made so far stay."""
        self._tuples = None


def integers(column: np.ndarray, null: int = 0) -> np.ndarray:
    """Fetched integers (None for NULL where an object array) as int64, ``null`` where NULL."""
    if column.dtype == object:
        column = np.where(column == None, null, column)  # noqa: E711 - numpy compares each element
    return column.astype(np.int64)


def _masked(column: Any) -> TypeGuard[np.ma.MaskedArray]:
    """Whether ``column`` is a masked array (DuckDB's NULLs), asked without importing ``numpy.ma`` (35 ms and
    3 MiB for a process that reads a DBAPI cursor only)."""
    return hasattr(column, "mask")


def _plain(column: np.ndarray) -> np.ndarray:
    """A column without numpy's mask (DuckDB masks NULLs): None where NULL (an object array then)."""
    if not _masked(column):
        return column
    # The masked array is dropped, so its text may be changed in place; filled(None) would mean "the default filler".
    values = column.data if column.dtype == object else column.data.astype(object)
    values[np.ma.getmaskarray(column)] = None
    return values


def sql_and_params(engine: sa.Engine, query: Any) -> tuple[str, Any]:
    """``query``'s SQL text for ``engine``'s driver, with its parameters in the driver's style."""
    compiled = query.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    return str(compiled), params


def run_query(engine: sa.Engine, query: Any) -> FetchedRows:
    """The rows of ``query``: from DuckDB as numpy columns (through a connection opened directly, see
    ``duckdb_tables``), elsewhere as the DBAPI cursor's tuples, read into columns as they are asked for."""
    sql, params = sql_and_params(engine, query)
    names = [column.name for column in query.selected_columns]
    try:
        if engine.dialect.name == "duckdb":
            with duckdb_connection(engine) as connection:
                prepare_connection(connection, "duckdb")
                fetched = connection.execute(sql, params).fetchnumpy()
            return FetchedRows(names, dict(zip(names, fetched.values(), strict=True)))
        raw = engine.raw_connection()
        try:
            prepare_connection(raw.driver_connection, engine.dialect.name, sql)
            cursor = raw.cursor()
            cursor.execute(sql, params)
            with collector_paused():
                rows = cursor.fetchall()
            cursor.close()
            return FetchedRows(names, tuples=rows)
        finally:
            raw.close()
    except engine.dialect.loaded_dbapi.Error as error:
        failure = CastFailed if _sqlstate(error) in CAST_FAILURES else SourceError
        raise failure(f"reading the source failed: {type(error).__name__}: {error}") from None


def _sqlstate(error: Exception) -> str | None:
    return getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)  # psycopg 3, psycopg2


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while rows become objects: each tuple the cursor makes would count
    towards a collection, and a collection walks every object of the process (pandas, SQLAlchemy: most of the
    fetch time for a large qualified set). Rows and values hold no cycles, so nothing is left to collect."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

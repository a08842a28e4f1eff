"""The people as of the interval end, one row per person, with the invalid rows marked, as a subquery.

Rows created at or after the interval end and rows of the other known member type are left out first.
A history table (``person_id`` is not its primary key) keeps per person the latest version with
``updated_at`` before the interval end, or the earliest when all are newer (``people_versions``); two
rows for that version make the person a duplicate. Each row says what is wrong with it (``problem``,
NULL when nothing) and how many source rows it stands for (``weight``: every row of a duplicate).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from dynamics_campaign_sync.qualification.compiler.dialects import Dialect
from dynamics_campaign_sync.qualification.contract import (
    CREATED_AT,
    IDENTITY_COLUMNS,
    MEMBER_TYPE,
    MEMBER_TYPES,
    PERSON_ID,
    PERSON_ID_MAX_LENGTH,
    UPDATED_AT,
)
from dynamics_campaign_sync.qualification.invalid_rows import (
    DUPLICATE_PERSON_ID,
    NULL_PERSON_ID,
    PERSON_ID_TOO_LONG,
    UNKNOWN_MEMBER_TYPE,
)
from dynamics_campaign_sync.qualification.pushdown import comparable_timestamp, timestamp_literal

PROBLEM = "problem"
WEIGHT = "weight"
#: What can be wrong with a people row (the values of ``problem``).
PROBLEMS = (NULL_PERSON_ID, PERSON_ID_TOO_LONG, UNKNOWN_MEMBER_TYPE, DUPLICATE_PERSON_ID)


def _before(column: sa.ColumnElement[Any], as_of: dt.datetime, dialect: Dialect) -> ColumnElement[bool]:
    return comparable_timestamp(column, dialect.name) < timestamp_literal(column, as_of, dialect.name)


def created_before(table: sa.Table, as_of: dt.datetime, dialect: Dialect) -> list[ColumnElement[bool]]:
    """Rows created before ``as_of`` or at an unknown time (every row when there is no ``created_at``)."""
    if CREATED_AT not in table.columns:
        return []
    created = table.c[CREATED_AT]
    return [sa.or_(created.is_(None), _before(created, as_of, dialect))]


def anyone_clause(table: sa.Table, member_types: Sequence[str], as_of: dt.datetime, dialect: Dialect
                  ) -> ColumnElement[bool]:
    """Whether the table holds a person of ``member_types`` created before ``as_of`` (else the source is
    empty for the spec, which the sync treats as a missing export rather than "nobody qualifies")."""
    anyone = sa.select(table.c[PERSON_ID]).where(table.c[MEMBER_TYPE].in_(list(member_types)),
                                                 *created_before(table, as_of, dialect))
    return sa.exists(anyone)


def only_people_clause(person: ColumnElement[Any], only_people: Collection[str]) -> ColumnElement[bool]:
    """``person IN (...)`` with the ids rendered inline: one list may be repeated per filter, and thousands of ids
    times the filters would pass a database's limit of bound parameters."""
    return person.in_(sa.bindparam(None, sorted(only_people), expanding=True, literal_execute=True))


def _row_filter(table: sa.Table, member_types: Sequence[str], as_of: dt.datetime, dialect: Dialect,
                candidates: Sequence[sa.Select[Any] | sa.CompoundSelect[Any]],
                only_people: Collection[str] | None) -> list[ColumnElement[bool]]:
    where = created_before(table, as_of, dialect)
    if only_people is not None:  # before the versions are numbered: a person's rows are all kept or all left out
        where.append(only_people_clause(table.c[PERSON_ID], only_people))
    others = [kind for kind in MEMBER_TYPES if kind not in member_types]
    if others:  # unknown types (NULL too) are read, to be reported
        member_type = table.c[MEMBER_TYPE]
        where.append(sa.or_(_is_null(member_type), sa.not_(member_type.in_(others))))
    where.extend(table.c[PERSON_ID].in_(ids) for ids in candidates)
    return where


def _is_null(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """``column IS NULL``; false where the table declares the column NOT NULL (a test per row saved: the
    database keeps NULL out)."""
    return column.is_(None) if getattr(column, "nullable", True) else sa.false()


def _bad_id(person: ColumnElement[Any], dialect: Dialect) -> list[tuple[ColumnElement[bool], str]]:
    return [(sa.or_(_is_null(person), person == ""), NULL_PERSON_ID),
            (dialect.longer_than(person, PERSON_ID_MAX_LENGTH), PERSON_ID_TOO_LONG)]


def usable_clauses(rows: sa.Subquery | sa.CTE, history: bool, member_types: Sequence[str], dialect: Dialect
                   ) -> list[ColumnElement[bool]]:
    """``problem IS NULL`` on :func:`people_subquery`'s rows; for a snapshot spelled as plain tests of its
    own columns (what a database pushes into its scan) rather than a test of the computed ``problem``, the
    member type tested as the spec's (the rows hold no other known type)."""
    if history:
        return [rows.c[PROBLEM].is_(None)]
    person = rows.c[PERSON_ID]
    return [*([person.is_not(None)] if person.nullable else []), person != "",
            sa.not_(dialect.longer_than(person, PERSON_ID_MAX_LENGTH)), rows.c[MEMBER_TYPE].in_(list(member_types))]


def problem_cases(rows: sa.Subquery | sa.CTE | sa.Table, computed: bool, dialect: Dialect
                  ) -> list[tuple[ColumnElement[bool], str]]:
    """Each problem with its test, in ``problem``'s order of precedence: on the computed ``problem`` column of
    :func:`people_subquery`'s rows (``computed``: a history table's, or rows already found), else as plain tests
    of a snapshot's own columns."""
    if computed:
        return [(rows.c[PROBLEM] == problem, problem) for problem in PROBLEMS]
    return [*_bad_id(rows.c[PERSON_ID], dialect), _unknown_type(rows.c[MEMBER_TYPE])]


def problem_clause(rows: sa.Subquery | sa.CTE | sa.Table, history: bool, dialect: Dialect) -> ColumnElement[bool]:
    """``problem IS NOT NULL`` on :func:`people_subquery`'s rows; for a snapshot spelled as plain tests of its
    own columns, so the database filters in its scan instead of computing ``problem`` for every person."""
    if history:
        return rows.c[PROBLEM].is_not(None)
    return sa.or_(*(clause for clause, _ in problem_cases(rows, False, dialect)))


def _unknown_type(member_type: ColumnElement[Any]) -> tuple[ColumnElement[bool], str]:
    return sa.or_(_is_null(member_type), sa.not_(member_type.in_(list(MEMBER_TYPES)))), UNKNOWN_MEMBER_TYPE


def is_history(table: sa.Table) -> bool:
    """A history table (several versions per person), not a snapshot (``person_id`` its primary key)."""
    return [column.name for column in table.primary_key.columns] != [PERSON_ID]


def people_subquery(
    table: sa.Table, fields: Sequence[str], member_types: Sequence[str], as_of: dt.datetime, dialect: Dialect,
    candidates: Sequence[sa.Select[Any] | sa.CompoundSelect[Any]] = (), only_people: Collection[str] | None = None,
) -> sa.Select[Any]:
    """Identity columns, ``fields``, ``problem`` and ``weight``: one row per person (see module); with
    ``only_people``, the rows of those person ids alone; with ``candidates`` (queries of person ids), the rows of
    ids every one of them returns."""
    names = list(dict.fromkeys((*IDENTITY_COLUMNS, *fields)))
    where = _row_filter(table, member_types, as_of, dialect, candidates, only_people)
    person = table.c[PERSON_ID]
    if not is_history(table):  # a snapshot: one row each
        problem = sa.case(*_bad_id(person, dialect), _unknown_type(table.c[MEMBER_TYPE]), else_=sa.null())
        return sa.select(*(table.c[n] for n in names), problem.label(PROBLEM),
                         sa.literal(1).label(WEIGHT)).where(*where)
    bad = sa.case(*_bad_id(person, dialect), else_=sa.null())
    rows = sa.select(*(table.c[n] for n in names), bad.label(PROBLEM), *_version_columns(table, as_of, dialect)
                     ).where(*where).subquery("people_rows")
    bad_rows = sa.select(*(rows.c[n] for n in names), rows.c[PROBLEM], sa.literal(1).label(WEIGHT)).where(
        rows.c[PROBLEM].is_not(None))
    chosen = sa.case((rows.c.ties > 1, DUPLICATE_PERSON_ID), _unknown_type(rows.c[MEMBER_TYPE]),
                     else_=sa.null())
    weight = sa.case((rows.c.ties > 1, rows.c.versions), else_=1)
    versions = sa.select(*(rows.c[n] for n in names), chosen.label(PROBLEM), weight.label(WEIGHT)).where(
        rows.c[PROBLEM].is_(None), rows.c.version == 1)
    return sa.union_all(bad_rows, versions).subquery("people_versions").select()


def _version_columns(table: sa.Table, as_of: dt.datetime, dialect: Dialect) -> list[ColumnElement[Any]]:
    """``version`` (1 for the row valid at ``as_of``), ``ties`` (rows of that same version) and ``versions``
    (rows of the person), computed among the rows with a usable id."""
    person = table.c[PERSON_ID]
    bad = sa.or_(*(clause for clause, _ in _bad_id(person, dialect)))
    group = [sa.case((bad, sa.literal(0)), else_=sa.literal(1)), person]  # bad ids are never grouped with ids
    versions = sa.func.count().over(partition_by=group)
    if UPDATED_AT not in table.columns:
        return [sa.func.row_number().over(partition_by=group).label("version"), versions.label("ties"),
                versions.label("versions")]
    updated = table.c[UPDATED_AT]
    valid = sa.case((sa.or_(updated.is_(None), _before(updated, as_of, dialect)), 1), else_=0)
    latest_valid = sa.case((valid == 1, updated), else_=sa.null()).desc()
    earliest_newer = sa.case((valid == 0, updated), else_=sa.null()).asc()
    if dialect.name not in ("mysql", "mariadb"):  # there NULLs sort last in DESC already
        latest_valid, earliest_newer = latest_valid.nulls_last(), earliest_newer.nulls_last()
    version = sa.func.row_number().over(partition_by=group, order_by=[valid.desc(), latest_valid, earliest_newer])
    ties = sa.func.count().over(partition_by=[*group, valid, updated])
    return [version.label("version"), ties.label("ties"), versions.label("versions")]

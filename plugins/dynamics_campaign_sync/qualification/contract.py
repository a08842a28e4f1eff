"""The source table contract: the ``people`` and ``activities`` tables a source must provide.

The README of this package documents it for data engineers; this module is its
executable form. The sample-data generator creates these tables and the SQL
source relies on their column names. A real source may add demographic
columns to ``people`` and attributes to ``activities`` freely.

Timestamps are UTC. On SQLite they are ISO-8601 text ``YYYY-MM-DD HH:MM:SS[.ffffff]``
(space separator, no offset: SQLAlchemy's format), so text comparison is time order.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from dynamics_campaign_sync.ledger.schema import SOURCE_ID_MAX
from dynamics_campaign_sync.member_types import MemberType

#: Columns every people row has; ``dynamics_id`` is NULL for people known only by email.
PERSON_ID = "person_id"
MEMBER_TYPE = "member_type"
DYNAMICS_ID = "dynamics_id"
EMAIL = "email"
CREATED_AT = "created_at"
UPDATED_AT = "updated_at"
IDENTITY_COLUMNS = (PERSON_ID, MEMBER_TYPE, DYNAMICS_ID, EMAIL)

#: The member types a people row may have (the Dynamics entities we sync).
MEMBER_TYPES = tuple(MemberType)
#: The longest person id a source may use: the ledger stores source ids up to this length.
PERSON_ID_MAX_LENGTH = SOURCE_ID_MAX

#: File suffixes of DuckDB databases (the default embedded source); other files are SQLite.
DUCKDB_SUFFIXES = (".duckdb", ".ddb")


def source_file_url(path: Path | str) -> str:
    """The SQLAlchemy URL of a source database file: DuckDB by suffix, opened read-only (several task
    processes read it at once; DuckDB lets one process write or many read), else SQLite."""
    path = Path(path)
    return duckdb_url(path) if path.suffix in DUCKDB_SUFFIXES else f"sqlite:///{path}"


def duckdb_url(path: Path | str) -> str:
    return f"duckdb:///{path}?access_mode=read_only"


#: Columns every activity row has.
ACTIVITY_ID = "activity_id"
ACTIVITY_TYPE = "activity_type"
OCCURRED_AT = "occurred_at"
ATTRIBUTES = "attributes"

#: Activity attributes stored in their own column (pushed down to SQL); others live in ``attributes`` JSON.
KNOWN_ACTIVITY_ATTRIBUTES = ("page_url", "form_name", "email_name", "link_url")

#: The activity types every source is expected to know; custom types are any other value.
STANDARD_ACTIVITY_TYPES = ("web_visit", "form_fill", "email_open", "email_click")

#: Demographic columns of the suggested people table (a source may have more or fewer).
STANDARD_DEMOGRAPHIC_COLUMNS = (
    "first_name",
    "last_name",
    "job_title",
    "industry",
    "country",
    "company_name",
    "company_size",
    "lead_score",
)


def people_table(metadata: sa.MetaData, name: str = "people", schema: str | None = None) -> sa.Table:
    """The suggested people table (one row per person, or one per version: see README)."""
    table = sa.Table(
        name,
        metadata,
        sa.Column(PERSON_ID, sa.Text, primary_key=True),
        sa.Column(MEMBER_TYPE, sa.Text, nullable=False),
        sa.Column(DYNAMICS_ID, sa.Text),
        sa.Column(EMAIL, sa.Text),
        sa.Column("first_name", sa.Text),
        sa.Column("last_name", sa.Text),
        sa.Column("job_title", sa.Text),
        sa.Column("industry", sa.Text),
        sa.Column("country", sa.Text),
        sa.Column("company_name", sa.Text),
        sa.Column("company_size", sa.Integer),
        sa.Column("lead_score", sa.Integer),
        sa.Column(CREATED_AT, sa.DateTime(timezone=True)),
        sa.Column(UPDATED_AT, sa.DateTime(timezone=True)),
        schema=schema,
    )
    # Recommended for large sources: a filter on company size reads a few percent of the people, and
    # the database tests country, member type and job title in the index, reading only matching rows.
    firmographics = ("company_size", "country", MEMBER_TYPE, "job_title")
    sa.Index(f"ix_{name}_firmographics", *(table.c[column] for column in firmographics))
    return table


def activities_table(metadata: sa.MetaData, name: str = "activities", schema: str | None = None) -> sa.Table:
    """The suggested activities table, indexed for the pushed-down reads.

    ``(activity_type, occurred_at, person_id)`` serves every behaviour filter's
    window scan (and covers the plain counts); ``(person_id)`` serves per-person reads;
    one ``attribute_index`` per attribute column serves the conditions on it.
    """
    table = sa.Table(
        name,
        metadata,
        sa.Column(ACTIVITY_ID, sa.Integer, primary_key=True, autoincrement=False),  # ids come from the source
        sa.Column(PERSON_ID, sa.Text, nullable=False),
        sa.Column(ACTIVITY_TYPE, sa.Text, nullable=False),
        sa.Column(OCCURRED_AT, sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(column, sa.Text) for column in KNOWN_ACTIVITY_ATTRIBUTES),
        sa.Column(ATTRIBUTES, sa.Text),
        schema=schema,
    )
    sa.Index(f"ix_{name}_type_time", table.c[ACTIVITY_TYPE], table.c[OCCURRED_AT], table.c[PERSON_ID])
    sa.Index(f"ix_{name}_person", table.c[PERSON_ID])
    for column in (*KNOWN_ACTIVITY_ATTRIBUTES, ATTRIBUTES):
        attribute_index(table, column)
    return table


def attribute_index(table: sa.Table, column: str) -> sa.Index:
    """The recommended index for filters on an activity attribute column: ``(activity_type, column,
    occurred_at, person_id)`` over the rows that have the attribute.

    With it, the SQL source lists the column's distinct values per type cheaply, turns a condition into
    the list of matching values, and counts only matching rows, never touching the table.
    """
    attribute = table.c[column]
    present = attribute.is_not(None)
    return sa.Index(
        f"ix_{table.name}_type_{column}",
        table.c[ACTIVITY_TYPE],
        attribute,
        table.c[OCCURRED_AT],
        table.c[PERSON_ID],
        sqlite_where=present,
        postgresql_where=present,
    )

"""Builders shared by the qualification tests: specs from a few fields, frames, SQLite copies, and a record of
the queries a compiled evaluation runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from dynamics_campaign_sync.qualification import DataFrameSource, SqlSource
from dynamics_campaign_sync.qualification.compiler import evaluate as compiled_evaluate
from dynamics_campaign_sync.qualification.contract import activities_table, people_table
from dynamics_campaign_sync.spec import CampaignSpec, load_specs

SPEC_DIR = Path(__file__).resolve().parents[2] / "dags" / "campaigns"
END = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
START = END - dt.timedelta(days=1)

PEOPLE_COLUMNS = (
    "person_id", "member_type", "dynamics_id", "email", "job_title", "industry", "country",
    "company_size", "lead_score", "created_at", "updated_at", "renewal_date",
)  # fmt: skip
ACTIVITY_COLUMNS = (
    "activity_id", "person_id", "activity_type", "occurred_at",
    "page_url", "form_name", "email_name", "link_url", "attributes",
)  # fmt: skip


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def make_spec(filters: list[dict[str, Any]], logic: str = "all", **fields: Any) -> CampaignSpec:
    """A valid spec around the given filters (everything else defaulted)."""
    data: dict[str, Any] = {
        "key": "test_campaign",
        "title": "Test campaign",
        "owner": "tests@example.com",
        "campaign": {"name": "Test"},
        "schedule": {"cron": "0 6 * * *", "start_date": "2026-01-01"},
        "rules": {"filters": filters, "logic": logic},
    }
    data.update(fields)
    return CampaignSpec.model_validate(data)


def people_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """People rows with every contract column present (missing values NULL)."""
    records = []
    for index, row in enumerate(rows, start=1):
        record: dict[str, Any] = dict.fromkeys(PEOPLE_COLUMNS)
        record.update({"person_id": f"P{index:03d}", "member_type": "lead", "email": f"p{index}@example.com"})
        record.update(row)
        records.append(record)
    return pd.DataFrame.from_records(records, columns=list(PEOPLE_COLUMNS))


def activities_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    records = []
    for index, row in enumerate(rows, start=1):
        record: dict[str, Any] = dict.fromkeys(ACTIVITY_COLUMNS)
        record["activity_id"] = index
        record.update(row)
        records.append(record)
    return pd.DataFrame.from_records(records, columns=list(ACTIVITY_COLUMNS))


def comparable(qualified: pd.DataFrame) -> pd.DataFrame:
    """Qualified people in id order, every value a plain Python one (the compiled evaluation gives them in
    the database's order, member types and reasons as categoricals)."""
    frame = qualified.sort_values("person_id", kind="stable").reset_index(drop=True).astype(object)
    return frame.where(frame.notna(), None)


def sqlite_text(value: Any) -> Any:
    """Timestamps as the contract's SQLite text; other values unchanged (missing ones NULL)."""
    if value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, dt.datetime):
        utc_value = value.astimezone(dt.UTC)
        text = utc_value.strftime("%Y-%m-%d %H:%M:%S")
        return text + (f".{utc_value.microsecond:06d}" if utc_value.microsecond else "")
    return value


def write_sqlite(
    engine: sa.Engine, people: pd.DataFrame, activities: pd.DataFrame, *, snapshot: bool = True
) -> None:
    """Create the contract tables (plus ``renewal_date``) and insert the frames."""
    metadata = sa.MetaData()
    if snapshot:
        people_table(metadata).append_column(sa.Column("renewal_date", sa.Text))
    else:  # a history table: one row per version, so person_id is no primary key
        contract = people_table(sa.MetaData())
        columns = [sa.Column(column.name, column.type) for column in contract.columns]
        sa.Table("people", metadata, *columns, sa.Column("renewal_date", sa.Text))
    activities_table(metadata)
    metadata.create_all(engine)
    with engine.begin() as connection:
        for name, frame in (("people", people), ("activities", activities)):
            rows = [{k: sqlite_text(v) for k, v in row.items()} for row in frame.to_dict("records")]
            if rows:
                connection.execute(sa.text(_insert(name, list(frame.columns))), rows)


def _insert(table: str, columns: list[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"


def sources(people: pd.DataFrame, activities: pd.DataFrame) -> list[Any]:
    """The in-memory source and a SQLite source over the same rows."""
    engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
    write_sqlite(engine, people, activities)
    return [DataFrameSource(people, activities), SqlSource(engine)]


EXTRA_SPECS = [
    # demographic operators on text, numbers and dates, some only partly pushable
    ([{"type": "demographic", "field": "job_title", "operator": "starts_with", "value": ["vp", "head"]},
      {"type": "demographic", "field": "country", "operator": "not_in", "value": ["United States", "Österreich"]},
      {"type": "demographic", "field": "company_size", "operator": "between", "value": [50, 5000]}], "all"),
    ([{"type": "demographic", "field": "job_title", "operator": "is_empty"},
      {"type": "demographic", "field": "created_at", "operator": "in_past", "value": 60},
      {"type": "demographic", "field": "lead_score", "operator": "lt", "value": 20}], "1 or (2 and not 3)"),
    ([{"type": "demographic", "field": "industry", "operator": "ends_with", "value": "services"},
      {"type": "behaviour", "activity": "email_click",
       "where": [{"field": "link_url", "operator": "not_contains", "value": "/pricing"}],
       "min_times": 2, "window": {"in_past_days": 45}}], "not 1 and 2"),
    ([{"type": "behaviour", "activity": "content_download",
       "where": [{"field": "asset_type", "operator": "in", "value": ["ebook", "report"]}],
       "window": {"between": ["2026-01-01", "2026-03-31"]}},
      {"type": "inactivity", "activity": "web_visit", "window": {"in_past_days": 30}}], "1 and 2"),
    ([{"type": "behaviour", "activity": "email_open",
       "where": [{"field": "email_name", "operator": "contains", "value": "newsletter"}],
       "min_times": 1, "max_times": 2, "window": {"in_past_days": 90}}], "all"),
]  # fmt: skip


def example_specs() -> list[tuple[str, CampaignSpec]]:
    """The shipped specs and a few more covering operators and filter kinds the examples do not."""
    shipped = [(spec.key, spec) for spec in load_specs(SPEC_DIR)]
    extra = [(f"extra_{i}", make_spec(filters, logic)) for i, (filters, logic) in enumerate(EXTRA_SPECS, 1)]
    return shipped + extra


def record_queries(monkeypatch: Any) -> list[str]:
    """The SQL of each query the compiled evaluation runs from now on, appended as it runs (the queries still run)."""
    queries: list[str] = []
    real = compiled_evaluate.run_query

    def recorded(engine: sa.Engine, query: Any) -> Any:
        queries.append(str(query.compile(dialect=engine.dialect)))
        return real(engine, query)

    monkeypatch.setattr(compiled_evaluate, "run_query", recorded)
    return queries

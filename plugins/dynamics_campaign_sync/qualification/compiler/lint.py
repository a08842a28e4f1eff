"""Checking specs against their sources before a run: ``python -m dynamics_campaign_sync.qualification.compiler.lint``.

For each spec whose source is reachable, the tables are reflected and the spec is compiled for the
source's dialect: a missing table or column, or a feature the dialect lacks (reading JSON attribute
keys …), is printed as ``<path>: <field>: <message>`` and the exit status is 1. When Dataverse is reachable
through the ``dynamics_default`` connection, the marketing lists ``member_of_list`` filters name must exist
(one list per name) and be static, and a ``people: dataverse`` spec's columns must be columns of its
tables. Unreachable sources are named and skipped, with why (status 0): the spec itself is checked by
``spec.validate``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from typing import Any

from dynamics_campaign_sync.qualification.compiler.activity import needs_json
from dynamics_campaign_sync.qualification.compiler.dialects import dialect_of, missing_features
from dynamics_campaign_sync.qualification.compiler.query import compile_spec
from dynamics_campaign_sync.qualification.dataverse_source import DataverseSource
from dynamics_campaign_sync.qualification.evaluator import unknown_fields
from dynamics_campaign_sync.qualification.memberships import MembershipFacts
from dynamics_campaign_sync.qualification.sources import SourceError
from dynamics_campaign_sync.qualification.sql_source import SqlSource
from dynamics_campaign_sync.spec.loader import SpecError, load_all
from dynamics_campaign_sync.spec.models import (
    BehaviourFilter,
    CampaignSpec,
    InactivityFilter,
    MemberOfListFilter,
)
from dynamics_campaign_sync.spec.validate import _expand

_AS_OF = dt.datetime(2000, 1, 2, tzinfo=dt.UTC)


def problems(spec: CampaignSpec, source: SqlSource) -> list[str]:
    """What keeps ``spec`` from running on ``source`` (empty: nothing)."""
    try:
        unknown = unknown_fields(spec, source.people_columns())
        people, activities = source.tables
    except SourceError as error:
        return [str(error)]
    if unknown:
        return unknown
    dialect = dialect_of(source.engine)
    json = any(needs_json(flt, activities) for _, flt in spec.rules.numbered()
               if isinstance(flt, BehaviourFilter | InactivityFilter))
    found = missing_features(dialect, json)
    if not found:
        # Membership filters compile the same for any members: none stand in for the run's facts.
        nobody = MembershipFacts.of({flt.fact_key: () for _, flt in spec.rules.memberships()})
        query = compile_spec(spec, people, activities, (_AS_OF - dt.timedelta(days=1), _AS_OF), dialect,
                             nobody).query
        query.compile(dialect=source.engine.dialect)  # a construct the dialect cannot render fails here
    return found


def dataverse_problems(spec: CampaignSpec, client: Any) -> list[str]:
    """What Dataverse says against ``spec``: lists its ``member_of_list`` filters name that do not exist (or
    several do) or are dynamic, and, for ``people: dataverse``, columns its tables lack (empty: nothing)."""
    from dynamics_campaign_sync.sync.membership_facts import MembershipListError, find_list_id

    found = []
    if spec.source.from_dataverse:
        people = DataverseSource(client, member_types=spec.member_types, columns=(), scope=spec.key,
                                 change_tracking=False)
        found += unknown_fields(spec, people.people_columns())
    for number, flt in spec.rules.memberships():
        if isinstance(flt, MemberOfListFilter):
            try:
                find_list_id(client, flt)
            except MembershipListError as error:
                found.append(f"rules.filters[{number}]: {error}")
    return found


def needs_dataverse(spec: CampaignSpec) -> bool:
    return spec.source.from_dataverse or any(isinstance(flt, MemberOfListFilter)
                                             for _, flt in spec.rules.memberships())


def dataverse_client() -> tuple[Any, str]:
    """A signed-in client through ``dynamics_default``, or None and why not (no secret in it)."""
    from dynamics_campaign_sync.hooks.dynamics import DynamicsHook

    hook = DynamicsHook()
    try:
        client = hook.client
    except Exception as error:  # noqa: BLE001 - any lookup failure means "no connection to use"
        return None, (f"connection {hook.dynamics_conn_id!r} is not defined or not valid ({type(error).__name__}; "
                      "define it as `make run` does for its processes, e.g. AIRFLOW_CONN_DYNAMICS_DEFAULT)")
    try:
        client.check_access()
    except Exception as error:  # noqa: BLE001 - any failure to sign in or read means "not reachable"
        return None, f"Dataverse not reachable through {hook.dynamics_conn_id!r} ({type(error).__name__})"
    return client, ""


def _source(spec: CampaignSpec) -> SqlSource:
    from dynamics_campaign_sync.hooks.database import SourceHook  # Airflow resolves the connection

    return SqlSource.from_config(spec.source, SourceHook(spec.source.conn_id).engine)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dynamics_campaign_sync.qualification.compiler.lint",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="spec files or directories (default: dags/campaigns)")
    args = parser.parse_args(argv)
    try:
        specs = load_all(_expand(args.paths))
    except SpecError as error:
        print(error, file=sys.stderr)
        return 1
    failed = False
    dataverse: tuple[Any, str] | None = None
    for spec in specs:
        if needs_dataverse(spec):
            dataverse = dataverse or dataverse_client()
            client, why = dataverse
            if client is None:
                print(f"skipped: {spec.path}: Dynamics checks (marketing lists, Dataverse columns): {why}")
            else:
                found = dataverse_problems(spec, client)
                for problem in found:
                    print(f"{spec.path}: {problem}", file=sys.stderr)
                failed |= bool(found)
        if spec.source.from_dataverse:
            continue  # its people are Dataverse's (checked above); activities are read only with them
        source = _source(spec)
        try:
            with source.engine.connect():
                pass
        except Exception as error:  # noqa: BLE001 - any failure to connect means "not reachable"
            print(f"skipped: {spec.path}: source {spec.source.conn_id!r} not reachable ({type(error).__name__})")
            continue
        found = problems(spec, source)
        for problem in found:
            print(f"{spec.path}: {problem}", file=sys.stderr)
        failed |= bool(found)
        if not found:
            print(f"ok: {spec.path} runs on {source.engine.dialect.name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""A spec and an interval as ONE query: the qualified people with their per-filter flags and counts,
the people left out as invalid, the activity rows without a person, and one row of totals.

::

    WITH b2 AS MATERIALIZED (SELECT person_id, count(*) n FROM activities WHERE … GROUP BY person_id),
         people_as_of AS MATERIALIZED (… one row per person as of the interval end, problem, weight …)
    SELECT <matched filters as bits> * 32 + <member type code> /* qualified */, p.person_id, …, c2
      FROM people_as_of p LEFT JOIN b2 ON … WHERE <valid> AND <logic over the filter clauses>
    UNION ALL
    SELECT 18 + <problem code> /* reported */, p.person_id, … WHERE p.problem IS NOT NULL OR <unreadable values>
    UNION ALL
    SELECT 1 /* activity */, activity_id, …, count(*) OVER () … WHERE person_id IS NULL OR … ORDER BY activity_id LIMIT 10
    UNION ALL
    SELECT 2 /* total */, …, (SELECT sum(weight) FROM people_as_of), (SELECT sum(n) FROM b2)

On a row store (PostgreSQL, SQLite, MariaDB) the first two branches are one scan, ``SELECT CASE WHEN
<problem> THEN 18 + <code> … WHEN member_type = 'lead' THEN 0 … END, … WHERE <logic> OR <marked>``, unless a
required inactivity filter is an anti-join, which an ``OR`` would turn into a probe per person. A row that is not
``<marked>`` is valid (the people read hold no known member type but the spec's), so validity is not tested again.
Only the required filters are tested in that ``WHERE``: the logic's other operands are decided from the
matched bits, around it (``SELECT … FROM (… OFFSET 0) decided WHERE row_kind >= 18 OR matched & 2 <> 0
…``), so each condition is computed once per row.
The conditions are written cheapest first (a row store tests them in the order written, see ``logic``); the
people a required behaviour filter matches are an inner join, from which the planner starts when it is the
most selective (without one, the people matching any are a semi-join). On DuckDB the counts are lookups in a
subquery (``scored``) rather than joins.

Demographic clauses stay plain expressions over the people columns, so the database pushes them into
its scan; behaviour counts are grouped once per filter, and a filter's count is joined from the people it
matches alone. The database returns the qualified set and the invalid rows only: memory grows with them, not
with the tables. What a qualified row carries is what the reasons need in the fewest values: the member type
as a small integer, which is the row's kind (text per row is what fetching costs), with the matched filters' bits
above it in the same integer (``ROW``), a count per activity filter (the reasons read those of the filters
matched); its other columns are NULL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from dynamics_campaign_sync.qualification.compiler.activity import (
    activity_clauses,
    counts_query,
    matches,
    window_clauses,
)
from dynamics_campaign_sync.qualification.compiler.conditions import (
    condition_clause,
    unreadable_clause,
    unreadable_kind,
)
from dynamics_campaign_sync.qualification.compiler.dialects import Dialect
from dynamics_campaign_sync.qualification.compiler.logic import (
    cheapest_first,
    logic_clause,
    possibly_true_clause,
)
from dynamics_campaign_sync.qualification.compiler.membership import membership_clause
from dynamics_campaign_sync.qualification.compiler.people import (
    PROBLEMS,
    WEIGHT,
    anyone_clause,
    is_history,
    only_people_clause,
    people_subquery,
    problem_cases,
    problem_clause,
    usable_clauses,
)
from dynamics_campaign_sync.qualification.compiler.value_lists import ValueLists, lists_for, reads_no_row
from dynamics_campaign_sync.qualification.contract import (
    ACTIVITY_ID,
    ACTIVITY_TYPE,
    DYNAMICS_ID,
    EMAIL,
    MEMBER_TYPE,
    MEMBER_TYPES,
    PERSON_ID,
)
from dynamics_campaign_sync.qualification.invalid_rows import MAX_EXAMPLES, UNKNOWN_MEMBER_TYPE
from dynamics_campaign_sync.qualification.logic import behaviour_cover, qualifies_without_behaviour
from dynamics_campaign_sync.qualification.memberships import MembershipFacts, check_facts
from dynamics_campaign_sync.spec.logic import And, Node, Ref, references
from dynamics_campaign_sync.spec.models import (
    BehaviourFilter,
    CampaignSpec,
    DemographicFilter,
    InactivityFilter,
    MembershipFilter,
)

ROW_KIND = "row_kind"  # a qualified row's member type (its index in MEMBER_TYPES), else one of the kinds below
ANYONE = "anyone"  # on the total row: 1 when the source holds anyone of the spec's member types
MATCHED = "matched"  # the filters a qualified person matched, bit i for the i-th filter of the spec
# The result carries both in one integer: the kind in its low KIND_BITS bits, the matched filters above them (at
# most 50 filters: 55 bits). An integer column fewer per row to send and to read: `random_11` (922,546 people
# qualified) 2.10–2.24 s → 1.83–1.87 s for the query, its rows and their arrays, medians of 5 and 7.
ROW = "kind_and_matched"
KIND_BITS = 5
# Small integers: no text per row to fetch. A qualified row leaves every column its reasons do not read NULL,
# which a driver hands over without parsing a value. The kinds of the other rows come after the member types'
# indexes: an activity row naming no person, the totals, a people row to report (plus its problem, see
# ``person_kind``).
ACTIVITY_ROW, TOTAL_ROW, REPORTED_ROW = 16, 17, 18
if len(MEMBER_TYPES) > ACTIVITY_ROW:
    raise RuntimeError("a member type's index would read as another row kind")
if REPORTED_ROW + len(PROBLEMS) >= 1 << KIND_BITS:
    raise RuntimeError("a row kind would not fit in the bits ROW keeps for it")


def packed(branch: sa.Select[Any], dialect: Dialect) -> sa.Select[Any]:
    """``branch`` with its row kind and matched filters as one column (``ROW``), in the position of the kind.
    The filters' bits are shifted as a 64-bit integer: up to 26 filters, ``matched`` is a 32-bit one on
    PostgreSQL."""
    columns = list(branch.selected_columns)
    named = {column.name: column for column in columns}
    row = (dialect.integer(named[MATCHED]) * (1 << KIND_BITS) + named[ROW_KIND]).label(ROW)
    return branch.with_only_columns(*(row if column.name == ROW_KIND else column for column in columns
                                      if column.name != MATCHED))


def unpacked(rows: Any) -> tuple[Any, Any]:
    """The row kinds and the matched filters' bits of ``ROW`` values (an integer array), as ``packed`` joined them."""
    return rows & ((1 << KIND_BITS) - 1), rows >> KIND_BITS


@dataclass(frozen=True)
class CompiledSpec:
    """The query and the names of its result columns."""

    query: sa.Select[Any] | sa.CompoundSelect
    numbers: list[int]  # the filter numbers, bit by bit of MATCHED
    counts: dict[int, str]  # behaviour/inactivity filter number -> count column (total on the total row)
    unreadable: dict[tuple[str, str], str]  # (kind, field) -> 0/1 column
    bits_can_decide: bool = False  # compiled again ``by_bits``, the query would be another shape
    scan_can_filter: bool = False  # an operand the bits would decide is on the people's columns alone


def person_kind(problems: list[tuple[ColumnElement[bool], str]], unreadable: Iterable[ColumnElement[bool]],
                member_type: ColumnElement[Any] | None = None) -> ColumnElement[int]:
    """The row kind of a people row: to report, it carries its problem (``REPORTED_ROW`` plus the problem's position
    in ``PROBLEMS`` plus one; ``REPORTED_ROW`` alone for a value a filter cannot read); else ``member_type``'s
    index in ``MEMBER_TYPES`` (without ``member_type``: NULL, for rows that are all to report). One ``CASE``, so a
    row store tests each condition once per row. Where no value can be unreadable, the tests of the known member
    types are the unknown member type's too (its kind is the ``ELSE``): a member type tested twice per row cost
    `random_11` (922,546 people qualified) 5–13 % of its server time."""
    def reported(problem: str) -> int:
        return REPORTED_ROW + PROBLEMS.index(problem) + 1

    unreadable = list(unreadable)
    cases = [(clause, reported(problem)) for clause, problem in problems
             if member_type is None or unreadable or problem != UNKNOWN_MEMBER_TYPE]
    cases += [(clause, REPORTED_ROW) for clause in unreadable]
    if member_type is None:
        return sa.case(*cases)
    cases += [(member_type == kind.value, index) for index, kind in enumerate(MEMBER_TYPES)]
    return sa.case(*cases, else_=reported(UNKNOWN_MEMBER_TYPE))


def _cte(select: sa.Select[Any], name: str, dialect: Dialect) -> sa.CTE:
    cte = select.cte(name)
    return cte.prefix_with("MATERIALIZED") if dialect.materializes else cte


def _anti_join(person: ColumnElement[Any], activity_person: ColumnElement[Any], dialect: Dialect
               ) -> ColumnElement[bool]:
    """``person NOT IN (activity_person)`` (the valid rows it decides have an id).

    On PostgreSQL ``NOT EXISTS`` over those rows fenced in a subquery (``OFFSET 0``): a ``NOT IN`` whose ids do
    not fit ``work_mem`` is no hashed subplan but a rescan of them per person, and over the table itself the
    planner may pick an index probe per person (in a parallel scan of the people), reading each person's rows of
    every type: 45 s at 1,000,000 people where the hash anti-join on the fenced rows takes 3 s."""
    rows = sa.select(activity_person).where(activity_person.is_not(None))
    if dialect.name != "postgresql":
        return person.not_in(rows)
    fenced = rows.offset(0).subquery()
    return ~sa.select(fenced.c[PERSON_ID]).where(fenced.c[PERSON_ID] == person).exists()


def _required(node: Node) -> set[int]:
    """The filters the logic cannot do without: itself a reference, or the references it ANDs."""
    if isinstance(node, Ref):
        return {node.number}
    if isinstance(node, And):
        return {operand.number for operand in node.operands if isinstance(operand, Ref)}
    return set()


def _people_less_activities(spec: CampaignSpec, table: sa.Table, interval: tuple[dt.datetime, dt.datetime],
                            dialect: Dialect) -> sa.Subquery | None:
    """Activity rows of the spec's types in its widest window without a person id (they count for nobody):
    the first ids (``person_id``) and how many there are (``weight``). None: the spec reads no activity."""
    filters = [flt for _, flt in spec.rules.numbered() if isinstance(flt, BehaviourFilter | InactivityFilter)]
    if not filters:
        return None
    starts = [flt.bounds(*interval)[0] for flt in filters]
    earliest = None if None in starts else min(start for start in starts if start is not None)
    person = table.c[PERSON_ID]
    # Uncorrelated, so computed once: where no row lacks a person (two index seeks), nothing else is read.
    anywhere = sa.or_(sa.exists(sa.select(person).where(person.is_(None))),
                      sa.exists(sa.select(person).where(person == "")))
    where = [anywhere, sa.or_(person.is_(None), person == ""),
             table.c[ACTIVITY_TYPE].in_(list(dict.fromkeys(flt.activity for flt in filters))),
             *window_clauses(table, earliest, interval[1], dialect)]
    has_id = ACTIVITY_ID in table.columns
    activity_id = sa.cast(table.c[ACTIVITY_ID], sa.Text) if has_id else sa.cast(sa.null(), sa.Text)
    rows = sa.select(activity_id.label(PERSON_ID), sa.func.count().over().label(WEIGHT)).where(*where)
    if has_id:
        rows = rows.order_by(table.c[ACTIVITY_ID])
    return rows.limit(MAX_EXAMPLES if has_id else 1).subquery("people_less")


def compile_spec(
    spec: CampaignSpec, people: sa.Table, activities: sa.Table, interval: tuple[dt.datetime, dt.datetime],
    dialect: Dialect, memberships: MembershipFacts | None = None, only_people: Collection[str] | None = None,
    by_bits: bool = False, listed: ValueLists | None = None,
) -> CompiledSpec:
    """The one query of ``spec`` for the interval ``[start, end)`` (tz-aware UTC datetimes); ``memberships``
    are the facts its membership filters need. ``by_bits``: on a dialect that fences a subquery, the logic's
    operands other than required filters are decided from the matched bits (see ``decided_by_bits``; where
    most people qualify). ``listed``: activity conditions as the values of their column they hold for (see
    ``value_lists``). With ``only_people`` (source person ids: a triggered run's woken
    people) the people rows and activity counts are those people's alone; whether the source holds anyone at
    all stays the whole table's answer."""
    end = interval[1]
    numbered = spec.rules.numbered()
    facts = check_facts(spec, memberships)

    def of_only_people(where: list[Any]) -> list[Any]:
        if only_people is None:
            return where
        return [*where, only_people_clause(activities.c[PERSON_ID], only_people)]

    required = _required(spec.rules.tree)  # matched by every qualified person
    # A required inactivity filter needs no count per person (every qualified person has none): an anti-join on
    # its activity rows, as a hand-written NOT EXISTS, and a plain count for the total. With conditions on the
    # activities' values, the rows are found once for both (a materialized table where the dialect makes one):
    # a second search tested them again on every row of the window (``random_08``, a pattern on 1,000,000 visits'
    # page URLs: 1.1 s). Without, a second search is an index-only count, and a table of the rows would hold every
    # row of the window (``random_13``, 3,066,521 visits: sorted for a merge anti-join, 1.5 s → 5.5 s).
    absent: dict[int, sa.Subquery | sa.CTE] = {}
    for n, flt in numbered:
        if isinstance(flt, InactivityFilter) and n in required:
            rows = sa.select(activities.c[PERSON_ID]).where(
                *of_only_people(activity_clauses(flt, activities, interval, dialect, lists_for(listed, n))))
            absent[n] = _cte(rows, f"a{n}", dialect) if flt.where else rows.subquery(f"a{n}")
    behaviour_filters = {n: flt for n, flt in numbered if isinstance(flt, BehaviourFilter)}
    # Count tables, made once: a behaviour filter's total and its people; an inactivity filter matches the
    # people missing from its table (a required one is an anti-join instead, and a plain count for the total).
    counted = {n: _cte(counts_query(flt, activities, interval, dialect, lists_for(listed, n)).where(
                   *of_only_people([])), f"b{n}", dialect)
               for n, flt in numbered if isinstance(flt, BehaviourFilter | InactivityFilter) and n not in absent}
    # A behaviour filter's people with their counts, as a hand-written ``IN (… GROUP BY person_id HAVING
    # count(*) >= n)`` finds them (the reasons give the counts of the filters a person matched). On a row store
    # grouped by person again: a materialized table has no statistics, and PostgreSQL, not knowing its ids
    # distinct, hashed every person instead and spilled to disk. An empty id is no person's (its activities
    # count for nobody, its people row is invalid).
    def found_in(n: int) -> list[ColumnElement[bool]]:
        return [matches(behaviour_filters[n], counted[n].c.n), counted[n].c[PERSON_ID] != ""]

    hits: dict[int, Any] = {}
    for n in behaviour_filters:
        table = counted[n]
        if dialect.columnar:
            hits[n] = sa.select(table.c[PERSON_ID], table.c.n).where(*found_in(n))
        else:
            hits[n] = sa.select(table.c[PERSON_ID], sa.func.max(table.c.n).label("n")).where(*found_in(n)).group_by(
                table.c[PERSON_ID])
    # An integer: a sum of counts is NUMERIC on PostgreSQL, which would make each count column of the union
    # NUMERIC, fetched as one Decimal object per qualified person.
    totals = {n: sa.select(dialect.integer(sa.func.coalesce(sa.func.sum(cte.c.n), 0))).scalar_subquery()
              for n, cte in counted.items()}
    totals |= {n: sa.select(sa.func.count()).select_from(rows).scalar_subquery() for n, rows in absent.items()}
    # When the logic needs a behaviour match, only people with one can qualify, and only their rows are read
    # (and reported when invalid), as a hand-written query would: those matching each behaviour filter the
    # logic requires, else those matching a filter of each set the logic's cover names (``behaviour_cover``:
    # ``(1 or 2) and (3 or 4)`` with 3 demographic reads the people of 1 or 2 — ``dates_and_changes``: 114,137
    # people joined where 13,120 can qualify, 1.41 s → 0.97 s, the hand-written query 0.93 s), else anyone
    # matching one. A row store joins the required filters' people (the planner starts from the most selective)
    # or reads only the candidates; a columnar scan reads the people columns anyway, and the count lookups
    # decide: there they only narrow the rows to report.
    needs_behaviour = not qualifies_without_behaviour(spec.rules.tree, spec)
    required_hits = [n for n in behaviour_filters if n in required] if needs_behaviour else []
    candidates: list[Any] = []
    matching: dict[int, Any] = {}
    if needs_behaviour:
        matching = {n: sa.select(counted[n].c[PERSON_ID]).where(*found_in(n)) for n in hits}
        cover = behaviour_cover(spec.rules.tree, behaviour_filters) or [frozenset(behaviour_filters)]
        candidates = [matching[n] for n in required_hits] or [
            sa.union(*(matching[n] for n in sorted(numbers))) if len(numbers) > 1 else matching[min(numbers)]
            for numbers in cover]
    demographic = {n: flt for n, flt in numbered if isinstance(flt, DemographicFilter)}
    fields = tuple(dict.fromkeys(flt.field for flt in demographic.values()))
    # Without a required filter, a row store reads only the candidates (a semi-join per set); other rows to
    # report are narrowed to the candidates where their people are read.
    read_only = [] if dialect.columnar or required_hits else candidates
    report_only = [] if read_only else candidates
    person_query = people_subquery(people, fields, spec.member_types, end, dialect, read_only, only_people)
    person_rows: sa.Subquery | sa.CTE
    if is_history(people):  # window functions: computed once, read by the person rows and the total
        person_rows = _cte(person_query, "people_as_of", dialect)
    else:  # one filtered scan, into which the database pushes the demographic clauses
        person_rows = person_query.subquery("people_as_of")
    p = person_rows.c
    joined: Any = person_rows
    joined_counts = {n: hits[n].subquery(f"h{n}") if n in hits else cte for n, cte in counted.items()}
    # A filter whose listed conditions hold for no stored value counts no activity (see ``value_lists``): an outer
    # join of its empty table still carries every person through a join step (``random_18``, a webinar filter no
    # document matches: 0.34 s of 1.34 s). A required one stays an inner join, which ends the query at once.
    counts_nothing = {n for n, flt in numbered if isinstance(flt, BehaviourFilter | InactivityFilter)
                      and reads_no_row(activities, flt.where, lists_for(listed, n))}
    count_of: dict[int, ColumnElement[Any]] = {}
    if dialect.columnar:
        # Each count a lookup the database turns into one join built on the count rows, made once in a
        # subquery: the logic and the reasons read the same column (a clause written in both WHERE and SELECT
        # would be joined twice), and filters on the people columns still go down into the scan.
        lookups = [sa.func.coalesce(sa.select(cte.c.n).where(cte.c[PERSON_ID] == p[PERSON_ID]).scalar_subquery(),
                                    0).label(f"n{n}") for n, cte in joined_counts.items()]
        joined = sa.select(*p, *lookups).subquery("scored")
        p = joined.c
        count_of = {n: p[f"n{n}"] for n in joined_counts}
    else:  # one join per count table: inner for the people every qualified person is among, else outer
        for n, cte in joined_counts.items():
            if n in counts_nothing and n not in required_hits:  # everyone's count is 0: nothing to join
                count_of[n] = sa.literal(0)
                continue
            on = cte.c[PERSON_ID] == p[PERSON_ID]
            joined = joined.join(cte, on) if n in required_hits else joined.outerjoin(cte, on)
            count_of[n] = sa.func.coalesce(cte.c.n, 0)
    clauses: dict[int, ColumnElement[bool]] = {}
    count_columns: dict[int, ColumnElement[Any]] = {}
    for number, flt in numbered:
        if isinstance(flt, DemographicFilter):
            clauses[number] = condition_clause(p[flt.field], flt, end, dialect)
        elif isinstance(flt, MembershipFilter):
            clauses[number] = membership_clause(p[DYNAMICS_ID], facts.ids_for(flt), f"m{number}", dialect)
        elif number in absent:
            clauses[number] = _anti_join(p[PERSON_ID], absent[number].c[PERSON_ID], dialect)
            count_columns[number] = sa.literal(0)
        else:
            count_columns[number] = count_of[number]
            clauses[number] = matches(flt, count_of[number])

    def unreadable_in(columns: Any) -> dict[tuple[str, str], ColumnElement[bool]]:
        found = {}
        for flt in demographic.values():
            kind = unreadable_kind(flt)
            clause = unreadable_clause(columns[flt.field], kind, dialect) if kind else None
            if kind and clause is not None:
                found[(kind, flt.field)] = clause
        return found

    unreadable = unreadable_in(p)
    valid = [*usable_clauses(joined if dialect.columnar else person_rows, is_history(people), spec.member_types,
                            dialect),
             *(sa.not_(clause) for clause in unreadable.values())]

    activity_numbers = [n for n, flt in numbered if isinstance(flt, BehaviourFilter | InactivityFilter)]

    def possible(known: dict[int, ColumnElement[bool]]) -> list[ColumnElement[bool]]:
        """Where a row to report is of someone the logic can still qualify whatever their demographics, given
        ``known`` (whether they match each activity filter): the people rows the reference reads, and so
        reports (the pandas evaluator's candidates, ``possibly_true``). Every row read matches the required
        behaviour filters (their people are joined, or the only ones read). Nothing to add where the logic needs
        no behaviour match: everyone is read."""
        if not needs_behaviour:
            return []
        clause = possibly_true_clause(spec.rules.tree, {**known, **dict.fromkeys(required_hits, True)})
        return [] if clause is None else [clause]

    def flag(clause: ColumnElement[bool]) -> ColumnElement[int]:
        return sa.case((clause, 1))  # NULL when not

    numbers = [number for number, _ in numbered]
    # the filters the logic requires match every qualified person: their bits are a constant
    required_bits = sum(1 << bit for bit, number in enumerate(numbers) if number in required)
    matched = sum((sa.case((clauses[number], 1 << bit), else_=0) for bit, number in enumerate(numbers)
                   if number not in required), start=sa.literal(required_bits))
    count_names = {n: f"c{n}" for n in count_columns}
    unreadable_names = {key: f"u{i}" for i, key in enumerate(unreadable, start=1)}

    def row(kind: Any, person_id: Any, *, identity: Any = None, weight: Any = None,
            matched: Any = 0, counts: dict[int, Any] | None = None, unreadable: dict[str, Any] | None = None,
            anyone: Any = None) -> list[ColumnElement[Any]]:
        """The columns every branch of the union has, in one order (a literal where the branch has none,
        NULL for None). Weights and counts are 64-bit integers in every branch (a count is one, a literal or a
        NULL is not): where a column's type differs between branches, PostgreSQL converts it over the union in a
        step of its own per row, one per branch nested (``random_08``, 805,835 people: 0.3 s of 3.4 s)."""
        def value(item: Any) -> ColumnElement[Any]:
            if item is None:
                return sa.cast(sa.null(), sa.Integer)
            return item if isinstance(item, ColumnElement) else sa.literal(item)

        def whole(item: Any) -> ColumnElement[Any]:
            return dialect.integer(value(item))

        dynamics_id, email = identity or (None, None)
        return [value(kind).label(ROW_KIND), person_id.label(PERSON_ID),
                (dynamics_id if dynamics_id is not None else sa.cast(sa.null(), sa.Text)).label(DYNAMICS_ID),
                (email if email is not None else sa.cast(sa.null(), sa.Text)).label(EMAIL),
                whole(weight).label(WEIGHT), value(matched).label(MATCHED),
                *(whole((counts or {}).get(n, 0)).label(name) for n, name in count_names.items()),
                *(value((unreadable or {}).get(name)).label(name) for name in unreadable_names.values()),
                value(anyone).label(ANYONE)]

    # A row store tests conditions in the order written: the valid-row tests and the logic's own AND, cheapest first.
    ordered = not dialect.columnar
    tree = spec.rules.tree
    operands = list(tree.operands) if isinstance(tree, And) else [tree]
    # The logic's operands other than required filters, which the matched bits can decide (see ``decided_by_bits``).
    by_bits_operands = [operand for operand in operands if not isinstance(operand, Ref)]
    bits_can_decide = dialect.fences and not dialect.columnar and bool(by_bits_operands)
    # An operand on the people's own columns alone, which the plain shape tests in the scan of the people
    people_columns_only = {n for n, flt in numbered if isinstance(flt, DemographicFilter | MembershipFilter)}
    scan_can_filter = any(references(operand) <= people_columns_only for operand in by_bits_operands)
    bits_decide = by_bits_operands if by_bits and bits_can_decide else []
    logic = [logic_clause(operand, clauses, ordered) for operand in operands if operand not in bits_decide]
    qualifies = sa.and_(*(cheapest_first([*valid, *logic]) if ordered else [*valid, *logic]))

    def decided_by_bits(select: sa.Select[Any], reports: bool) -> sa.Select[Any]:
        """``select`` kept where the logic's operands other than required filters hold (or, with ``reports``,
        where its row is one to report), tested on its matched bits: a row store evaluates each filter's
        condition once per row, for the bits, instead of once more in the ``WHERE`` (PostgreSQL computes an
        expression again wherever it is written; ``random_01``, three conditions ORed, 952,349 qualified: 2.77 s
        → 1.95 s, the hand-written query 1.63 s). Fenced (``OFFSET 0``), which keeps the subquery from being
        merged into this select (that would write each condition out again) — and PostgreSQL from estimating how
        few rows the bits let through: a selective spec loses its parallel scan (``issue_demographic``, 29,496
        of 1,000,000: 0.29 s → 0.52 s), so this shape is for specs most people pass (see ``compiler.evaluate``).
        Without rows to report, ``select``'s row kind is the member type, made the kind here: for the rows the
        bits let through alone (``random_18``, 200,541 of 986,434 people: 1.86 → 1.68 s server time, best of 4)."""
        if not bits_decide:
            return select
        decided = select.offset(0).subquery("decided")
        bits = {number: decided.c[MATCHED].bitwise_and(1 << bit) != 0 for bit, number in enumerate(numbers)}
        holds = sa.and_(*(logic_clause(operand, bits) for operand in bits_decide))
        if reports:
            to_report = sa.and_(decided.c[ROW_KIND] >= REPORTED_ROW,
                                *possible({number: bits[number] for number in activity_numbers}))
            return sa.select(*decided.c).where(sa.or_(to_report, holds))
        kind = person_kind([], [], decided.c[ROW_KIND]).label(ROW_KIND)
        return sa.select(kind, *(column for column in decided.c if column.name != ROW_KIND)).where(holds)

    person_columns: dict[str, Any] = {"identity": (p[DYNAMICS_ID], p[EMAIL]), "matched": matched,
                      "counts": count_columns}
    if not dialect.columnar and not absent:
        # A row store reads whole rows: one scan returns the qualified people and the rows to report. (Not with
        # a required inactivity filter: under an OR its NOT EXISTS would run once per person, not as an anti-join.)
        marked = sa.or_(problem_clause(person_rows, is_history(people), dialect), *unreadable.values())
        kind = person_kind(problem_cases(person_rows, is_history(people), dialect), unreadable.values(),
                           p[MEMBER_TYPE])
        # A row not to report is valid (see the module's docstring): the scan tests the logic and the rows to report.
        to_report = sa.and_(marked, *possible({number: clauses[number] for number in activity_numbers}))
        scanned = [sa.or_(sa.and_(*cheapest_first(logic)), to_report)] if logic else []  # a row store: in cost order
        person_branches = [decided_by_bits(sa.select(*row(
            kind, p[PERSON_ID], **person_columns,
            weight=sa.case((marked, p[WEIGHT])) if is_history(people) else None,  # a snapshot's rows weigh 1
            unreadable={unreadable_names[key]: flag(clause) for key, clause in unreadable.items()},
        )).select_from(joined).where(*scanned), reports=True)]
    else:
        # Two branches: the qualified one is a conjunction the database pushes into its scan (on a column store
        # an OR with the reported rows would make it read every column of every person).
        member_type = p[MEMBER_TYPE] if bits_decide else person_kind([], [], p[MEMBER_TYPE])  # see decided_by_bits
        qualified_select = decided_by_bits(sa.select(*row(member_type, p[PERSON_ID], **person_columns)).select_from(
            joined).where(qualifies), reports=False)
        if is_history(people):
            reported: Any = person_rows
            reported_where = [sa.or_(problem_clause(person_rows, True, dialect),
                                     *unreadable_in(person_rows.c).values())]
        else:  # tested on the table's own columns, inside the scan, before anything is computed per person
            marked = sa.or_(problem_clause(people, False, dialect), *unreadable_in(people.c).values())
            if dialect.columnar:  # its scan reads every selected column before an OR filter: find the (usually
                rowid: ColumnElement[Any] = sa.literal_column("rowid")  # no) rows by row id, reading two columns
                marked = rowid.in_(person_query.with_only_columns(rowid).where(marked))
            reported = person_query.where(marked).subquery("people_reported")
            reported_where = []
        r = reported.c
        reported_where.extend(r[PERSON_ID].in_(ids) for ids in report_only)
        if needs_behaviour:  # looked up for the rows to report alone (usually none)
            inactive = {n: absent[n] if n in absent else counted[n] for n in activity_numbers if n not in matching}
            reported_where.extend(possible(
                {n: r[PERSON_ID].in_(ids) for n, ids in matching.items()}
                | {n: _anti_join(r[PERSON_ID], table.c[PERSON_ID], dialect) for n, table in inactive.items()}))
        person_branches = [qualified_select, sa.select(*row(
            person_kind(problem_cases(reported, True, dialect), unreadable_in(r).values()), r[PERSON_ID],
            identity=(r[DYNAMICS_ID], None), weight=r[WEIGHT], unreadable={unreadable_names[key]: flag(clause)
                                          for key, clause in unreadable_in(r).items()},
        )).where(*reported_where)]
    total_select = sa.select(*row(
        TOTAL_ROW, sa.cast(sa.null(), sa.Text),
        weight=0, counts=totals,
        anyone=flag(anyone_clause(people, spec.member_types, end, dialect)),
    ))
    branches = person_branches
    # An activity naming no person is none of a triggered run's people: reported by batch runs only.
    people_less = None if only_people is not None else _people_less_activities(spec, activities, interval, dialect)
    if people_less is not None:
        branches.append(sa.select(*row(ACTIVITY_ROW, people_less.c[PERSON_ID], weight=people_less.c[WEIGHT])))
    union = sa.union_all(*(packed(branch, dialect) for branch in [*branches, total_select]))
    return CompiledSpec(union, numbers, count_names, unreadable_names, bits_can_decide, scan_can_filter)


"""On a UTF-8 PostgreSQL server the compiler folds ASCII text in the "C" collation (the locale's ``lower()``
converts every text to wide characters and back) and tests several patterns in one ``LIKE ANY``: the same answer
as ``lower()`` in the server's locale and as the evaluator, and the attribute indexes still serve the conditions."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from source_databases import source_engine

from dynamics_campaign_sync.qualification.compiler.conditions import condition_clause
from dynamics_campaign_sync.qualification.compiler.dialects import Dialect, dialect_of
from dynamics_campaign_sync.qualification.contract import (
    ACTIVITY_TYPE,
    OCCURRED_AT,
    PERSON_ID,
    attribute_index,
)
from dynamics_campaign_sync.spec.models import Condition

pytestmark = pytest.mark.postgres

AS_OF = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
# ASCII and not: letters whose case the locale folds and the "C" collation does not (Ä, Σ, the Kelvin sign, the
# dotted capital I, ß), blanks, NULL, and the characters a LIKE pattern gives a meaning to.
TEXTS = ["VP Sales", "vp sales", "ÄRZTIN", "Ärztin", "Côte d'Ivoire", "STRASSE", "Straße", "İSTANBUL",
         "\u212aELVIN", "ΣΟΦΊΑ", "", "  ", None, "100% OFF_NOW", "Back\\Slash", "under_SCORE", "underXscore"]
TABLE = sa.table("texts", sa.column("position", sa.Integer), sa.column("value", sa.Text))


@pytest.fixture(scope="module")
def engine():
    for engine in source_engine("postgresql"):
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE texts (position integer PRIMARY KEY, value text)")
            connection.execute(sa.text("INSERT INTO texts VALUES (:position, :value)"),
                               [{"position": position, "value": value} for position, value in enumerate(TEXTS)])
        yield engine


def _sql(clause: sa.ColumnElement, engine: sa.Engine) -> str:
    return str(clause.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True}))


def test_ascii_text_is_folded_in_the_c_collation_and_every_text_as_the_locale_folds_it(engine):
    dialect = dialect_of(engine)
    assert dialect.utf8
    folded = dialect.lower(TABLE.c.value, unicode=True)
    assert 'COLLATE "C"' in _sql(folded, engine)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(folded, sa.func.lower(TABLE.c.value)).order_by(TABLE.c.position)).all()
    assert [ours for ours, _ in rows] == [locale for _, locale in rows]
    assert rows[2][0] == "ärztin" and rows[0][0] == "vp sales"  # the non-ASCII text took the locale's path


def test_a_server_not_known_to_be_utf8_and_an_expression_keep_plain_lower(engine):
    assert 'COLLATE "C"' not in _sql(Dialect("postgresql").lower(TABLE.c.value, unicode=False), engine)
    expression = sa.func.btrim(TABLE.c.value, type_=sa.Text)  # read three times by the CASE: not worth it
    assert 'COLLATE "C"' not in _sql(dialect_of(engine).lower(expression, unicode=False), engine)


@pytest.mark.parametrize("operator", ["contains", "not_contains", "starts_with", "ends_with"])
def test_several_patterns_are_one_like_any_whose_special_characters_are_literal(engine, operator):
    needles = ["100%", "_now", "r_s", "k\\s", "ärz", "SCORE"]
    condition = Condition(field="value", operator=operator, value=needles)
    clause = condition_clause(TABLE.c.value, condition, AS_OF, dialect_of(engine))
    sql = _sql(clause, engine)
    assert sql.count("LIKE") == 1 and "ANY (ARRAY[" in sql
    with engine.connect() as connection:
        matched = set(connection.execute(sa.select(TABLE.c.position).where(clause)).scalars())

    def holds(text: str, needle: str) -> bool:
        test = {"contains": str.__contains__, "starts_with": str.startswith, "ends_with": str.endswith}
        return test[operator.removeprefix("not_")](text.lower(), needle.lower())

    positive = {i for i, text in enumerate(TEXTS) if text is not None and any(holds(text, n) for n in needles)}
    expected = set(range(len(TEXTS))) - positive if operator.startswith("not_") else positive
    assert matched == expected
    assert positive  # the needles do match something, including the ones with % _ and \


def test_a_folded_attribute_condition_still_reads_the_partial_attribute_index(engine):
    """``lower()`` told the planner that a NULL form name matches nothing, which proves the attribute index's
    ``form_name IS NOT NULL``; the folding's ``CASE`` does not, so the clause says it. Only the partial index is
    there: without the proof the plan is a scan of the table."""
    metadata = sa.MetaData()
    activities = sa.Table("forms", metadata, sa.Column(PERSON_ID, sa.Text), sa.Column(ACTIVITY_TYPE, sa.Text),
                          sa.Column(OCCURRED_AT, sa.DateTime(timezone=True)), sa.Column("form_name", sa.Text))
    index = attribute_index(activities, "form_name")
    metadata.create_all(engine)
    condition = Condition(field="form_name", operator="in", value=["Demo Request", "Free Trial"])
    clause = condition_clause(activities.c.form_name, condition, AS_OF, dialect_of(engine))
    assert 'COLLATE "C"' in _sql(clause, engine)
    query = sa.select(activities.c.person_id).where(activities.c.activity_type == "form_fill", clause)
    with engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")
        literal = query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join(connection.exec_driver_sql("EXPLAIN " + str(literal)).scalars())
    assert index.name in plan, plan


def test_a_server_that_cannot_say_its_encoding_gets_plain_lower(engine):
    """A server speaking PostgreSQL's protocol without ``server_encoding`` (a warehouse's, say) is not assumed to
    be UTF-8: without that, bytes and characters counting alike does not mean ASCII."""
    def refuse(connection, cursor, statement, *args):
        if statement.startswith("SHOW server_encoding"):
            raise engine.dialect.loaded_dbapi.ProgrammingError("unrecognized configuration parameter")

    sa.event.listen(engine, "before_cursor_execute", refuse)
    try:
        dialect = dialect_of(engine)
    finally:
        sa.event.remove(engine, "before_cursor_execute", refuse)
    assert not dialect.utf8
    assert 'COLLATE "C"' not in _sql(dialect.lower(TABLE.c.value, unicode=False), engine)

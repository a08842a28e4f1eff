"""The spec compiler: a spec and an interval become one SQL query that runs where the data lives.

``compile_spec`` builds the query (SQLAlchemy Core, per dialect), ``evaluate`` runs it and shapes the
answer as the pandas evaluator does (which the tests keep as the reference). Modules, one concern each:
``dialects`` (what each database can do and how it spells it), ``conditions`` (operators), ``activity``
(behaviour and inactivity counts), ``people`` (the as-of version of each person, invalid rows),
``logic`` (the logic expression), ``query`` (the assembled query), ``lint`` (what a source's dialect lacks).
"""

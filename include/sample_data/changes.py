"""Sample change activities (opt-in): ``data_value_changed`` and ``score_changed`` rows in the source
contract's change-activity shape (``dynamics_campaign_sync.change_activities``), their attributes as keys of
the JSON ``attributes`` column.

A title change is mostly a promotion (``Manager`` → ``Director``), a country change a move abroad, a score
change one scoring rule firing (+5, +10, -5 …). They are drawn independently of the people's current
values: the people table is a snapshot, and these rows are only what the change filters count.
"""

from __future__ import annotations

import json

import numpy as np

from dynamics_campaign_sync import change_activities as shape
from sample_data import vocab
from sample_data.randomness import cumulative, pick

_COUNTRIES = np.array([value for value, _ in vocab.COUNTRIES], dtype=object)
_COUNTRY_CDF = cumulative([weight for _, weight in vocab.COUNTRIES])


def _title_payloads(rng: np.random.Generator, size: int) -> list[str]:
    chosen = pick(rng, cumulative([weight for *_, weight in vocab.TITLE_CHANGES]), size)
    return [
        json.dumps({shape.CHANGED_ATTRIBUTE: "job_title", shape.OLD_VALUE: old or None, shape.NEW_VALUE: new})
        for old, new, _ in (vocab.TITLE_CHANGES[index] for index in chosen)
    ]


def _country_payloads(rng: np.random.Generator, size: int) -> list[str]:
    old = pick(rng, _COUNTRY_CDF, size)
    new = pick(rng, _COUNTRY_CDF, size)
    new = np.where(new == old, (new + 1) % len(_COUNTRIES), new)  # a change changes the value
    return [
        json.dumps({shape.CHANGED_ATTRIBUTE: "country", shape.OLD_VALUE: _COUNTRIES[a], shape.NEW_VALUE: _COUNTRIES[b]})
        for a, b in zip(old, new, strict=True)
    ]


def _score_payloads(rng: np.random.Generator, size: int) -> list[str]:
    amounts = np.array([amount for amount, _ in vocab.SCORE_CHANGES])
    change = amounts[pick(rng, cumulative([weight for _, weight in vocab.SCORE_CHANGES]), size)]
    before = np.round(rng.normal(40, 15, size)).astype(np.int64)
    return [
        json.dumps({shape.SCORE_NAME: "lead_score", shape.SCORE_CHANGE: int(amount), shape.NEW_SCORE: int(old + amount)})
        for amount, old in zip(change, before, strict=True)
    ]


def change_attributes(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(activity_type, attributes)`` of ``size`` change activities."""
    kinds = pick(rng, cumulative([weight for _, weight in vocab.CHANGE_KINDS]), size)
    types = np.full(size, shape.DATA_VALUE_CHANGED, dtype=object)
    attributes = np.empty(size, dtype=object)
    builders = {"job_title": _title_payloads, "country": _country_payloads, "lead_score": _score_payloads}
    for index, (kind, _) in enumerate(vocab.CHANGE_KINDS):
        rows = np.flatnonzero(kinds == index)
        if kind == "lead_score":
            types[rows] = shape.SCORE_CHANGED
        attributes[rows] = np.array(builders[kind](rng, rows.size), dtype=object)
    return types, attributes

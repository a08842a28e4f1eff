"""Sample people: leads and contacts with companies, titles, countries and an engagement level.

People are generated in fixed-size chunks of person indices; everything is
numpy arrays, so a million people take seconds. The same per-person base
quantities (creation time, engagement) drive the activity generator, so
nobody is active before they exist and engaged people are the active ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from sample_data import vocab
from sample_data.randomness import (
    COMPANY_STREAM,
    PEOPLE_STREAM,
    cumulative,
    guids,
    pick,
    stream,
    with_nulls,
)

PEOPLE_CHUNK = 100_000  # fixed: part of what makes the output depend only on the seed
HISTORY_DAYS = 3 * 365  # people were created over the three years before the data end
LEAD_SHARE = 0.7
EMAIL_ONLY_SHARE = 0.04  # people not (yet) in Dynamics: known by email only
DORMANT_SHARE = 0.25


def person_ids(start: int, stop: int) -> np.ndarray:
    """Ids ``P0000001`` … for person indices ``[start, stop)``."""
    numbers = np.arange(start + 1, stop + 1).astype(str)
    return np.char.add("P", np.char.zfill(numbers, 7))


@dataclass(frozen=True)
class Companies:
    """The employers people are drawn from (about one per 25 people)."""

    name: np.ndarray
    domain: np.ndarray
    industry: np.ndarray
    country: np.ndarray
    size: np.ndarray
    cdf: np.ndarray  # few large companies employ many of the people


def companies(seed: int, people: int) -> Companies:
    count = max(50, people // 25)
    rng = stream(seed, COMPANY_STREAM)
    first = np.array(vocab.COMPANY_WORDS_A)[rng.integers(0, len(vocab.COMPANY_WORDS_A), count)]
    second = np.array(vocab.COMPANY_WORDS_B)[rng.integers(0, len(vocab.COMPANY_WORDS_B), count)]
    suffix = np.array(vocab.COMPANY_SUFFIXES)[rng.integers(0, len(vocab.COMPANY_SUFFIXES), count)]
    base = np.char.add(np.char.add(first, " "), second)
    name = np.char.rstrip(np.char.add(np.char.add(base, " "), suffix))
    domain = np.char.add(np.char.lower(np.char.add(np.char.add(first, "-"), second)), ".example")
    industries = np.array([value for value, _ in vocab.INDUSTRIES])
    countries = np.array([value for value, _ in vocab.COUNTRIES])
    industry = industries[pick(rng, cumulative([w for _, w in vocab.INDUSTRIES]), count)]
    country = countries[pick(rng, cumulative([w for _, w in vocab.COUNTRIES]), count)]
    size = np.clip(np.round(rng.lognormal(mean=4.6, sigma=1.7, size=count)), 1, 350_000).astype(np.int64)
    popularity = 1.0 / np.arange(1, count + 1) ** 0.6
    return Companies(name, domain, industry, country, size, cumulative(rng.permutation(popularity)))


@dataclass(frozen=True)
class Base:
    """Per-person quantities shared with the activity generator."""

    created: np.ndarray  # seconds since the epoch
    engagement: np.ndarray  # relative activity level


def base(seed: int, start: int, stop: int, end_ts: int) -> Base:
    """Creation time and engagement of the people ``[start, stop)`` (one chunk)."""
    rng = stream(seed, PEOPLE_STREAM, start // PEOPLE_CHUNK)
    size = stop - start
    age_days = HISTORY_DAYS * rng.random(size) ** 1.6  # more people were created recently
    created = end_ts - (age_days * 86_400).astype(np.int64) - rng.integers(3_600, 86_400, size)
    engagement = rng.lognormal(mean=0.0, sigma=1.1, size=size)
    engagement[rng.random(size) < DORMANT_SHARE] *= 0.04
    return Base(created=created, engagement=engagement)


def population(seed: int, people: int, end_ts: int) -> Base:
    """The base quantities of everyone (two small arrays, even for a million people)."""
    parts = [base(seed, s, min(s + PEOPLE_CHUNK, people), end_ts) for s in range(0, people, PEOPLE_CHUNK)]
    return Base(
        created=np.concatenate([p.created for p in parts]),
        engagement=np.concatenate([p.engagement for p in parts]),
    )


def _timestamps(seconds: np.ndarray) -> np.ndarray:
    """UTC text ``YYYY-MM-DD HH:MM:SS`` (the contract's SQLite format)."""
    return np.char.replace(np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s"), "T", " ")


def people_chunk(seed: int, start: int, stop: int, end_ts: int, firms: Companies) -> dict[str, np.ndarray]:
    """The columns of the people table for person indices ``[start, stop)``."""
    size = stop - start
    core = base(seed, start, stop, end_ts)
    rng = stream(seed, PEOPLE_STREAM, 1_000_000 + start // PEOPLE_CHUNK)
    first = np.array(vocab.FIRST_NAMES)[rng.integers(0, len(vocab.FIRST_NAMES), size)]
    last = np.array(vocab.LAST_NAMES)[rng.integers(0, len(vocab.LAST_NAMES), size)]
    employer = pick(rng, firms.cdf, size)
    local = np.char.add(np.char.add(np.char.lower(first), "."), np.char.lower(np.char.replace(last, " ", "")))
    numbered = np.char.add(local, np.arange(start + 1, stop + 1).astype(str))
    email = np.char.add(np.char.add(numbered, "@"), firms.domain[employer])

    titles = np.array([value for value, _ in vocab.JOB_TITLES])
    title = titles[pick(rng, cumulative([w for _, w in vocab.JOB_TITLES]), size)]
    title = np.where(rng.random(size) < 0.05, np.char.lower(title), title)  # typed in lower case
    country = firms.country[employer]
    abroad = rng.random(size) < 0.12  # people who work away from the company's home country
    countries = np.array([value for value, _ in vocab.COUNTRIES])
    country = np.where(
        abroad, countries[pick(rng, cumulative([w for _, w in vocab.COUNTRIES]), size)], country
    )

    score = 38 + 9 * np.log2(core.engagement + 0.05) + rng.normal(0, 10, size)
    lead_score = np.clip(np.round(score), 0, 100).astype(np.int64)
    updated = core.created + ((end_ts - core.created) * rng.beta(0.6, 1.6, size)).astype(np.int64)
    is_lead = rng.random(size) < LEAD_SHARE
    dynamics_id = with_nulls(guids(rng, size), rng.random(size) < EMAIL_ONLY_SHARE)

    return {
        "person_id": person_ids(start, stop),
        "member_type": np.where(is_lead, "lead", "contact"),
        "dynamics_id": dynamics_id,
        "email": email,
        "first_name": first,
        "last_name": last,
        "job_title": with_nulls(title, rng.random(size) < 0.02),
        "industry": with_nulls(firms.industry[employer], rng.random(size) < 0.03),
        "country": with_nulls(country, rng.random(size) < 0.02),
        "company_name": firms.name[employer],
        "company_size": with_nulls(firms.size[employer], rng.random(size) < 0.05),
        "lead_score": with_nulls(lead_score, rng.random(size) < 0.03),
        "created_at": _timestamps(core.created),
        "updated_at": _timestamps(updated),
    }


def people_chunks(seed: int, people: int, end_ts: int) -> Iterator[dict[str, np.ndarray]]:
    """All people, chunk by chunk."""
    firms = companies(seed, people)
    for start in range(0, people, PEOPLE_CHUNK):
        yield people_chunk(seed, start, min(start + PEOPLE_CHUNK, people), end_ts, firms)

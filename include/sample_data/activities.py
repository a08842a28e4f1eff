"""Sample activities: web visits, form fills, email opens and clicks, two custom types and, opt-in, change
activities (``changes``).

Activities spread over the year before the data end with weekly seasonality
(weekends are quiet), a business-hours daily profile, slow growth and a dip
around the new year. Engaged people do most of the activity; nobody is active
before they were created. Chunks cover consecutive days, so rows come out in
time order and ``activity_id`` follows time, as in a real event table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np

from sample_data import vocab
from sample_data.changes import change_attributes
from sample_data.people import Base, person_ids
from sample_data.randomness import (
    ACTIVITY_STREAM,
    CHANGE_PLAN_STREAM,
    CHANGE_STREAM,
    PLAN_STREAM,
    cumulative,
    pick,
    stream,
)

ACTIVITY_DAYS = 365
CHUNK_ROWS = 1_000_000
_RETRIES = 8  # redraws for activities that fell before their person was created


def day_plan(seed: int, activities: int, end_ts: int, plan_stream: int = PLAN_STREAM) -> tuple[int, np.ndarray]:
    """``(first day's epoch seconds, number of activities on each of the ACTIVITY_DAYS days)``."""
    start_ts = end_ts - ACTIVITY_DAYS * 86_400
    days = np.arange(ACTIVITY_DAYS)
    weekday = ((start_ts // 86_400 + days + 3) % 7).astype(int)  # 1970-01-01 was a Thursday
    weights = np.asarray(vocab.WEEKDAY_WEIGHTS)[weekday] * (0.8 + 0.4 * days / ACTIVITY_DAYS)
    day_of_year = (
        (start_ts + days * 86_400).astype("datetime64[s]").astype("datetime64[D]")
        - (start_ts + days * 86_400).astype("datetime64[s]").astype("datetime64[Y]").astype("datetime64[D]")
    ).astype(int)
    weights = np.where((day_of_year >= 357) | (day_of_year <= 2), weights * 0.35, weights)
    counts = stream(seed, plan_stream).multinomial(activities, weights / weights.sum())
    return start_ts, counts


def _chunk_bounds(counts: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive day ranges holding about CHUNK_ROWS activities each."""
    bounds, first, running = [], 0, 0
    for day, count in enumerate(counts):
        running += int(count)
        if running >= CHUNK_ROWS:
            bounds.append((first, day + 1))
            first, running = day + 1, 0
    if first < len(counts):
        bounds.append((first, len(counts)))
    return bounds


def _names(pairs: list[tuple[str, float]]) -> np.ndarray:
    return np.array([value for value, _ in pairs], dtype=object)


def _weights(pairs: list[tuple[str, float]] | list[tuple[str, str, float]]) -> np.ndarray:
    return cumulative([pair[-1] for pair in pairs])


def _people(rng: np.random.Generator, moments: np.ndarray, people: Base, cdf: np.ndarray) -> np.ndarray:
    """A person for each activity, engaged people more often, created before the activity."""
    chosen = pick(rng, cdf, len(moments))
    for _ in range(_RETRIES):
        early = np.flatnonzero(people.created[chosen] > moments)
        if early.size == 0:
            return chosen
        chosen[early] = pick(rng, cdf, early.size)
    early = people.created[chosen] > moments
    oldest = int(np.argmin(people.created))  # rare leftovers go to someone who surely existed
    chosen[early] = oldest
    return chosen


def _attributes(rng: np.random.Generator, kinds: np.ndarray, months: np.ndarray) -> dict[str, np.ndarray]:
    """The type-specific columns (NULL where a column does not apply to the type)."""
    size = len(kinds)
    type_names = [name for name, _ in vocab.ACTIVITY_TYPES]
    is_type = {name: kinds == index for index, name in enumerate(type_names)}
    page_url = np.full(size, None, dtype=object)
    form_name = np.full(size, None, dtype=object)
    email_name = np.full(size, None, dtype=object)
    link_url = np.full(size, None, dtype=object)
    attributes = np.full(size, None, dtype=object)

    pages = vocab.SITE + _names(vocab.PAGES)
    page_url[is_type["web_visit"]] = pages[pick(rng, _weights(vocab.PAGES), int(is_type["web_visit"].sum()))]

    forms = is_type["form_fill"]
    form_index = pick(rng, _weights(vocab.FORMS), int(forms.sum()))
    form_name[forms] = np.array([name for name, _, _ in vocab.FORMS], dtype=object)[form_index]
    page_url[forms] = vocab.SITE + np.array([page for _, page, _ in vocab.FORMS], dtype=object)[form_index]

    emails = is_type["email_open"] | is_type["email_click"]
    programs = _names(vocab.EMAILS)[pick(rng, _weights(vocab.EMAILS), int(emails.sum()))]
    email_name[emails] = programs + " " + months[emails]
    clicks = is_type["email_click"]
    links = vocab.SITE + _names(vocab.EMAIL_LINKS) + "?utm_medium=email"
    link_url[clicks] = links[pick(rng, _weights(vocab.EMAIL_LINKS), int(clicks.sum()))]

    webinars = is_type["webinar_attended"]
    payloads = np.array(
        [json.dumps({"webinar": w, "minutes": m}) for w, _ in vocab.WEBINARS for m in (10, 25, 40, 55)],
        dtype=object,
    )
    chosen = pick(rng, _weights(vocab.WEBINARS), int(webinars.sum())) * 4 + rng.integers(
        0, 4, int(webinars.sum())
    )
    attributes[webinars] = payloads[chosen]

    downloads = is_type["content_download"]
    assets = np.array([json.dumps({"asset": a, "asset_type": t}) for a, t, _ in vocab.ASSETS], dtype=object)
    attributes[downloads] = assets[pick(rng, _weights(vocab.ASSETS), int(downloads.sum()))]
    page_url[downloads] = vocab.SITE + "/resources"
    return {
        "page_url": page_url,
        "form_name": form_name,
        "email_name": email_name,
        "link_url": link_url,
        "attributes": attributes,
    }


def _moments(rng: np.random.Generator, start_ts: int, days: np.ndarray) -> np.ndarray:
    """A sorted moment on each of ``days`` (day numbers), in business hours mostly."""
    moments = start_ts + days * 86_400 + pick(rng, cumulative(vocab.HOUR_WEIGHTS), len(days)) * 3_600
    moments += rng.integers(0, 3_600, len(days))
    moments.sort()
    return moments


def _changes(seed: int, chunk: int, start_ts: int, days: np.ndarray, people: Base, person_cdf: np.ndarray,
             ids: np.ndarray) -> dict[str, np.ndarray]:
    """Change activities on ``days`` (engaged people change score most), as activity columns."""
    rng = stream(seed, CHANGE_STREAM, chunk)
    moments = _moments(rng, start_ts, days)
    types, attributes = change_attributes(rng, len(days))
    empty = np.full(len(days), None, dtype=object)
    return {
        "moment": moments,
        "person_id": ids[_people(rng, moments, people, person_cdf)],
        "activity_type": types,
        **{name: empty for name in ("page_url", "form_name", "email_name", "link_url")},
        "attributes": attributes,
    }


def _merge(columns: dict[str, np.ndarray], changes: dict[str, np.ndarray], moments: np.ndarray) -> np.ndarray:
    """Interleave the change rows into ``columns`` in time order; returns the merged moments."""
    merged = np.concatenate([moments, changes["moment"]])
    order = np.argsort(merged, kind="stable")
    for name in columns:
        columns[name] = np.concatenate([columns[name], changes[name]])[order]
    return merged[order]


def activity_chunks(
    seed: int, activities: int, end_ts: int, people: Base, changes: int = 0
) -> Iterator[dict[str, np.ndarray]]:
    """All activity rows in time order, about CHUNK_ROWS at a time, as columns of the activities table;
    ``changes`` change activities are interleaved (none by default: the data then is as without them)."""
    start_ts, counts = day_plan(seed, activities, end_ts)
    _, change_counts = day_plan(seed, changes, end_ts, CHANGE_PLAN_STREAM)
    person_cdf = cumulative(people.engagement)
    ids = person_ids(0, len(people.created)).astype(object)
    type_names = np.array([name for name, _ in vocab.ACTIVITY_TYPES], dtype=object)
    type_cdf = _weights(vocab.ACTIVITY_TYPES)
    next_id = 1
    for chunk, (first_day, last_day) in enumerate(_chunk_bounds(counts)):
        rng = stream(seed, ACTIVITY_STREAM, chunk)
        days = np.repeat(np.arange(first_day, last_day), counts[first_day:last_day])
        size = len(days)
        moments = _moments(rng, start_ts, days)
        who = _people(rng, moments, people, person_cdf)
        kinds = pick(rng, type_cdf, size)
        months = np.char.replace(
            np.datetime_as_string(moments.astype("datetime64[s]").astype("datetime64[M]"), unit="M"), "T", " "
        )
        columns = {"person_id": ids[who], "activity_type": type_names[kinds]}
        columns.update(_attributes(rng, kinds, months.astype(object)))
        change_days = np.repeat(np.arange(first_day, last_day), change_counts[first_day:last_day])
        if change_days.size:
            moments = _merge(columns, _changes(seed, chunk, start_ts, change_days, people, person_cdf, ids),
                             moments)
        stamps = np.datetime_as_string(moments.astype("datetime64[s]"), unit="s")
        size = len(moments)
        person_id, activity_type = columns.pop("person_id"), columns.pop("activity_type")
        yield {
            "activity_id": np.arange(next_id, next_id + size),
            "person_id": person_id,
            "activity_type": activity_type,
            "occurred_at": np.char.replace(stamps, "T", " "),
            **columns,
        }
        next_id += size

"""The specs ``make bench-qualify`` measures: the shipped ones, three written by someone else (the shapes
issue #13 measured), one in Marketo's relative dates with change-activity filters (issue #10) and seeded
random specs of mixed shapes over the sample data's vocabulary."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from dynamics_campaign_sync.spec import CampaignSpec, load_specs

SPEC_DIR = Path(__file__).resolve().parents[2] / "dags" / "campaigns"
COUNTRIES = ["United States", "United Kingdom", "Germany", "France", "Canada", "India", "Netherlands",
             "Australia", "Spain", "Italy", "Sweden", "Switzerland", "Brazil", "Japan", "Ireland", "Poland"]
INDUSTRIES = ["Software", "Financial Services", "Healthcare", "Manufacturing", "Retail", "Education",
              "Professional Services", "Insurance", "Logistics", "Energy"]
TITLE_WORDS = ["director", "vp", "head of", "chief", "manager", "engineer", "analyst", "founder", "student",
               "intern", "consultant"]
ACTIVITIES = {  # type -> (attribute, values a condition may name)
    "web_visit": ("page_url", ["/pricing", "/product", "/docs", "/blog", "/demo", "/customers"]),
    "form_fill": ("form_name", ["Demo Request", "Free Trial", "Contact Us", "Newsletter Signup"]),
    "email_open": ("email_name", ["Monthly Newsletter", "Product Update", "Webinar Invitation"]),
    "email_click": ("link_url", ["/pricing", "/webinars", "/product", "/demo"]),
    "webinar_attended": ("minutes", [10, 20, 25, 40]),
}


def spec(key: str, filters: list[dict[str, Any]], logic: str = "all") -> CampaignSpec:
    return CampaignSpec.model_validate({
        "key": key, "title": key, "owner": "bench@example.com", "campaign": {"name": key},
        "schedule": {"cron": "0 6 * * *", "start_date": "2026-01-01"}, "rules": {"filters": filters, "logic": logic},
    })


def _behaviour(activity: str, days: int, min_times: int = 1, where: list[dict] | None = None,
               kind: str = "behaviour") -> dict[str, Any]:
    flt: dict[str, Any] = {"type": kind, "activity": activity, "window": {"in_past_days": days},
                           "where": where or []}
    if kind == "behaviour":
        flt["min_times"] = min_times
    return flt


def issue_specs() -> list[CampaignSpec]:
    """The three shapes of issue #13: demographic, behaviour-heavy, broad (~30 % qualify)."""
    return [
        spec("issue_demographic", [
            {"type": "demographic", "field": "job_title", "operator": "contains", "value": "director"},
            {"type": "demographic", "field": "job_title", "operator": "starts_with", "value": "vp"},
            {"type": "demographic", "field": "company_size", "operator": "between", "value": [50, 5000]},
            {"type": "demographic", "field": "country", "operator": "in", "value": COUNTRIES[:10]},
        ], "(1 or 2) and 3 and 4"),
        spec("issue_behaviour", [
            _behaviour("web_visit", 45, 2, [{"field": "page_url", "operator": "contains", "value": "/pricing"}]),
            _behaviour("webinar_attended", 180, 2, [{"field": "minutes", "operator": "gte", "value": 20}]),
            {"type": "demographic", "field": "lead_score", "operator": "gte", "value": 60},
            _behaviour("email_open", 60, kind="inactivity"),
        ], "(1 and 2) or (3 and not 4)"),
        broad_spec(),
    ]


def broad_spec() -> CampaignSpec:
    return spec("issue_broad", [
        _behaviour("email_open", 120, 4),
        {"type": "demographic", "field": "industry", "operator": "in", "value": ["Software", "Healthcare"]},
        {"type": "demographic", "field": "job_title", "operator": "not_contains", "value": ["student", "intern"]},
    ], "(1 or 2) and 3")


def dates_and_changes_spec() -> CampaignSpec:
    """Relative dates on people and windows, and both change filters: promoted to director in the past
    3 months or scored up last quarter, and created over 6 months ago or back on the site in 2 weeks."""
    return spec("dates_and_changes", [
        {"type": "data_value_changed", "attribute": "job_title",
         "new_value": {"operator": "contains", "value": "director"}, "window": {"in_past": "3 months"}},
        {"type": "score_changed", "score": "lead_score", "change": "at least 10",
         "new_score": {"operator": "gte", "value": 50}, "window": {"in_time_frame": "last_quarter"}},
        {"type": "demographic", "field": "created_at", "operator": "in_past_before", "value": "6 months"},
        {"type": "behaviour", "activity": "web_visit", "min_times": 2, "window": {"in_past": "2 weeks"}},
    ], "(1 or 2) and (3 or 4)")


def _demographic(rng: random.Random) -> dict[str, Any]:
    choice = rng.randrange(6)
    if choice == 0:
        return {"type": "demographic", "field": "country", "operator": rng.choice(["in", "not_in"]),
                "value": rng.sample(COUNTRIES, rng.randint(1, 6))}
    if choice == 1:
        return {"type": "demographic", "field": "industry", "operator": rng.choice(["is", "in", "not_in"]),
                "value": rng.sample(INDUSTRIES, rng.randint(1, 3))}
    if choice == 2:
        return {"type": "demographic", "field": "job_title",
                "operator": rng.choice(["contains", "not_contains", "starts_with", "ends_with"]),
                "value": rng.sample(TITLE_WORDS, rng.randint(1, 3))}
    if choice == 3:
        low = rng.choice([10, 50, 200, 1000])
        return {"type": "demographic", "field": "company_size", "operator": rng.choice(["gte", "between"]),
                "value": low if rng.random() < 0.5 else [low, low * rng.choice([5, 20])]}
    if choice == 4:
        return {"type": "demographic", "field": "lead_score", "operator": rng.choice(["gte", "lt"]),
                "value": rng.choice([20, 40, 60, 80])}
    return {"type": "demographic", "field": rng.choice(["job_title", "industry", "country"]),
            "operator": rng.choice(["is_empty", "is_not_empty"])}


def _activity(rng: random.Random, kind: str = "behaviour") -> dict[str, Any]:
    activity = rng.choice(list(ACTIVITIES))
    attribute, values = ACTIVITIES[activity]
    where = []
    if rng.random() < 0.6:
        value = rng.choice(values)
        if isinstance(value, int):
            where.append({"field": attribute, "operator": rng.choice(["gte", "lt"]), "value": value})
        else:
            where.append({"field": attribute, "operator": rng.choice(["contains", "is", "starts_with"]),
                          "value": value})
    return _behaviour(activity, rng.choice([7, 14, 30, 45, 90, 180, 365]), rng.choice([1, 1, 2, 3, 5]), where,
                      kind)


def random_specs(count: int, seed: int) -> list[CampaignSpec]:
    """``count`` specs cycling through the shapes: demographic-only, behaviour-heavy, inactivity, custom
    logic, broad."""
    rng = random.Random(seed)
    specs = []
    for index in range(count):
        shape = index % 5
        if shape == 0:
            filters = [_demographic(rng) for _ in range(rng.randint(1, 4))]
            logic = rng.choice(["all", "any"])
        elif shape == 1:
            filters = [_activity(rng) for _ in range(rng.randint(2, 3))]
            logic = rng.choice(["all", "any"])
        elif shape == 2:
            filters = [_demographic(rng), _activity(rng), _activity(rng, "inactivity")]
            logic = rng.choice(["all", "(1 or 2) and 3"])
        elif shape == 3:
            filters = [_activity(rng), _demographic(rng), _demographic(rng), _activity(rng)]
            logic = rng.choice(["(1 and 2) or (3 and not 4)", "1 or (2 and not 3) or 4", "not (1 and 4) and (2 or 3)"])
        else:
            filters = [_behaviour("email_open", rng.choice([60, 120, 365]), rng.choice([1, 2, 4])),
                       {"type": "demographic", "field": "industry", "operator": "in",
                        "value": rng.sample(INDUSTRIES, 2)},
                       {"type": "demographic", "field": "job_title", "operator": "not_contains",
                        "value": rng.sample(TITLE_WORDS, 2)}]
            logic = "(1 or 2) and 3"
        specs.append(spec(f"random_{index + 1:02d}", filters, logic))
    return specs


def all_specs(random_count: int, seed: int) -> list[CampaignSpec]:
    return [*load_specs(SPEC_DIR), *issue_specs(), dates_and_changes_spec(), *random_specs(random_count, seed)]

"""Validated specs are kept between DAG-file parses while the files are unchanged, and only where it is safe."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dynamics_campaign_sync.spec import collect_specs, loader
from dynamics_campaign_sync.spec.cache import CACHE_DIR_ENV

SHIPPED = Path(__file__).resolve().parents[2] / "dags" / "campaigns"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    specs = tmp_path / "specs"
    shutil.copytree(SHIPPED, specs)
    return specs


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The spec files validated (not served from the cache), in order."""
    seen: list[str] = []
    validate = loader.load_spec

    def counting(path):
        seen.append(Path(path).name)
        return validate(path)

    monkeypatch.setattr(loader, "load_spec", counting)
    return seen


def test_an_unchanged_folder_is_not_validated_again(folder, cache, validations) -> None:
    first = collect_specs(folder)
    validated = len(validations)
    again = collect_specs(folder)

    assert validated == 3 and len(validations) == validated
    assert again == first and [spec.path for spec in again.specs] == [spec.path for spec in first.specs]
    assert [spec.doc_md() for spec in again.specs] == [spec.doc_md() for spec in first.specs]


def test_a_changed_file_is_validated_again(folder, cache, validations) -> None:
    collect_specs(folder)
    spec = folder / "pricing_page_intent.yaml"
    spec.write_text(spec.read_text().replace("min_times:", "min_time:", 1))

    collection = collect_specs(folder)

    assert len(validations) == 6
    assert [problem.location for problem in collection.problems] == ["rules.filters[1].min_time"]


def test_a_new_file_is_seen(folder, cache) -> None:
    collect_specs(folder)
    (folder / "zz_broken.yaml").write_text("key: [")

    assert [Path(problem.path).name for problem in collect_specs(folder).problems] == ["zz_broken.yaml"]


def test_a_cache_folder_others_can_write_to_is_never_used(folder, cache, validations) -> None:
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    collect_specs(folder)
    collect_specs(folder)

    assert len(validations) == 6
    assert list(cache.iterdir()) == []


def test_a_damaged_entry_is_only_a_miss(folder, cache, validations) -> None:
    first = collect_specs(folder)
    [entry] = cache.iterdir()
    entry.write_bytes(entry.read_bytes()[:-40])

    assert collect_specs(folder) == first
    assert len(validations) == 6
    assert collect_specs(folder) == first and len(validations) == 6  # stored again, whole

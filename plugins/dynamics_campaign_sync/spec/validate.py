"""Validate campaign sync specs from the command line.

``python -m dynamics_campaign_sync.spec.validate [paths...]``

Paths are spec files or directories of specs; the default is
``dags/campaigns/*.yaml``. Every problem is printed as
``<path>: <location>: <message>`` and the exit status is 1 if there is any.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from dynamics_campaign_sync.spec.loader import SpecError, load_all, spec_paths

DEFAULT_DIRECTORY = Path("dags/campaigns")


def _expand(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths or [str(DEFAULT_DIRECTORY)]:
        path = Path(raw)
        files.extend(spec_paths(path) if path.is_dir() else [path])
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dynamics_campaign_sync.spec.validate",
        description="Validate campaign sync specs (YAML).",
    )
    parser.add_argument(
        "paths", nargs="*", help=f"spec files or directories (default: {DEFAULT_DIRECTORY}/*.yaml)"
    )
    args = parser.parse_args(argv)
    files = _expand(args.paths)
    if not files:
        print(f"no spec files found in {', '.join(args.paths) or DEFAULT_DIRECTORY}", file=sys.stderr)
        return 1
    try:
        specs = load_all(files)
    except SpecError as error:
        print(error, file=sys.stderr)
        return 1
    for spec in specs:
        print(f"ok: {spec.path} ({spec.key}: {len(spec.rules.filters)} filters, logic {spec.rules.logic!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Validated specs kept between DAG-file parses, keyed by the spec files' bytes.

Each dag-processor parses both campaign DAG files every 30 s, each parse in a fresh process, and both read the
same folder: reading and validating 200 specs costs about 0.1 s a time although the files rarely change. The
collection of a folder is therefore pickled, once per folder, in a cache folder private to this user, with a
digest of every spec file's name and bytes, of the package's code (file sizes and times) and of the Python and
pydantic versions; a parse whose digest matches loads it (a few ms) instead of validating again.

Pickles are only read from a folder that this user owns and nobody else can write to; anything unexpected (no such
folder, a broken or stale entry) means the specs are read and validated as usual.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pydantic

#: Overrides the cache folder (tests; a component whose temporary folder is not kept).
CACHE_DIR_ENV = "CAMPAIGN_SYNC_SPEC_CACHE_DIR"
_PACKAGE = Path(__file__).resolve().parents[1]


def cache_folder() -> Path:
    configured = os.environ.get(CACHE_DIR_ENV)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / f"campaign-sync-specs-{os.getuid()}"


def _private_folder() -> Path | None:
    """The cache folder, created if missing; None unless this user owns it and only this user can write to it."""
    folder = cache_folder()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = folder.lstat()
    except OSError:
        return None
    private = stat.S_ISDIR(status.st_mode) and status.st_uid == os.getuid() and not status.st_mode & 0o022
    return folder if private else None


def _code_fingerprint() -> bytes:
    """Changes whenever the package's code does (a deployment rewrites its files), so no entry outlives its code."""
    digest = hashlib.sha256(f"{sys.version}|{pydantic.VERSION}".encode())
    for path in sorted(_PACKAGE.rglob("*.py")):
        status = path.stat()
        digest.update(f"{path.relative_to(_PACKAGE)}|{status.st_size}|{status.st_mtime_ns}".encode())
    return digest.digest()


def _digest(paths: Sequence[Path]) -> bytes:
    digest = hashlib.sha256(_code_fingerprint())
    for path in paths:
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError as error:  # validating will report it; the entry must differ from a readable file's
            digest.update(f"unreadable: {error.errno}".encode())
        digest.update(b"\0")
    return digest.digest()


def cached(directory: Path, paths: Sequence[Path], collect: Callable[[Sequence[Path]], Any]) -> Any:
    """``collect(paths)``, from the cache when the files (and the code) are as they were when it was stored."""
    folder = _private_folder()
    if folder is None:
        return collect(paths)
    entry = folder / (hashlib.sha256(str(directory.resolve()).encode()).hexdigest() + ".pickle")
    digest = _digest(paths)
    with contextlib.suppress(Exception):  # a missing, truncated or stale entry is only a cache miss
        with entry.open("rb") as file:
            if os.fstat(file.fileno()).st_uid == os.getuid() and file.read(len(digest)) == digest:
                return pickle.load(file)  # noqa: S301 - written by this user into a folder only this user can write
    collection = collect(paths)
    _store(entry, digest, collection)
    return collection


def _store(entry: Path, digest: bytes, collection: Any) -> None:
    written = entry.with_name(f"{entry.name}.{os.getpid()}.tmp")
    try:
        with written.open("wb") as file:
            file.write(digest)
            pickle.dump(collection, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(written, entry)  # readers see the old entry or the new one, never half of one
    except Exception:  # a full disk or a value pickle refuses: the next parse validates again, nothing worse
        with contextlib.suppress(OSError):
            written.unlink()

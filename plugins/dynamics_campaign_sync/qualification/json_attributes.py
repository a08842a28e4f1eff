"""Custom activity attributes kept as JSON text in the ``attributes`` column.

Attributes without a column of their own (``webinar``, ``plan`` …) are read
from the JSON object. Each distinct JSON text is parsed once, so repeated
payloads cost one parse, and the result keeps one value per activity row.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from dynamics_campaign_sync.lazy_exports import lazy_module

if TYPE_CHECKING:
    import pandas as pd
else:  # on first use: the compiled evaluation answers with numpy arrays alone (see lazy_exports.lazy_module)
    pd = lazy_module("pandas")


def _field_of(document: Any, key: str) -> Any:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return None
    if not isinstance(document, dict):
        return None
    value = document.get(key)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)  # nested values compare as their JSON text
    return value


def extract_attribute(documents: pd.Series, key: str) -> pd.Series:
    """The value of ``key`` in each row's JSON object (NULL where absent or not JSON)."""
    if not isinstance(documents.dtype, pd.StringDtype):
        documents = documents.map(_hashable)
    codes, uniques = pd.factorize(documents, use_na_sentinel=True)
    values = np.empty(len(uniques) + 1, dtype=object)
    values[:-1] = [_field_of(document, key) for document in uniques]  # once per distinct payload
    values[-1] = None
    return pd.Series(values[codes], index=documents.index, dtype=object)


def _hashable(document: Any) -> Any:
    """Dict payloads (in-memory sources) become canonical JSON so they can be factorized."""
    if isinstance(document, dict):
        return json.dumps(document, sort_keys=True)
    return document

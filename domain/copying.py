"""Cheaper copies of aggregates taken from the repository's cache."""

from __future__ import annotations

from copy import deepcopy
from typing import Any


class CopiesContainersOnly:
    """The repository deep-copies a cached aggregate on every get so a refused command cannot
    corrupt the cache. Only an aggregate's lists, dicts and sets can change in place; its
    strings, numbers, dates, ids and timestamps are immutable, so sharing them is safe and
    much faster than copying them."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        copy = object.__new__(type(self))
        memo[id(self)] = copy
        copy.__dict__.update({
            name: deepcopy(value, memo) if isinstance(value, (list, dict, set)) else value
            for name, value in self.__dict__.items()
        })
        return copy

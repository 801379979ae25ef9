"""Comparing table and column names across two schemas written by different teams."""

from __future__ import annotations

import re
from collections.abc import Iterable


def tokens(name: str) -> tuple[str, ...]:
    """`postTitle`, `post_title` and `PostTitle` all give ("post", "title")."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return tuple(t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t)


def singular(word: str) -> str:
    """English plural to singular, for the common table-name cases (users, categories, boxes)."""
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if len(word) > 1 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def common_prefix(names: Iterable[str]) -> str:
    """The `prefix_` every name shares (`legacy_` of legacy_users, legacy_posts), else ""."""
    listed = list(names)
    if len(listed) < 2:
        return ""
    shared = listed[0]
    for name in listed[1:]:
        while not name.startswith(shared):
            shared = shared[:-1]
    cut = shared.rfind("_")
    prefix = shared[: cut + 1] if cut > 0 else ""
    return prefix if all(len(n) > len(prefix) for n in listed) else ""


def entity_tokens(table: str, prefix: str) -> tuple[str, ...]:
    """The words naming what a table holds: prefix dropped, each word singular."""
    bare = table[len(prefix) :] if prefix and table.startswith(prefix) else table
    return tuple(singular(t) for t in tokens(bare))


def squashed(name: str) -> str:
    """A name without case, separators and plurals: `user_name` and `UserNames` meet."""
    return "".join(singular(t) for t in tokens(name))


def similarity(a: str, b: str) -> float:
    """0..1, how alike two squashed names are."""
    from difflib import SequenceMatcher

    return SequenceMatcher(None, squashed(a), squashed(b)).ratio()

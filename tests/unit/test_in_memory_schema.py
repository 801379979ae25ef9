"""The in-memory database refuses what the reference schema (CONTRACT.md §4) refuses."""

from __future__ import annotations

import pytest

from demo.in_memory import InMemoryPipeline
from domain.errors import ConstraintViolationError


def test_a_user_cannot_like_the_same_post_twice(pipeline: InMemoryPipeline) -> None:
    db = pipeline.legacy
    user = db.app_insert("user", {"username": "a", "email": "a@example.com", "status": "active"})
    post = db.app_insert(
        "post", {"post_title": "T", "post_content": None, "user_id": user, "status": "draft"}
    )
    db.app_insert("like", {"user_id": user, "post_id": post})
    with pytest.raises(ConstraintViolationError):
        db.app_insert("like", {"user_id": user, "post_id": post})
    assert len(db.app_ids("like")) == 1


def test_an_email_is_unique(pipeline: InMemoryPipeline) -> None:
    db = pipeline.revamp
    db.app_insert("user", {"user_name": "a", "email_address": "a@example.com", "status": "Active"})
    with pytest.raises(ConstraintViolationError, match="email_address"):
        db.app_insert(
            "user", {"user_name": "b", "email_address": "a@example.com", "status": "Active"}
        )

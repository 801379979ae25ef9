"""Fuzzing `tandem run` with hostile input: nothing valid is lost, nothing hostile slips through.

Hypothesis plans at least 400 messages for the six input topics, valid changes of both
platforms (creates, updates, deletes, tombstones) interleaved with hostile messages of every
category of tests/e2e/fuzz_plan.py, published while a real `tandem run` process runs. Then:
every valid change is applied (each target's `processed_events` counts exactly the valid
changes of its direction, and its rows are exactly the planned final rows), every hostile
message is in the DLQ with a reason and nothing else is, and no part of the process died.

One seed runs in `make test`; `make fuzz` (TANDEM_FUZZ_SEEDS=a,b,c) runs more.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from sqlalchemy import Engine

from domain.events import Platform
from tests.e2e.fuzz_plan import COLUMNS, HOSTILE, STATUS, Plan, Step, Writer, plans
from tests.e2e.processes import TANDEM, Process, rows, scalar, started, wait_for
from tests.e2e.wire import Where, Wire

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
SEEDS = [int(s) for s in os.environ.get("TANDEM_FUZZ_SEEDS", "20261125").split(",") if s]
EXAMPLES_DRAWN = 4  # hypothesis' first example is its simplest; the last drawn one is used


def plan_of(chosen_seed: int) -> Plan:
    drawn: list[list[Step]] = []

    @seed(chosen_seed)
    @settings(
        max_examples=EXAMPLES_DRAWN,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(plans(min_messages=400))
    def draw(steps: list[Step]) -> None:
        drawn.append(steps)

    draw()
    return Writer().plan(drawn[-1])


def expected_rows(plan: Plan, origin: Platform) -> dict[str, list[tuple[Any, ...]]]:
    """The target's rows as (natural values) tuples: what the valid changes must leave."""
    names, target = COLUMNS[origin], origin.other
    final = {k: v for k, v in plan.final.items() if k[0] is origin and v is not None}

    def status(entity: str, value: str) -> str:
        return STATUS[(entity, target)][STATUS[(entity, origin)].index(value)]

    def email(user_id: int) -> str:
        return str(plan.final[(origin, "user", user_id)][names["email"]])  # type: ignore[index]

    def title(post_id: int) -> str:
        return str(plan.final[(origin, "post", post_id)][names["title"]])  # type: ignore[index]

    users, posts, likes = [], [], []
    for (_, entity, _), row in final.items():
        if entity == "user":
            users.append((row[names["name"]], row[names["email"]],
                          status("user", row["status"]), row["updated_at"]))  # fmt: skip
        elif entity == "post":
            posts.append((row[names["title"]], row[names["content"]], status("post", row["status"]),
                          email(row[names["author"]]), row["updated_at"]))  # fmt: skip
        else:
            likes.append((email(row["user_id"]), title(row["post_id"])))
    return {"users": sorted(users), "posts": sorted(posts, key=repr), "likes": sorted(likes)}


def actual_rows(engine: Engine, target: Platform) -> dict[str, list[tuple[Any, ...]]]:
    names, p = COLUMNS[target], target.value
    user, email, title = f"{p}_users", names["email"], names["title"]
    users = rows(engine, f"SELECT {names['name']} AS a, {email} AS b, status AS c, updated_at AS d"
                         f" FROM {user}")  # fmt: skip
    posts = rows(engine, f"SELECT p.{title} AS a, p.{names['content']} AS b, p.status AS c,"
                         f" u.{email} AS d, p.updated_at AS e FROM {p}_posts p"
                         f" JOIN {user} u ON u.id = p.{names['author']}")  # fmt: skip
    likes = rows(engine, f"SELECT u.{email} AS a, p.{title} AS b FROM {p}_likes l"
                         f" JOIN {user} u ON u.id = l.user_id"
                         f" JOIN {p}_posts p ON p.id = l.post_id")  # fmt: skip
    return {
        "users": sorted(tuple(r.values()) for r in users),
        "posts": sorted((tuple(r.values()) for r in posts), key=repr),
        "likes": sorted(tuple(r.values()) for r in likes),
    }


def valid_changes(plan: Plan, origin: Platform) -> int:
    return plan.count(lambda s: s.platform is origin and s.op in ("c", "u", "d"))


@pytest.mark.parametrize("chosen_seed", SEEDS)
def test_hostile_input_loses_nothing_and_lets_nothing_through(
    env_file: Path, clean_engines: dict[str, Engine], tmp_path: Path, chosen_seed: int
) -> None:
    plan = plan_of(chosen_seed)
    assert len(plan.messages) >= 400
    assert {p.step.op for p in plan.messages if p.step.hostile} == set(HOSTILE)
    wire = Wire(env_file)
    run = Process([*TANDEM, "run", "--env-file", str(env_file)], tmp_path / "run.log")
    hostile: dict[Where, Step] = {}
    with started(run):
        for planned in plan.messages:
            where = wire.send(planned.message)
            if planned.step.hostile:
                hostile[where] = planned.step
        for origin in Platform:
            engine, wanted = clean_engines[origin.other.value], valid_changes(plan, origin)
            wait_for(
                lambda e=engine, n=wanted: scalar(e, "SELECT count(*) FROM processed_events") >= n,
                300,
                f"{wanted} valid {origin.value} changes applied",
                run,
            )
        wait_for(lambda: len(wire.dead_letters()) >= len(hostile), 120, "dead letters", run)
        assert run.running
    letters = wire.dead_letters()
    slipped = {w: s for w, s in hostile.items() if w not in letters}
    assert not slipped, f"hostile messages not dead-lettered: {slipped}"
    wrongly = {w: (d.error_type, d.error_message) for w, d in letters.items() if w not in hostile}
    assert not wrongly, f"valid messages dead-lettered: {wrongly}"
    assert all(d.error_type and d.error_message for d in letters.values())
    for origin in Platform:
        engine = clean_engines[origin.other.value]
        assert scalar(engine, "SELECT count(*) FROM processed_events") == valid_changes(
            plan, origin
        )
        assert actual_rows(engine, origin.other) == expected_rows(plan, origin)
    log = run.output()
    assert "part died" not in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    wire.close()

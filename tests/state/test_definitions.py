"""Task definitions compared across instance records: what differs is reported, what an older
replica's record lacks is unknown (not different), a disabled task splits nothing."""

from __future__ import annotations

from typing import Any

from worker.state.definitions import conflicts, disagreements

EVERY_2 = {"schedule": "*/2 * * * *", "timezone": "UTC", "scope": "cluster", "time_limit": None}


def _record(instance: str, **tasks: dict[str, Any]) -> dict[str, Any]:
    return {"id": instance, "tasks": tasks}


def test_a_different_schedule_is_one_disagreement_naming_both_replicas_and_the_field() -> None:
    mine = {"slow": {**EVERY_2, "recover": True}}
    theirs = _record("r2", slow={**EVERY_2, "schedule": "*/3 * * * *", "recover": True})
    (found,) = disagreements("r1", mine, [_record("r1", **mine), theirs])
    assert found.fields == ("schedule",)
    assert found.line() == (
        "task slow is defined differently by r1 and r2 (schedule: '*/2 * * * *' vs "
        "'*/3 * * * *'): its fires are split between them"
    )


def test_an_older_record_without_recover_agrees_and_a_disabled_task_is_left_out() -> None:
    new = _record("new", slow={**EVERY_2, "recover": False}, off={**EVERY_2, "disabled": True})
    old = _record("old", slow=EVERY_2, off={**EVERY_2, "schedule": "@daily"})
    assert conflicts([new, old]) == {}
    assert disagreements("new", new["tasks"], [old]) == []


def test_conflicts_group_the_replicas_by_definition() -> None:
    records = [
        _record("a", slow=EVERY_2),
        _record("b", slow={**EVERY_2, "time_limit": 5}),
        _record("c", slow=EVERY_2),
        {"id": "foreign", "tasks": "not an object"},
    ]
    report = conflicts(records)["slow"]
    assert report["fields"] == ["time_limit"]
    assert [d["instances"] for d in report["definitions"]] == [["a", "c"], ["b"]]

"""The restart back-off and the health state machine, without a daemon."""

from __future__ import annotations

import sqlite3

import pytest

from dockyard.services.events import label_attributes
from dockyard.services.health import (HEALTHY, STARTING, UNHEALTHY, go_duration, probe_command, record)
from dockyard.services.restart import Backoff, restarts_at_daemon_start
from dockyard.store.metadata import MetadataDB

ALWAYS = {"Name": "always", "MaximumRetryCount": 0}


def test_backoff_doubles_from_100ms_up_to_a_minute():
    b = Backoff()
    delays = [b.decide(ALWAYS, 1, False, 0.5) for _ in range(12)]
    assert delays[:6] == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2]
    assert max(delays) == 60.0 and delays[-1] == 60.0
    assert b.count == 12


def test_backoff_starts_over_after_ten_seconds_of_uptime():
    b = Backoff()
    for _ in range(4):
        b.decide(ALWAYS, 1, False, 1.0)
    assert b.delay == 0.8
    assert b.decide(ALWAYS, 1, False, 10.0) == 0.1
    assert b.decide(ALWAYS, 1, False, 9.9) == 0.2


@pytest.mark.parametrize("policy,code,stopped,expect", [
    ({"Name": "no"}, 1, False, False),
    (None, 1, False, False),
    (ALWAYS, 0, False, True),
    (ALWAYS, 0, True, True),          # always ignores the manual stop (the cancel does the work)
    ({"Name": "unless-stopped"}, 0, False, True),
    ({"Name": "unless-stopped"}, 0, True, False),
    ({"Name": "on-failure"}, 0, False, False),
    ({"Name": "on-failure"}, 2, False, True),
    ({"Name": "on-failure"}, 2, True, True),
])
def test_policy_decisions(policy, code, stopped, expect):
    assert (Backoff().decide(policy, code, stopped, 0.0) is not None) is expect


def test_on_failure_maximum_and_cancel():
    b = Backoff()
    policy = {"Name": "on-failure", "MaximumRetryCount": 2}
    assert [b.decide(policy, 1, False, 0) is not None for _ in range(3)] == [True, True, False]
    b = Backoff()
    b.cancelled = True
    assert b.decide(ALWAYS, 1, False, 0) is None


def test_policies_at_daemon_start():
    assert restarts_at_daemon_start(ALWAYS, 0, True)
    assert restarts_at_daemon_start({"Name": "unless-stopped"}, 137, False)
    assert not restarts_at_daemon_start({"Name": "unless-stopped"}, 137, True)
    assert restarts_at_daemon_start({"Name": "on-failure", "MaximumRetryCount": 1}, 3, False)
    assert not restarts_at_daemon_start({"Name": "on-failure"}, 0, False)
    assert not restarts_at_daemon_start({"Name": "no"}, 1, False)


def result(code: int, start: str = "2026-01-01T00:00:00Z") -> dict:
    return {"Start": start, "End": start, "ExitCode": code, "Output": ""}


def test_health_record_state_machine():
    h = {"Status": STARTING, "FailingStreak": 0, "Log": []}
    assert record(h, result(1), retries=2, within_start_period=False) is None
    assert h["FailingStreak"] == 1 and h["Status"] == STARTING
    assert record(h, result(1), retries=2, within_start_period=False) == UNHEALTHY
    assert record(h, result(1), retries=2, within_start_period=False) is None
    assert h["FailingStreak"] == 3
    assert record(h, result(0), retries=2, within_start_period=False) == HEALTHY
    assert h["FailingStreak"] == 0
    # a failure while healthy counts even within the start period
    assert record(h, result(-1), retries=2, within_start_period=True) is None
    assert h["FailingStreak"] == 1 and h["Status"] == HEALTHY
    # the log keeps the last five
    for i in range(7):
        record(h, result(0, f"2026-01-01T00:00:0{i}Z"), retries=2, within_start_period=False)
    assert len(h["Log"]) == 5 and h["Log"][-1]["Start"] == "2026-01-01T00:00:06Z"


def test_health_start_period_and_default_retries():
    h = {"Status": STARTING, "FailingStreak": 0, "Log": []}
    for _ in range(5):
        assert record(h, result(1), retries=0, within_start_period=True) is None
    assert h["FailingStreak"] == 0 and h["Status"] == STARTING
    record(h, result(1), retries=0, within_start_period=False)
    record(h, result(1), retries=0, within_start_period=False)
    assert h["Status"] == STARTING
    assert record(h, result(1), retries=0, within_start_period=False) == UNHEALTHY  # 3 by default


@pytest.mark.parametrize("secs,text", [
    (0, "0s"), (0.5, "500ms"), (0.3, "300ms"), (1, "1s"), (1.5, "1.5s"), (30, "30s"), (90, "1m30s"),
    (3600, "1h0m0s"), (0.0015, "1.5ms"), (0.000002, "2µs"),
])
def test_go_duration(secs, text):
    assert go_duration(secs) == text


def test_probe_command():
    assert probe_command({"Healthcheck": {"Test": ["CMD-SHELL", "echo ok"]}}) == ["/bin/sh", "-c", "echo ok"]
    assert probe_command({"Healthcheck": {"Test": ["CMD-SHELL", "x"]}, "Shell": ["/bin/ash", "-ec"]}) == \
        ["/bin/ash", "-ec", "x"]
    assert probe_command({"Healthcheck": {"Test": ["CMD", "true", "1"]}}) == ["true", "1"]
    assert probe_command({"Healthcheck": {"Test": ["NONE"]}}) is None
    assert probe_command({"Healthcheck": {"Interval": 1}}) is None
    assert probe_command({}) is None


def test_label_attributes_never_clash_with_event_attributes():
    assert label_attributes({"name": "x", "image": "y", "exitCode": "1", "team": "blue"}) == {"team": "blue"}
    assert label_attributes(None) == {}


def test_manually_stopped_column_is_added_to_an_old_database(tmp_path):
    path = str(tmp_path / "old.db")
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE container_state (id TEXT PRIMARY KEY, status TEXT NOT NULL, pid INTEGER NOT NULL DEFAULT 0,
            exit_code INTEGER NOT NULL DEFAULT 0, started_at INTEGER NOT NULL DEFAULT 0,
            finished_at INTEGER NOT NULL DEFAULT 0, oom_killed INTEGER NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '', restart_count INTEGER NOT NULL DEFAULT 0,
            monitor_pid INTEGER NOT NULL DEFAULT 0, started_once INTEGER NOT NULL DEFAULT 0, health TEXT);
        INSERT INTO container_state (id, status) VALUES ('c1', 'exited');
    """)
    conn.close()
    db = MetadataDB(path)
    try:
        row = db.query_one("SELECT manually_stopped FROM container_state WHERE id='c1'")
        assert row[0] == 0
    finally:
        db.close()
    MetadataDB(path).close()  # opening again is a no-op

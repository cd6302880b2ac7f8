"""`guardrail audit show|stats|verify` on a log written by a real guard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from guardrail import Guard, PermissionDenied, Principal, report_cost
from guardrail.audit import ChainLog
from guardrail.call import BudgetState, Call
from guardrail.cli import main
from guardrail.cli.audit import parse_since

GuardFactory = Callable[..., Guard]


@pytest.fixture
def written(make_guard: GuardFactory, log_path: Path, alice: Principal) -> Path:
    bob = Principal(subject="bob", org="acme", teams=("billing",), roles=frozenset({"support"}))
    with ChainLog(log_path, fsync="never") as log:
        guard = make_guard(log)

        @guard.tool(cost=1)
        def refund(order_id: str, amount: float) -> str:
            report_cost(amount / 10)
            return order_id

        @guard.tool
        def boom(order_id: str) -> str:
            raise RuntimeError("down")

        fake_reserve = _Reserve()
        guard.add_step(fake_reserve)
        with guard.acting_as(alice):
            refund("A-1", 40.0)
            refund("A-2", 20.0)
            with pytest.raises(PermissionDenied):
                refund("A-3", 400.0)
            with pytest.raises(RuntimeError):
                boom("A-4")
        with guard.acting_as(bob):
            refund("B-1", 10.0)
    return log_path


class _Reserve:
    def enter(self, call: Call) -> None:
        call.budget = BudgetState(reserved=call.tool.cost)

    def exit(self, call: Call) -> None:
        pass


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["audit", *args])
    return code, capsys.readouterr().out


def test_show_lists_outcomes_and_refusals(
    written: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """show prints one row per outcome or refusal, intents hidden."""
    code, out = run(capsys, "show", str(written))
    assert code == 0
    rows = out.splitlines()
    assert rows[0].split()[:4] == ["SEQ", "TIME", "PHASE", "TOOL"]
    assert len(rows) == 1 + 5
    assert any("refusal" in r and "denied" in r and "support-refunds" in r for r in rows)
    assert any("outcome" in r and "RuntimeError" in r for r in rows)


def test_show_filters(written: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """show filters by user, decision, tool and time."""
    _, out = run(capsys, "show", str(written), "--user", "bob")
    assert len(out.splitlines()) == 2 and "bob" in out and "alice" not in out
    _, out = run(capsys, "show", str(written), "--decision", "denied")
    assert len(out.splitlines()) == 2
    _, out = run(capsys, "show", str(written), "--tool", "boom", "--all")
    assert len(out.splitlines()) == 3
    _, out = run(capsys, "show", str(written), "--since", "1h")
    assert len(out.splitlines()) == 6
    _, out = run(capsys, "show", str(written), "--since", "2999-01-01")
    assert len(out.splitlines()) == 1


def test_stats(written: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """stats counts calls, denials by rule, tool errors and spend by user, team and tool."""
    code, out = run(capsys, "stats", str(written))
    assert code == 0
    assert "calls: 5" in out
    assert "denied: support-refunds: 1" in out
    assert "boom: RuntimeError: 1" in out
    assert "alice: 6" in out and "bob: 1" in out
    assert "support-eu: 6" in out and "billing: 1" in out
    assert "refund: 7" in out


def test_verify_ok_and_broken(written: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """verify exits 0 with the count, or 1 naming each break."""
    code, out = run(capsys, "verify", str(written))
    assert code == 0 and "OK: 10 records (9 events)" in out
    rows = written.read_bytes().splitlines(keepends=True)
    written.write_bytes(b"".join(rows[:3] + rows[4:6] + rows[7:]))
    code, out = run(capsys, "verify", str(written))
    assert code == 1
    assert [line.split()[1] for line in out.splitlines()[:-1]] == ["4", "7"]
    assert out.splitlines()[-1].startswith("FAILED: 2 problem(s)")


def test_parse_since() -> None:
    """--since takes an age or an ISO time."""
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert parse_since("30m", now) == now - timedelta(minutes=30)
    assert parse_since("2026-11-25T10:00", now) == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

"""``hangar billing policy|deposit|alerts|meter`` against a live server: the minimum-balance
gate set and lifted by a deposit, bad input refused, and a generic meter record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hangar.client import HangarClient
from tests.cli.conftest import Cli, flat
from tests.cli.test_billing import owner_cli
from tests.support import live_server
from tests.support import test_settings as settings_for


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("cli-billing-policy") / "home"
    with live_server(settings_for(home, f"sqlite:///{home.parent}/h.db")) as url:
        yield url


def test_policy_gate_deposit_and_alerts(
    tmp_path: Path, cli: Cli, server_url: str, admin_client: HangarClient
) -> None:
    owner = owner_cli(tmp_path, server_url, admin_client, "gated")
    shown = owner.ok("billing", "policy").stdout
    assert "none (no gate)" in shown and "arrears" in shown
    refused = owner.fails(1, "billing", "policy", "--min-balance", "100")
    assert "platform admin" in flat(refused.stderr)
    tid = owner.json("billing", "policy")["tenant_id"]
    policy = cli.json("billing", "policy", "--tenant", tid, "--min-balance", "100",
                      "--exhausted", "stop")  # fmt: skip
    assert (policy["min_balance"], policy["exhausted_action"]) == ("100", "stop")
    bad = cli.fails(1, "billing", "policy", "--tenant", tid, "--min-balance", "-3")
    assert "min_balance" in bad.stderr and "must not be negative" in flat(bad.stderr)
    deposit = cli.json("billing", "deposit", "150", "--tenant", tid, "--note", "order 7",
                       "--idempotency-key", "order-7")  # fmt: skip
    assert (deposit["amount"], deposit["unit"], deposit["kind"]) == ("-150", "CNY", "deposit")
    cli.json("billing", "deposit", "150", "--tenant", tid, "--idempotency-key", "order-7")
    assert owner.json("billing", "policy")["balance"] == "150"
    assert "Balance" in owner.ok("billing", "policy").stdout
    lifted = cli.json("billing", "policy", "--tenant", tid, "--no-min-balance")
    assert lifted["min_balance"] is None and lifted["exhausted_action"] == "stop"
    assert owner.json("billing", "alerts") == []
    assert "no alerts" in owner.ok("billing", "alerts").stderr


def test_a_meter_record_is_idempotent_and_bad_ones_refused(cli: Cli) -> None:
    first = cli.json("billing", "meter", "ip-42", "--meter", "public-ip", "--quantity", "2")
    again = cli.json("billing", "meter", "ip-42", "--meter", "public-ip", "--quantity", "2")
    assert first["id"] == again["id"] and first["quantity"] == "2"
    bad = cli.fails(1, "billing", "meter", "x", "--meter", "cpu", "--quantity", "1")
    assert "not a generic meter" in flat(bad.stderr)


def test_compensation_without_arrears_is_refused_with_the_figures(cli: Cli) -> None:
    refused = cli.fails(1, "billing", "compensate")
    assert "no compensation is due" in flat(refused.stderr)

"""The README's configuration example is a valid config (docs that drift fail here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmledger.alerts import AlertSettings
from llmledger.config import load_config
from llmledger.dashboard import DashboardAuth, Principal
from llmledger.gateway.settings import GatewaySettings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_config_example_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = README.read_text().split("## Configuration", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GROQ_API_KEY", "LLMLEDGER_ADMIN_TOKEN", "SLACK_WEBHOOK_URL",
                 "HOOK_SECRET", "FINANCE_PASSWORD", "ACME_DASHBOARD_PASSWORD"):
        monkeypatch.setenv(name, "https://hooks.example.com/x" if name == "SLACK_WEBHOOK_URL" else f"value-of-{name}")
    (tmp_path / "llmledger.yaml").write_text(block)
    config = load_config(tmp_path / "llmledger.yaml")
    settings = GatewaySettings.from_config(config)
    assert settings.upstreams["groq"].api_key == "value-of-GROQ_API_KEY"
    assert settings.policy.max_tokens_for({"feature": "summarize"}) == 500
    assert {limit.name for limit in settings.limits} == {"acme-daily", "tenant=acme/rpm", "tenant=acme/tpm"}
    assert config.prices and settings.redis == "redis://127.0.0.1:6379/0"
    alerts = AlertSettings.from_config(config)
    assert [rule.kind for rule in alerts.rules] == ["budget", "daily_vs_rolling_avg", "anomaly", "burn_rate",
                                                     "runaway_session", "unpriced"]
    assert set(alerts.channels) == {"oncall", "finance", "mail", "log"}
    dashboard = DashboardAuth.from_config(config.raw)
    assert dashboard.login("acme", "value-of-ACME_DASHBOARD_PASSWORD") == Principal("acme", "acme")
    assert dashboard.login("admin", "value-of-LLMLEDGER_ADMIN_TOKEN") == Principal("admin")

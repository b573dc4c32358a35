from __future__ import annotations

import json
import subprocess
from decimal import Decimal


def test_cost_of_a_body_as_json(run, fixtures_dir):
    out = json.loads(run("cost", fixtures_dir / "openai/chat_completion_reasoning_o3-mini.json", "--json").stdout)
    assert out["provider"] == "openai" and out["model"] == "o3-mini-2025-01-31" and out["stream"] is False
    assert out["usage"]["input"] == 7 and out["usage"]["output"] == 23 and out["usage"]["reasoning"] == 64
    mtok = Decimal(10**6)
    assert Decimal(out["cost"]["components"]["reasoning"]) == 64 * Decimal("4.4") / mtok
    assert Decimal(out["cost"]["total"]) == (7 * Decimal("1.1") + 87 * Decimal("4.4")) / mtok
    assert out["cost"]["status"] == "priced"
    assert out["cost"]["price_version"].startswith("genai-prices ")
    assert out["cost"]["priced_as"] == "openai/o3-mini"


def test_cost_of_a_stream_transcript_table(run, fixtures_dir):
    out = run("cost", fixtures_dir / "anthropic/messages_stream_basic.txt").stdout
    assert "(stream)" in out and "claude-sonnet-4-5-20250929" in out
    assert "$0.000135" in out  # 20 × $3 + 5 × $15 per MTok
    assert "status: priced" in out


def test_cost_of_a_bedrock_decoded_stream_needs_the_model(run, fixtures_dir):
    path = fixtures_dir / "bedrock/converse_stream_events_decoded.json"
    result = run("cost", path, "--provider", "bedrock", code=1)
    assert "pass --model" in result.stderr
    out = json.loads(run("cost", path, "--provider", "bedrock", "--model", "us.amazon.nova-micro-v1:0",
                         "--json").stdout)
    assert Decimal(out["cost"]["total"]) == (2 * Decimal("0.035") + 32 * Decimal("0.14")) / 10**6


def test_guessed_provider_lets_the_catalog_match_the_model(run, fixtures_dir):
    out = json.loads(run("cost", fixtures_dir / "mistral/chat_completion_cached.json", "--json").stdout)
    assert out["provider"] == "mistral" and out["cost"]["priced_as"] == "mistral/mistral-large"


def test_unknown_model_is_unpriced_with_exit_3(run, tmp_path):
    body = {"object": "chat.completion", "model": "my-private-model", "usage": {"prompt_tokens": 5,
                                                                                 "completion_tokens": 2}}
    (tmp_path / "r.json").write_text(json.dumps(body))
    out = json.loads(run("cost", tmp_path / "r.json", "--provider", "openai", "--json", code=3).stdout)
    assert out["cost"]["status"] == "unpriced" and out["cost"]["total"] is None
    assert "my-private-model" in out["cost"]["reason"]


def test_local_override_prices_a_fine_tuned_model(run, tmp_path):
    body = {"object": "chat.completion", "model": "ft:gpt-4o-mini:acme", "usage": {"prompt_tokens": 1000,
                                                                                    "completion_tokens": 100}}
    (tmp_path / "r.json").write_text(json.dumps(body))
    (tmp_path / "llmledger.yaml").write_text(
        'prices:\n  - {provider: openai, model: "ft:gpt-4o-mini:acme", input_mtok: 0.30, output_mtok: 1.20, '
        "from: 2026-01-01}\n")
    out = json.loads(run("cost", tmp_path / "r.json", "--provider", "openai", "--json").stdout)
    assert Decimal(out["cost"]["total"]) == (1000 * Decimal("0.30") + 100 * Decimal("1.20")) / 10**6
    assert out["cost"]["price_version"] == "override openai/ft:gpt-4o-mini:acme from 2026-01-01"


def test_bad_inputs_exit_non_zero_with_a_clear_message(run, tmp_path, fixtures_dir):
    (tmp_path / "bad.json").write_text('{"object": "chat.completion", "usage": ')
    assert "is not valid JSON" in run("cost", tmp_path / "bad.json", code=1).stderr
    (tmp_path / "nousage.json").write_text('{"object": "chat.completion", "model": "gpt-4o"}')
    assert "has no 'usage' object" in run("cost", tmp_path / "nousage.json", code=1).stderr
    (tmp_path / "neg.json").write_text('{"object": "chat.completion", "model": "gpt-4o", "usage": '
                                       '{"prompt_tokens": -3, "completion_tokens": 1}}')
    assert "usage.prompt_tokens must not be negative, got -3" in run("cost", tmp_path / "neg.json", code=1).stderr
    result = run("cost", fixtures_dir / "openai/chat_completion_docs_default.json", "--provider", "nope", code=1)
    assert "unknown provider 'nope'" in result.stderr
    cut = (fixtures_dir / "openai/chat_completions_stream_include_usage.txt").read_text().split("\n\n")[:3]
    (tmp_path / "cut.txt").write_text("\n\n".join(cut))
    assert "ended without reporting usage" in run("cost", tmp_path / "cut.txt", code=1).stderr
    assert "cannot read" in run("cost", tmp_path / "missing.json", code=1).stderr


def test_installed_entry_point(fixtures_dir):
    result = subprocess.run(["llmledger", "cost", str(fixtures_dir / "google/generate_content_thinking.json"),
                             "--json"], capture_output=True, text=True, check=True)
    out = json.loads(result.stdout)
    assert out["usage"]["reasoning"] == 275 and out["cost"]["priced_as"] == "google/gemini-2.5-pro"

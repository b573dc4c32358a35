"""`prices refresh` fetches a catalog only when asked; here from a local HTTP server (no internet in tests)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

CATALOG = [{
    "id": "testprov", "name": "Test provider", "api_pattern": "https://api\\.test",
    "models": [{"id": "m1", "match": {"equals": "m1"}, "prices": {"input_mtok": 1.5, "output_mtok": 2}}],
}]


@pytest.fixture
def catalog_server():
    body = json.dumps(CATALOG).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path != "/data.json":
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_refresh_saves_a_catalog_that_is_used_once_configured(run, catalog_server, tmp_path):
    assert "no price for model 'm1'" in run("prices", "show", "m1", "--provider", "testprov", code=1).stderr
    out = run("prices", "refresh", "--url", f"{catalog_server}/data.json").stdout
    assert "saved 1 models to llmledger-prices.json" in out and "set `price_catalog:" in out
    (tmp_path / "llmledger.yaml").write_text("price_catalog: llmledger-prices.json\n")
    shown = json.loads(run("prices", "show", "m1", "--provider", "testprov", "--json").stdout)
    assert shown["prices"] == {"input_mtok": "1.5", "output_mtok": "2"}
    assert "refreshed file llmledger-prices.json" in shown["price_version"]


def test_refresh_refuses_what_is_not_a_catalog(run, catalog_server, tmp_path):
    assert "cannot fetch the catalog" in run("prices", "refresh", "--url", f"{catalog_server}/nope", code=1).stderr
    (tmp_path / "junk.json").write_text('{"not": "a list"}')
    assert "not a genai-prices catalog" in run("prices", "refresh", "--from-file", tmp_path / "junk.json",
                                               code=1).stderr
    assert not (tmp_path / "llmledger-prices.json").exists()

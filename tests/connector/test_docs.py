"""``/api/docs`` works offline: every asset it references is served by the app itself."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urljoin, urlparse

from flask.testing import FlaskClient
from lxml import html

from processing.promotions.rules import parse_promotion


def test_swagger_ui_loads_every_asset_from_the_app(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    tree = html.fromstring(page.get_data(as_text=True))
    scripts = [el.get("src") for el in tree.iter("script") if el.get("src")]
    styles = [el.get("href") for el in tree.iter("link") if el.get("rel") == "stylesheet"]
    assert len(scripts) >= 2 and len(styles) >= 1
    for ref in scripts + styles:
        url = urlparse(urljoin("http://localhost/api/docs", ref))
        assert url.netloc == "localhost", f"{ref} points to another host"
        asset = client.get(url.path)
        assert asset.status_code == 200, ref
        assert len(asset.get_data()) > 1000, ref
        expected = "javascript" if ref.endswith(".js") else "css"
        assert expected in asset.content_type, (ref, asset.content_type)


def test_openapi_document_lists_health_with_example(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    health = spec["paths"]["/api/v1/health"]["get"]["responses"]["200"]
    assert health["content"]["application/json"]["example"]["status"] == "ok"


def test_every_api_operation_has_an_example(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    missing = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            if method == "parameters":
                continue
            bodies = [operation.get("requestBody", {}).get("content", {}).get("application/json")]
            bodies += [
                response.get("content", {}).get("application/json")
                for status, response in operation["responses"].items()
                if status.startswith("2")
            ]
            if not any(body and ("example" in body or "examples" in body) for body in bodies):
                missing.append(f"{method.upper()} {path}")
    assert missing == []


def test_every_promotion_example_in_the_docs_is_valid_rules() -> None:
    """The JSON examples of docs/promotions.md that carry a reward parse as promotion rules:
    what a marketer copies works."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "promotions.md").read_text("utf-8")
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, flags=re.S)]
    rules = [block for block in blocks if "reward" in block]
    kinds = {block["reward"]["kind"] for block in rules}
    assert len(rules) >= 10
    assert {"percent", "m_for_n", "fixed_price", "gift", "stamps", "bonus_conversion"} <= kinds
    for block in rules:
        parse_promotion(block, code="doc", name="doc")

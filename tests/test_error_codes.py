"""Every error code the code can return is documented in docs/errors.md, and only those."""

from __future__ import annotations

import importlib
import pkgutil
import re

from connector.app import create_app  # noqa: F401 - imports every face
from connector.errors import http_status
from processing.errors import ConnectorError
from tests.conftest import REPO_ROOT

PACKAGES = ["connector", "processing", "sync", "mappings", "admin", "config"]


def _import_everything() -> None:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if not module.name.endswith(("__main__", "migrations.env")):
                importlib.import_module(module.name)


def _all_error_classes() -> set[type[ConnectorError]]:
    found: set[type[ConnectorError]] = set()
    pending = [ConnectorError]
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("tests"):
            continue
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def _documented() -> dict[str, str]:
    text = (REPO_ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| `([A-Z_]+)` \| ([^|]+?) \|", text, flags=re.MULTILINE))


def test_every_error_code_is_documented_with_its_status() -> None:
    _import_everything()
    classes = _all_error_classes()
    documented = _documented()
    codes = {cls.code for cls in classes}
    assert codes == set(documented), (codes - set(documented), set(documented) - codes)
    for cls in classes:
        if cls.code == "HTTP_ERROR":
            continue
        assert documented[cls.code] == str(http_status(cls())), cls.code


def test_codes_are_unique_per_class() -> None:
    _import_everything()
    by_code: dict[str, type[ConnectorError]] = {}
    for cls in _all_error_classes():
        other = by_code.setdefault(cls.code, cls)
        # A subclass may inherit its parent's code; two unrelated classes may not share one.
        assert issubclass(cls, other) or issubclass(other, cls), f"{cls} reuses {cls.code}"

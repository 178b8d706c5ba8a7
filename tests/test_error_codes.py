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
        status = str(http_status(cls()))
        if cls.code.startswith("SOAP_"):
            status = "500 (SOAP fault)"  # faults go out over SOAP, whatever their category
        assert documented[cls.code] == status, cls.code


def test_each_code_is_defined_once() -> None:
    """A subclass may inherit its parent's code; two classes may not each define the same."""
    _import_everything()
    defining: dict[str, type[ConnectorError]] = {}
    for cls in _all_error_classes():
        if "code" in vars(cls):
            other = defining.setdefault(cls.code, cls)
            assert other is cls, f"{cls} and {other} both define {cls.code}"

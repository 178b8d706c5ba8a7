"""The hardened XML parsing every face and job uses on what outsiders send (SOAP envelopes, 1C's
exchange files): no DTD loaded, no entity resolved, no network, no huge-tree mode (libxml2's own
limits on depth and text size hold), comments and processing instructions dropped."""

from __future__ import annotations

from typing import Any

from lxml import etree

SAFE_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


def safe_parser() -> etree.XMLParser:
    """A parser for a whole document (``etree.fromstring``)."""
    return etree.XMLParser(**SAFE_OPTIONS)

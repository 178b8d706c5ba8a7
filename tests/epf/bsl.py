"""Reading the 1C sources in epf/ without 1C: BSL parsed by tree-sitter-bsl, the Designer dump's
XML read by lxml, and the calls the BSL makes to the service found by the project's convention:

- every call goes through ``ВызватьСервис("<METHOD>", "<path>", <body variable>, ...)`` whose result
  is assigned to a variable;
- a request field is ``<body variable>.Вставить("<field>", ...)``;
- a response field is ``<result>.Данные.Получить("<field>")``; a nested one is
  ``<variable>.Получить("<field>")`` after ``<variable> = <result>.Данные.Получить("<object>")``;
- an error body is read in ``ОписаниеОтказа`` by ``Данные.Получить("<field>")``.
JSON field names are ASCII snake_case: any other ``.Получить``/``.Вставить`` of such a name is a
field the contract test cannot attribute, and fails it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter_bsl
from lxml import etree
from tree_sitter import Language, Node, Parser

from tests.conftest import REPO_ROOT

EPF = REPO_ROOT / "epf"
_PARSER = Parser(Language(tree_sitter_bsl.language()))
JSON_NAME = r"[a-z][a-z0-9_]*"
ERROR_READER = "ОписаниеОтказа"


def bsl_files() -> list[Path]:
    return sorted(EPF.rglob("*.bsl"))


def xml_files() -> list[Path]:
    return sorted(EPF.rglob("*.xml"))


def parse(path: Path) -> Node:
    return _PARSER.parse(path.read_bytes()).root_node


def errors(node: Node) -> Iterator[Node]:
    if node.type == "ERROR" or node.is_missing:
        yield node
    for child in node.children:
        yield from errors(child)


@dataclass(frozen=True)
class Routine:
    name: str
    kind: str  # procedure_definition or function_definition
    text: str


def routines(path: Path) -> list[Routine]:
    found = []
    for node in _definitions(parse(path)):
        name = node.child_by_field_name("name") or next(
            c for c in node.children if c.type == "identifier"
        )
        found.append(Routine(name.text.decode(), node.type, node.text.decode()))  # type: ignore[union-attr]
    return found


def _definitions(node: Node) -> Iterator[Node]:
    for child in node.children:
        if child.type in ("procedure_definition", "function_definition"):
            yield child
        else:
            yield from _definitions(child)


def read_xml(path: Path) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.parse(str(path), parser).getroot()


@dataclass
class Call:
    routine: str
    method: str
    path: str
    request: set[str] = field(default_factory=set)
    response: dict[str, set[str]] = field(
        default_factory=dict
    )  # "" top level, else the object field


_CALL = re.compile(r'(\w+)\s*=\s*ВызватьСервис\(\s*"(\w+)"\s*,\s*"([^"]+)"\s*,\s*(\w+)')


def calls(routine: Routine) -> list[Call]:
    found = []
    for result, method, path, body in _CALL.findall(routine.text):
        call = Call(routine.name, method, path)
        call.request = set(re.findall(rf'\b{body}\.Вставить\(\s*"({JSON_NAME})"', routine.text))
        call.response[""] = set(
            re.findall(rf'\b{result}\.Данные\.Получить\(\s*"({JSON_NAME})"', routine.text)
        )
        nested = re.findall(
            rf'(\w+)\s*=\s*{result}\.Данные\.Получить\(\s*"({JSON_NAME})"\)', routine.text
        )
        for variable, object_field in nested:
            call.response[object_field] = set(
                re.findall(rf'\b{variable}\.Получить\(\s*"({JSON_NAME})"', routine.text)
            )
        found.append(call)
    return found


def json_names(routine: Routine) -> set[str]:
    """Every ASCII snake_case name read or written with Получить/Вставить (HTTP headers are
    written to ``Заголовки``, not counted)."""
    text = re.sub(r'Заголовки\.Вставить\("[^"]*"', "", routine.text)
    return set(re.findall(rf'\.(?:Получить|Вставить)\(\s*"({JSON_NAME})"', text))

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
class Fields:
    """The JSON fields of one object: its own, and those of the objects (or array items) under
    each of its fields."""

    own: set[str] = field(default_factory=set)
    nested: dict[str, Fields] = field(default_factory=dict)

    def names(self) -> set[str]:
        found = set(self.own)
        for name, inner in self.nested.items():
            found |= {name} | inner.names()
        return found


@dataclass
class Call:
    routine: str
    method: str
    path: str
    request: Fields
    response: Fields
    builder: str | None = None  # the routine that builds the request body, when another one
    readers: tuple[str, ...] = ()  # routines of the module that read the answer


# ВызватьСервис([Настройки, ]"<METHOD>", <path: string literals and names joined by +>, <body>
_CALL = re.compile(
    r"(\w+)\s*=\s*ВызватьСервис\(\s*(?:\w+\s*,\s*)?\"(\w+)\"\s*,\s*"
    r"((?:\"[^\"]*\"|\w+)(?:\s*\+\s*(?:\"[^\"]*\"|\w+))*)\s*,\s*(\w+)(\([^)]*\))?"
)


def _path(expression: str) -> str:
    """``"/api/v1/transactions/" + Ид + "/rollback"`` → ``/api/v1/transactions/{Ид}/rollback``."""
    parts = re.findall(r'"([^"]*)"|(\w+)', expression)
    return "".join(literal if literal else "{" + name + "}" for literal, name in parts)


def _written(text: str, variable: str) -> Fields:
    """What ``variable.Вставить`` writes: nested objects (a variable with its own ``Вставить``)
    and arrays of objects (``Массив.Добавить(Объект)``) too."""
    found = Fields(set(re.findall(rf'\b{variable}\.Вставить\(\s*"({JSON_NAME})"', text)))
    for name, value in re.findall(
        rf'\b{variable}\.Вставить\(\s*"({JSON_NAME})"\s*,\s*(\w+)\)', text
    ):
        for item in re.findall(rf"\b{value}\.Добавить\((\w+)\)", text):
            found.nested[name] = _written(text, item)
        if re.search(rf"\b{value}\.Вставить\(", text):
            found.nested[name] = _written(text, value)
    return found


def _read(text: str, source: str) -> Fields:
    """What is read from ``source`` (``Ответ.Данные`` or a variable holding an object): its own
    fields, objects assigned to variables, arrays walked with «Для Каждого … Из … Цикл»."""
    source_re = re.escape(source)
    found = Fields(set(re.findall(rf'\b{source_re}\.Получить\(\s*"({JSON_NAME})"', text)))
    for variable, name in re.findall(
        rf'(\w+)\s*=\s*{source_re}\.Получить\(\s*"({JSON_NAME})"\)', text
    ):
        found.nested[name] = _read(text, variable)
    # An array may be guarded by a function of the module: «Из Массив0(Ответ.Данные.Получить(…))».
    pattern = rf'Для\s+Каждого\s+(\w+)\s+Из\s+(?:\w+\()?{source_re}\.Получить\(\s*"({JSON_NAME})"\)'
    for variable, name in re.findall(pattern, text):
        found.nested[name] = _read(text, variable)
    return found


def calls(routine: Routine, module: list[Routine] | None = None) -> list[Call]:
    """The routine's calls of the service; a body built by another routine of the module
    (``ТелоЧека(Чек)``) is read from that routine's returned variable."""
    by_name = {r.name: r for r in module or []}
    found = []
    for result, method, path, body, arguments in _CALL.findall(routine.text):
        builder = body if arguments and body in by_name else None
        if builder is not None:
            text = by_name[builder].text
            returned = re.findall(r"Возврат\s+(\w+)\s*;", text)
            request = _written(text, returned[-1]) if returned else Fields()
        else:
            request = _written(routine.text, body)
        response = _read(routine.text, f"{result}.Данные")
        readers = []
        for reader in re.findall(rf"\b(\w+)\(\s*{result}\s*\)", routine.text):
            if reader in by_name:  # the answer read by a routine of the module (ИтогПроведения)
                readers.append(reader)
                inner = _read(by_name[reader].text, f"{_parameters(by_name[reader])[0]}.Данные")
                response.own |= inner.own
                response.nested.update(inner.nested)
        found.append(
            Call(routine.name, method, _path(path), request, response, builder, tuple(readers))
        )
    return found


def _parameters(routine: Routine) -> list[str]:
    header = re.match(r"\s*(?:Функция|Процедура)\s+\w+\(([^)]*)\)", routine.text)
    assert header, routine.name
    return [p.split("=")[0].replace("Знач", "").strip() for p in header.group(1).split(",")]


def json_names(routine: Routine) -> set[str]:
    """Every ASCII snake_case name read or written with Получить/Вставить (HTTP headers are
    written to ``Заголовки``, not counted)."""
    text = re.sub(r'Заголовки\.Вставить\("[^"]*"', "", routine.text)
    return set(re.findall(rf'\.(?:Получить|Вставить)\(\s*"({JSON_NAME})"', text))


def exported(path: Path) -> set[str]:
    """Names of the module's routines declared with «Экспорт»."""
    return {r.name for r in routines(path) if re.match(r"[^)]*\)\s*Экспорт\b", r.text)}

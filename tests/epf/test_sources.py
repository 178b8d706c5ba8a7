"""The 1C sources in epf/ are whole: every BSL module parses without an error node, every XML
file is well-formed, and what the dump's XML names exists (forms, their modules' handlers, the
attributes their fields show)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from tests.epf.bsl import EPF, bsl_files, errors, parse, read_xml, routines, xml_files

MD = "{http://v8.1c.ru/8.3/MDClasses}"
FORM = "{http://v8.1c.ru/8.3/xcf/logform}"


def test_there_are_sources() -> None:
    assert bsl_files() and xml_files()


@pytest.mark.parametrize("path", bsl_files(), ids=lambda p: str(p.relative_to(EPF)))
def test_every_module_parses_without_errors(path: Path) -> None:
    found = [
        (n.start_point.row + 1, n.text.decode(errors="replace")[:60]) for n in errors(parse(path))
    ]
    assert found == []
    assert routines(path), "a module with no procedure or function"


@pytest.mark.parametrize("path", xml_files(), ids=lambda p: str(p.relative_to(EPF)))
def test_every_xml_file_is_well_formed(path: Path) -> None:
    read_xml(path)


def _processors() -> list[Path]:
    return [
        p
        for p in sorted(EPF.glob("*.xml"))
        if read_xml(p).find(f"{MD}ExternalDataProcessor") is not None
    ]


@pytest.mark.parametrize("path", _processors(), ids=lambda p: p.stem)
def test_a_processor_names_only_what_its_dump_has(path: Path) -> None:
    processor = read_xml(path).find(f"{MD}ExternalDataProcessor")
    assert processor is not None
    name = processor.findtext(f"{MD}Properties/{MD}Name")
    assert name == path.stem
    folder = path.with_suffix("")
    assert (folder / "Ext" / "ObjectModule.bsl").exists()
    object_routines = {r.name for r in routines(folder / "Ext" / "ObjectModule.bsl")}
    attributes = {a.findtext(f"{MD}Properties/{MD}Name") for a in processor.iter(f"{MD}Attribute")}
    forms = [f.text for f in processor.find(f"{MD}ChildObjects").findall(f"{MD}Form")]  # type: ignore[union-attr]
    default = processor.findtext(f"{MD}Properties/{MD}DefaultForm")
    assert default in {f"ExternalDataProcessor.{name}.Form.{form}" for form in forms}
    for form in forms:
        assert (folder / "Forms" / f"{form}.xml").exists()
        layout = read_xml(folder / "Forms" / form / "Ext" / "Form.xml")
        module = {r.name for r in routines(folder / "Forms" / form / "Ext" / "Form" / "Module.bsl")}
        handlers = [e.text for e in layout.iter(f"{FORM}Event")] + [
            a.text for a in layout.iter(f"{FORM}Action")
        ]
        assert handlers and set(handlers) <= module, set(handlers) - module
        form_attributes = {a.get("name") for a in layout.iter(f"{FORM}Attribute")}
        commands = {c.get("name") for c in layout.iter(f"{FORM}Command")}
        for path_text in (d.text or "" for d in layout.iter(f"{FORM}DataPath")):
            head, _, rest = path_text.partition(".")
            assert head in form_attributes, path_text
            if head == "Объект":
                assert rest in attributes, path_text
        for command in (c.text or "" for c in layout.iter(f"{FORM}CommandName")):
            assert command.removeprefix("Form.Command.") in commands, command
        module_text = (folder / "Forms" / form / "Ext" / "Form" / "Module.bsl").read_text("utf-8")
        # The form reaches the object module through «Обработка = РеквизитФормыВЗначение(...)».
        called = set(re.findall(r"\bОбработка\.(\w+)\(", module_text))
        assert called <= object_routines, called - object_routines


def _extensions() -> list[Path]:
    return sorted(p for p in EPF.glob("*/Configuration.xml"))


@pytest.mark.parametrize("path", _extensions(), ids=lambda p: p.parent.name)
def test_an_extension_lists_only_what_its_dump_has(path: Path) -> None:
    configuration = read_xml(path).find(f"{MD}Configuration")
    assert configuration is not None
    properties = configuration.find(f"{MD}Properties")
    assert properties is not None
    assert properties.findtext(f"{MD}ConfigurationExtensionPurpose") == "AddOn"
    prefix = properties.findtext(f"{MD}NamePrefix") or ""
    assert prefix
    # Borrowed objects are matched by name in every configuration (УТ, КА, Розница).
    assert properties.findtext(f"{MD}KeepMappingToExtendedConfigurationObjectsByIDs") == "false"
    folders = {"Language": "Languages", "CommonModule": "CommonModules"}
    children = configuration.find(f"{MD}ChildObjects")
    assert children is not None and len(children)
    for child in children:
        kind = etree.QName(child).localname
        assert kind in folders, f"a new kind of object: teach this test its folder ({kind})"
        described = path.parent / folders[kind] / f"{child.text}.xml"
        assert described.exists(), described
        element = read_xml(described).find(f"{MD}{kind}")
        assert element is not None and element.findtext(f"{MD}Properties/{MD}Name") == child.text
        if element.findtext(f"{MD}Properties/{MD}ObjectBelonging") != "Adopted":
            assert (child.text or "").startswith(prefix), child.text  # the extension's own objects
        if kind == "CommonModule":
            assert routines(path.parent / folders[kind] / (child.text or "") / "Ext" / "Module.bsl")

"""The 1C sources in epf/ are whole: every BSL module parses without an error node, every XML
file is well-formed, and what the dump's XML names exists (forms, their modules' handlers, the
attributes their fields show, the routines scheduled jobs and event subscriptions call, the objects
types and BSL strings name)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from tests.epf.bsl import EPF, bsl_files, errors, exported, parse, read_xml, routines, xml_files

MD = "{http://v8.1c.ru/8.3/MDClasses}"
FORM = "{http://v8.1c.ru/8.3/xcf/logform}"
# Designer's folder per kind of object, in the order Designer lists the kinds in Configuration.xml.
FOLDERS = {
    "Language": "Languages",
    "Role": "Roles",
    "CommonModule": "CommonModules",
    "EventSubscription": "EventSubscriptions",
    "ScheduledJob": "ScheduledJobs",
    "CommonCommand": "CommonCommands",
    "CommonForm": "CommonForms",
    "Catalog": "Catalogs",
    "Document": "Documents",
    "InformationRegister": "InformationRegisters",
}
# Fields objects have without declaring them (as DataPaths and dynamic lists name them).
STANDARD_FIELDS = {"Ref", "DeletionMark", "Predefined", "PredefinedDataName", "Code", "Description"}
STANDARD_FIELDS |= {"Parent", "Owner", "IsFolder", "DefaultPicture", "Period", "Recorder"}
STANDARD_FIELDS |= {"LineNumber", "Active"}
# How BSL names metadata in strings and manager properties.
BSL_KINDS = {
    "ОбщаяФорма": "CommonForm",
    "РегистрСведений": "InformationRegister",
    "РегистрыСведений": "InformationRegister",
    "Справочник": "Catalog",
    "Справочники": "Catalog",
}
CORE = "ЛояльностьКоннектор"


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


def check_form(form: Path, fields: set[str]) -> tuple[list[str], str]:
    """A form's layout (``form/Ext/Form.xml``) names only what exists: its events and command
    actions are routines of its module, its DataPaths start with a form attribute (the main
    attribute's fields are ``fields``), its buttons run its commands. Returns the handlers and the
    module's text."""
    layout = read_xml(form / "Ext" / "Form.xml")
    module_path = form / "Ext" / "Form" / "Module.bsl"
    module = {r.name for r in routines(module_path)}
    handlers = [e.text or "" for e in layout.iter(f"{FORM}Event")]
    handlers += [a.text or "" for a in layout.iter(f"{FORM}Action")]
    assert set(handlers) <= module, set(handlers) - module
    form_attributes = {a.get("name") for a in layout.iter(f"{FORM}Attribute")}
    main = {
        a.get("name")
        for a in layout.iter(f"{FORM}Attribute")
        if a.findtext(f"{FORM}MainAttribute") == "true"
    }
    commands = {c.get("name") for c in layout.iter(f"{FORM}Command")}
    for path_text in (d.text or "" for d in layout.iter(f"{FORM}DataPath")):
        head, _, rest = path_text.partition(".")
        assert head in form_attributes, path_text
        if head in main and rest:
            assert rest.split(".")[0] in fields, path_text
    for command in (c.text or "" for c in layout.iter(f"{FORM}CommandName")):
        assert command.removeprefix("Form.Command.") in commands, command
    return handlers, module_path.read_text("utf-8")


@pytest.mark.parametrize("path", _processors(), ids=lambda p: p.stem)
def test_a_processor_names_only_what_its_dump_has(path: Path) -> None:
    processor = read_xml(path).find(f"{MD}ExternalDataProcessor")
    assert processor is not None
    name = processor.findtext(f"{MD}Properties/{MD}Name")
    assert name == path.stem
    folder = path.with_suffix("")
    assert (folder / "Ext" / "ObjectModule.bsl").exists()
    object_routines = {r.name for r in routines(folder / "Ext" / "ObjectModule.bsl")}
    attributes = {
        a.findtext(f"{MD}Properties/{MD}Name") or "" for a in processor.iter(f"{MD}Attribute")
    }
    forms = _forms(processor)
    default = processor.findtext(f"{MD}Properties/{MD}DefaultForm")
    assert default in {f"ExternalDataProcessor.{name}.Form.{form}" for form in forms}
    for form in forms:
        assert (folder / "Forms" / f"{form}.xml").exists()
        handlers, module_text = check_form(folder / "Forms" / form, attributes)
        assert handlers
        # The form reaches the object module through «Обработка = РеквизитФормыВЗначение(...)».
        called = set(re.findall(r"\bОбработка\.(\w+)\(", module_text))
        assert called <= object_routines, called - object_routines


def _forms(element: etree._Element) -> list[str]:
    return [f.text or "" for f in element.iterfind(f"{MD}ChildObjects/{MD}Form")]


class Extension:
    """A configuration extension's dump: its objects by kind, read from Configuration.xml."""

    def __init__(self, root: Path) -> None:
        self.root = root
        configuration = read_xml(root / "Configuration.xml").find(f"{MD}Configuration")
        assert configuration is not None
        self.configuration = configuration
        self.prefix = configuration.findtext(f"{MD}Properties/{MD}NamePrefix") or ""
        self.objects: dict[str, list[str]] = {}
        for child in configuration.iterfind(f"{MD}ChildObjects/*"):
            self.objects.setdefault(etree.QName(child).localname, []).append(child.text or "")

    def names(self, kind: str) -> list[str]:
        return self.objects.get(kind, [])

    def folder(self, kind: str, name: str) -> Path:
        return self.root / FOLDERS[kind] / name

    def element(self, kind: str, name: str) -> etree._Element:
        element = read_xml(self.root / FOLDERS[kind] / f"{name}.xml").find(f"{MD}{kind}")
        assert element is not None, (kind, name)
        return element

    def exported(self, module: str) -> set[str]:
        assert module in self.names("CommonModule"), module
        return exported(self.folder("CommonModule", module) / "Ext" / "Module.bsl")


def _extensions() -> list[Path]:
    return sorted(p.parent for p in EPF.glob("*/Configuration.xml"))


EXTENSIONS = pytest.mark.parametrize("root", _extensions(), ids=lambda p: p.name)


@EXTENSIONS
def test_an_extension_lists_only_what_its_dump_has(root: Path) -> None:
    extension = Extension(root)
    properties = extension.configuration.find(f"{MD}Properties")
    assert properties is not None
    assert properties.findtext(f"{MD}ConfigurationExtensionPurpose") == "AddOn"
    assert extension.prefix
    # Borrowed objects are matched by name in every configuration (УТ, КА, Розница).
    assert properties.findtext(f"{MD}KeepMappingToExtendedConfigurationObjectsByIDs") == "false"
    kinds = list(extension.objects)
    assert kinds, "an extension without objects"
    for kind in kinds:
        assert kind in FOLDERS, f"a new kind of object: teach this test its folder ({kind})"
    assert kinds == sorted(kinds, key=list(FOLDERS).index), "not in Designer's order of kinds"
    for kind, names in extension.objects.items():
        for name in names:
            element = extension.element(kind, name)
            assert element.findtext(f"{MD}Properties/{MD}Name") == name
            if element.findtext(f"{MD}Properties/{MD}ObjectBelonging") != "Adopted":
                assert name.startswith(extension.prefix), name  # the extension's own objects
            if kind == "CommonModule":
                assert routines(extension.folder(kind, name) / "Ext" / "Module.bsl")
            if kind == "Role":
                assert (extension.folder(kind, name) / "Ext" / "Rights.xml").exists(), name
            if kind == "CommonCommand":
                module = extension.folder(kind, name) / "Ext" / "CommandModule.bsl"
                assert "ОбработкаКоманды" in {r.name for r in routines(module)}, module


def _fields(element: etree._Element) -> set[str]:
    declared = {
        c.findtext(f"{MD}Properties/{MD}Name") or ""
        for c in element.iterfind(f"{MD}ChildObjects/*")
        if etree.QName(c).localname in ("Attribute", "Dimension", "Resource")
    }
    return declared | STANDARD_FIELDS


@EXTENSIONS
def test_an_extensions_forms_are_whole(root: Path) -> None:
    extension = Extension(root)
    for name in extension.names("CommonForm"):
        check_form(extension.folder("CommonForm", name), set())
    for kind in ("Catalog", "InformationRegister"):
        for name in extension.names(kind):
            element = extension.element(kind, name)
            forms = _forms(element)
            for form in forms:
                assert (extension.folder(kind, name) / "Forms" / f"{form}.xml").exists(), form
                check_form(extension.folder(kind, name) / "Forms" / form, _fields(element))
            properties = element.find(f"{MD}Properties")
            assert properties is not None
            for default in properties:
                tag = etree.QName(default).localname
                if tag.startswith("Default") and tag.endswith("Form") and default.text:
                    assert default.text in {f"{kind}.{name}.Form.{f}" for f in forms}, default.text


@EXTENSIONS
def test_jobs_and_subscriptions_call_exported_routines(root: Path) -> None:
    extension = Extension(root)
    calls = [
        extension.element("ScheduledJob", n).findtext(f"{MD}Properties/{MD}MethodName")
        for n in extension.names("ScheduledJob")
    ]
    calls += [
        extension.element("EventSubscription", n).findtext(f"{MD}Properties/{MD}Handler")
        for n in extension.names("EventSubscription")
    ]
    for call in calls:
        kind, module, routine = (call or "").split(".")
        assert kind == "CommonModule", call
        assert routine in extension.exported(module), call


@EXTENSIONS
def test_types_name_objects_of_the_extension(root: Path) -> None:
    extension = Extension(root)
    for path in sorted(root.rglob("*.xml")):
        text = path.read_text("utf-8")
        for kind, name in re.findall(r"cfg:(Catalog|Document)(?:Ref|Object)\.(\w+)", text):
            assert name in extension.names(kind), (path.relative_to(root), kind, name)


def _named_in_bsl(text: str, prefix: str) -> set[tuple[str, str, str]]:
    """(kind, object, form or "") for the extension's own (prefixed) objects the BSL names:
    РегистрыСведений.X., Справочники.X., Справочник.X in queries, and form paths in strings
    ("ОбщаяФорма.X", "РегистрСведений.X.ФормаСписка", "Справочник.X.Форма.ФормаЭлемента")."""
    kinds, prefix = "|".join(BSL_KINDS), re.escape(prefix)
    found = {
        (BSL_KINDS[word], name, "")
        for word, name in re.findall(rf"\b({kinds})\.({prefix}\w+)", text)
    }
    form_path = rf'"({kinds})\.({prefix}\w+)(?:\.Форма)?(?:\.(\w+))?"'
    found |= {(BSL_KINDS[word], name, form) for word, name, form in re.findall(form_path, text)}
    return found


@EXTENSIONS
def test_bsl_names_what_the_core_has(root: Path) -> None:
    core = Extension(EPF / CORE)
    late_bound = 0
    for path in sorted(root.rglob("*.bsl")):
        text = path.read_text("utf-8")
        where = path.relative_to(root)
        for kind, name, form in _named_in_bsl(text, core.prefix):
            assert name in core.names(kind), (where, kind, name)
            if form:
                assert form in _forms(core.element(kind, name)), (where, name, form)
        # The binding extensions call the core late-bound: the module got by name
        # (МодульЯдра: ОбщегоНазначения.ОбщийМодуль(Имя), Имя = "<module>"), then Ядро.<routine>(…).
        for module in re.findall(r'Имя = "(лк_\w+)";', text):
            for variable in re.findall(r"(\w+) = МодульЯдра\(\)", text):
                for routine in re.findall(rf"\b{variable}\.(\w+)\(", text):
                    assert routine in core.exported(module), (where, module, routine)
                    late_bound += 1
    if root.name != CORE:
        assert late_bound, "a binding extension that calls nothing of the core"


def test_the_binding_extensions_share_their_code() -> None:
    """ЛояльностьУТ and ЛояльностьРозница differ only in the documents they borrow (and the
    types naming them): their BSL is one text, kept twice because each is loaded on its own."""
    ut, retail = EPF / "ЛояльностьУТ", EPF / "ЛояльностьРозница"
    modules = sorted(p.relative_to(ut) for p in ut.rglob("*.bsl"))
    assert modules == sorted(p.relative_to(retail) for p in retail.rglob("*.bsl"))
    for module in modules:
        assert (ut / module).read_text("utf-8") == (retail / module).read_text("utf-8"), module


def test_the_connection_check_shares_the_extension_helpers() -> None:
    """The connection-check processor works without the extension installed, so it carries its
    own copy of the extension's HTTP helpers; a copy that drifts fails here (only the call
    itself differs: the processor reads its own attributes)."""
    processor = {
        r.name: r.text for r in routines(EPF / "ЛояльностьПроверкаПодключения/Ext/ObjectModule.bsl")
    }
    server = EPF / "ЛояльностьКоннектор/CommonModules/лк_ЛояльностьСервер/Ext/Module.bsl"
    extension = {r.name: r.text for r in routines(server)}
    shared = set(processor) & set(extension) - {"ВызватьСервис", "ПроверитьПодключение"}
    assert shared >= {"РазобратьАдрес", "ПричинаСбояСоединения", "ОписаниеОтказа", "ТекстJSON"}
    for name in shared:
        assert processor[name] == extension[name], name


ROLES = "{http://v8.1c.ru/8.2/roles}"


@EXTENSIONS
def test_roles_grant_rights_on_what_exists(root: Path) -> None:
    """A role's rights name objects of its extension; every command and form a user opens is
    granted by some role of the extension (otherwise only full-rights users would see them)."""
    extension = Extension(root)
    granted = set()
    for rights in sorted(root.glob("Roles/*/Ext/Rights.xml")):
        for obj in read_xml(rights).iter(f"{ROLES}object"):
            kind, _, name = (obj.findtext(f"{ROLES}name") or "").partition(".")
            assert name in extension.names(kind), (rights.relative_to(root), kind, name)
            granted.add((kind, name))
    for kind in ("CommonCommand", "CommonForm"):
        for name in extension.names(kind):
            assert (kind, name) in granted, f"no role grants {kind}.{name}"


@pytest.mark.parametrize(
    "layout", sorted(EPF.rglob("Ext/Form.xml")), ids=lambda p: str(p.parent.parent.name)
)
def test_a_form_reads_only_its_declared_parameters(layout: Path) -> None:
    """«Параметры.X» in a form's module names a parameter its Form.xml declares (an undeclared
    one is not passed at all by ОткрытьФорму)."""
    module = layout.parent / "Form" / "Module.bsl"
    declared = {p.get("name") for p in read_xml(layout).iter(f"{FORM}Parameter")}
    read = set(re.findall(r"\bПараметры\.(\w+)", module.read_text("utf-8")))
    assert read <= declared | {"Ключ"}, read - declared


def test_calls_between_the_cores_modules_name_exported_routines() -> None:
    """«лк_Модуль.Процедура(…)» anywhere in the core names an exported routine of that common
    module, with no more arguments than it takes."""
    core = Extension(EPF / CORE)
    modules = {
        name: routines(core.folder("CommonModule", name) / "Ext" / "Module.bsl")
        for name in core.names("CommonModule")
    }
    calls = 0
    for path in sorted((EPF / CORE).rglob("*.bsl")):
        text = path.read_text("utf-8")
        for module, routine, arguments in re.findall(r"\b(лк_\w+)\.(\w+)\(([^()]*)", text):
            if module not in modules:
                continue  # a register or catalog manager (checked above), not a module
            found = {r.name: r for r in modules[module]}
            assert routine in core.exported(module), (path.relative_to(EPF), module, routine)
            header = re.match(r"\s*\S+\s+\w+\(([^)]*)\)", found[routine].text)
            assert header is not None
            taken = len([p for p in header.group(1).split(",") if p.strip()])
            given = len([a for a in arguments.split(",") if a.strip()]) if arguments.strip() else 0
            assert given <= taken, (path.relative_to(EPF), module, routine, given, taken)
            calls += 1
    assert calls > 20

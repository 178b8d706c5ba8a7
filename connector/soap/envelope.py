"""SOAP 1.1 / 1.2 envelopes: hardened parsing, dispatch by the body element's QName, answers
and faults built with lxml (never by string formatting)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import flask
from flask import Response
from lxml import etree

from connector.db import app_runtime
from mappings.xml import safe_parser
from processing.errors import ConnectorError, InvalidInput, NotAuthenticated

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
CONTENT_TYPES = {SOAP11: "text/xml; charset=utf-8", SOAP12: "application/soap+xml; charset=utf-8"}
MAX_ENVELOPE_BYTES = 8 * 1024 * 1024


class MalformedEnvelope(InvalidInput):
    code = "SOAP_MALFORMED_ENVELOPE"
    message = "Некорректный SOAP-запрос: ожидается конверт SOAP 1.1 или 1.2 с телом."


class ForbiddenXml(InvalidInput):
    code = "SOAP_XML_FORBIDDEN"
    message = "В запросе недопустимы DTD и внешние сущности XML."


class UnknownOperation(InvalidInput):
    code = "SOAP_UNKNOWN_OPERATION"
    message = "Неизвестная операция SOAP (проверьте пространство имён и имя операции)."


class EnvelopeTooLarge(InvalidInput):
    code = "SOAP_TOO_LARGE"
    message = "SOAP-запрос слишком большой."


@dataclass(frozen=True)
class Request:
    version: str  # envelope namespace: SOAP11 or SOAP12
    operation: etree._Element  # the body's first element


def requested_version(http: flask.Request) -> str:
    """The SOAP version the client's content type names: faults before the envelope is read
    speak it."""
    return SOAP12 if "soap+xml" in (http.mimetype or "") else SOAP11


def body(http: flask.Request) -> bytes:
    """The HTTP request's envelope, refused unread when it declares more than the limit."""
    if (http.content_length or 0) > MAX_ENVELOPE_BYTES:
        raise EnvelopeTooLarge(details={"limit": MAX_ENVELOPE_BYTES})
    return http.get_data(cache=False)


def parse(data: bytes) -> Request:
    if len(data) > MAX_ENVELOPE_BYTES:
        raise EnvelopeTooLarge(details={"limit": MAX_ENVELOPE_BYTES})
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise ForbiddenXml()
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedEnvelope(details={"xml": str(exc)[:200]}) from exc
    if getattr(root.getroottree().docinfo, "doctype", ""):
        raise ForbiddenXml()
    qname = etree.QName(root)
    if qname.localname != "Envelope" or qname.namespace not in CONTENT_TYPES:
        raise MalformedEnvelope(details={"root": root.tag})
    body = root.find(f"{{{qname.namespace}}}Body")
    operation = (
        next((child for child in body if isinstance(child.tag, str)), None)
        if body is not None
        else None
    )
    if operation is None:
        raise MalformedEnvelope(details={"body": "empty"})
    return Request(version=qname.namespace, operation=operation)


@lru_cache(maxsize=256)
def render_wsdl(wsdl: Path, address: str) -> bytes:
    """A static WSDL with its ``soap:address`` pointing at ``address`` (cached: clients fetch it
    before every call)."""
    tree = etree.parse(str(wsdl), etree.XMLParser(resolve_entities=False, no_network=True))
    for node in tree.iter(
        "{http://schemas.xmlsoap.org/wsdl/soap/}address",
        "{http://schemas.xmlsoap.org/wsdl/soap12/}address",
    ):
        node.set("location", address)
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="utf-8"))


def wsdl_response(wsdl: Path, http: flask.Request, tenant_code: str, path: str) -> Response:
    """The WSDL with its address this tenant's endpoint ``path`` (under the public base URL when
    one is set, else the host the client called)."""
    base = app_runtime().settings.public_base_url or http.host_url
    return Response(
        render_wsdl(wsdl, f"{base}soap/{tenant_code}/{path}"),
        content_type="text/xml; charset=utf-8",
    )


def _envelope(version: str, payload: etree._Element) -> bytes:
    envelope = etree.Element(f"{{{version}}}Envelope", nsmap={"soap": version})
    body = etree.SubElement(envelope, f"{{{version}}}Body")
    body.append(payload)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def answer(version: str, payload: etree._Element) -> Response:
    return Response(_envelope(version, payload), status=200, content_type=CONTENT_TYPES[version])


def fault(
    version: str,
    error: ConnectorError,
    detail: Callable[[ConnectorError], etree._Element],
    status: int = 500,
) -> Response:
    """A fault whose detail carries the stable code and the Russian message as elements."""
    client_side = isinstance(error, InvalidInput | NotAuthenticated)
    if version == SOAP12:
        node = etree.Element(f"{{{SOAP12}}}Fault", nsmap={"soap": SOAP12})
        code = etree.SubElement(node, f"{{{SOAP12}}}Code")
        etree.SubElement(code, f"{{{SOAP12}}}Value").text = (
            "soap:Sender" if client_side else "soap:Receiver"
        )
        reason = etree.SubElement(node, f"{{{SOAP12}}}Reason")
        text = etree.SubElement(reason, f"{{{SOAP12}}}Text")
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "ru")
        text.text = error.text
        etree.SubElement(node, f"{{{SOAP12}}}Detail").append(detail(error))
    else:
        node = etree.Element(f"{{{SOAP11}}}Fault", nsmap={"soap": SOAP11})
        etree.SubElement(node, "faultcode").text = "soap:Client" if client_side else "soap:Server"
        etree.SubElement(node, "faultstring").text = error.text
        etree.SubElement(node, "detail").append(detail(error))
    return Response(_envelope(version, node), status=status, content_type=CONTENT_TYPES[version])

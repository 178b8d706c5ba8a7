"""The documents that move certificates: to a store, to a POS, back from a POS to its store,
back from a store to accounting, and the withdrawal (a right of its own). Every move is a
document with a number unique within the tenant; the same number with the same content answers
the stored document, with another content it is refused. Certificates are locked in id order,
so of two documents moving the same certificate at once one wins and the other is refused."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from processing.certificates.check import Place, place_of
from processing.certificates.errors import (
    CertificateDocumentConflict,
    CertificateDocumentNotFound,
    CertificateNotAtSource,
    CertificateNotFound,
    CertificateWithdrawForbidden,
    CertificateWrongStatus,
)
from processing.certificates.models import (
    STATUS_TITLES,
    Certificate,
    CertificateDocument,
    CertificateDocumentLine,
    CertificateStatus,
    SeriesStatus,
)
from processing.certificates.series import series_closed
from processing.codes import normalise_code
from processing.db import insert_ignore_returning, lock_rows, where_in
from processing.errors import InvalidInput
from processing.money import from_kopecks
from processing.tenants.models import Pos, Store, Tenant

MAX_CODES = 10_000
MAX_NUMBER = 64
NAMED = 100  # codes named in a refusal's details


class DocumentKind(StrEnum):
    TO_STORE = "to_store"  # accounting → a store
    TO_POS = "to_pos"  # a store → one of its POS
    TO_STORE_FROM_POS = "to_store_from_pos"  # a POS → its store
    TO_ACCOUNTING = "to_accounting"  # a store → accounting
    WITHDRAW = "withdraw"  # accounting, a store or a POS → written off


KIND_TITLES = {
    DocumentKind.TO_STORE: "Выдача в магазин",
    DocumentKind.TO_POS: "Выдача на кассу",
    DocumentKind.TO_STORE_FROM_POS: "Возврат с кассы в магазин",
    DocumentKind.TO_ACCOUNTING: "Возврат из магазина в бухгалтерию",
    DocumentKind.WITHDRAW: "Списание",
}

Location = tuple[int | None, int | None]  # (store id, POS id); (None, None): accounting
ACCOUNTING: Location = (None, None)


def _status_at(location: Location) -> CertificateStatus:
    store_id, pos_id = location
    if pos_id is not None:
        return CertificateStatus.AT_POS
    return CertificateStatus.IN_STORE if store_id is not None else CertificateStatus.INACTIVE


def _locations(kind: str, store: Store | None, pos: Pos | None) -> tuple[Location, Location | None]:
    """Where the document takes certificates from and where it puts them (None: written off)."""
    if kind not in set(DocumentKind):
        raise InvalidInput(f"Вид документа: {', '.join(DocumentKind)}.", details={"field": "kind"})
    needs_pos = kind in (DocumentKind.TO_POS, DocumentKind.TO_STORE_FROM_POS)
    if store is None and kind != DocumentKind.WITHDRAW:
        raise InvalidInput("Укажите магазин.", details={"field": "store"})
    if pos is None and needs_pos:
        raise InvalidInput("Укажите кассу магазина.", details={"field": "pos"})
    if pos is not None and not needs_pos and kind != DocumentKind.WITHDRAW:
        raise InvalidInput("Касса в документе этого вида не указывается.", details={"field": "pos"})
    shop: Location = (store.id if store else None, None)
    till: Location = (store.id if store else None, pos.id if pos else None)
    return {
        DocumentKind.TO_STORE: (ACCOUNTING, shop),
        DocumentKind.TO_POS: (shop, till),
        DocumentKind.TO_STORE_FROM_POS: (till, shop),
        DocumentKind.TO_ACCOUNTING: (shop, ACCOUNTING),
        DocumentKind.WITHDRAW: (till, None),
    }[DocumentKind(kind)]


@dataclass(frozen=True)
class DocumentRecord:
    """A stored document with its certificates' codes and their nominal in all."""

    document: CertificateDocument
    source: Place
    target: Place | None  # None: written off
    codes: list[str]
    nominal: Decimal


def _normalised(codes: Sequence[str]) -> list[str]:
    found = sorted({normalise_code(code) for code in codes} - {""})
    if not found:
        raise InvalidInput("Список сертификатов пуст.", details={"field": "codes"})
    if len(found) > MAX_CODES:
        raise InvalidInput(
            f"В одном документе — не больше {MAX_CODES} сертификатов.", details={"field": "codes"}
        )
    return found


def _number(number: str | None, now: datetime) -> str:
    """The client's number (its retry is answered by it), or a generated one when none is
    given. A number is read back in a URL path: no «/», «?», «#», «%», «\\» or control
    characters."""
    if number is None:
        return f"{now:%Y%m%d}-{secrets.token_hex(4).upper()}"
    number = number.strip()
    if not 1 <= len(number) <= MAX_NUMBER or re.search(r"[/?#%\\\x00-\x1f\x7f]", number):
        raise InvalidInput(
            f"Номер документа — от 1 до {MAX_NUMBER} символов, без «/», «?», «#», «%» и «\\».",
            details={"field": "number"},
        )
    return number


def _record(session: Session, document: CertificateDocument) -> DocumentRecord:
    rows = session.execute(
        select(Certificate.code, Certificate.nominal)
        .join(CertificateDocumentLine, CertificateDocumentLine.certificate_id == Certificate.id)
        .where(CertificateDocumentLine.document_id == document.id)
        .order_by(Certificate.code)
    ).all()
    return _with_places(session, document, [code for code, _ in rows], sum(n or 0 for _, n in rows))


def _with_places(
    session: Session, document: CertificateDocument, codes: list[str], nominal: int
) -> DocumentRecord:
    target = (
        None
        if document.kind == DocumentKind.WITHDRAW
        else place_of(session, document.to_store_id, document.to_pos_id)
    )
    return DocumentRecord(
        document,
        place_of(session, document.from_store_id, document.from_pos_id),
        target,
        codes,
        from_kopecks(nominal),
    )


def get_document(session: Session, tenant: Tenant, number: str) -> DocumentRecord:
    document = session.scalar(
        select(CertificateDocument).where(
            CertificateDocument.tenant_id == tenant.id,
            CertificateDocument.number == number.strip(),
        )
    )
    if document is None:
        raise CertificateDocumentNotFound(details={"number": number})
    return _record(session, document)


def _locked_certificates(session: Session, tenant: Tenant, codes: list[str]) -> list[Certificate]:
    found: list[Certificate] = []
    for condition in where_in(session, Certificate.code, codes):
        found.extend(
            session.scalars(
                lock_rows(
                    select(Certificate)
                    .where(Certificate.tenant_id == tenant.id, condition)
                    .order_by(Certificate.id),
                    of=Certificate,
                ).execution_options(populate_existing=True)
            )
        )
    missing = sorted(set(codes) - {certificate.code for certificate in found})
    if missing:
        raise CertificateNotFound(
            f"Сертификаты не найдены: {', '.join(missing[:5])}"
            + (f" и ещё {len(missing) - 5}." if len(missing) > 5 else "."),
            details={"codes": missing[:NAMED], "count": len(missing)},
        )
    return found


def _refuse_misplaced(certificates: list[Certificate], source: Location) -> None:
    expected = _status_at(source)
    wrong = [c for c in certificates if c.status != expected]
    if wrong:
        statuses = sorted({STATUS_TITLES[CertificateStatus(c.status)] for c in wrong})
        raise CertificateWrongStatus(
            f"Документ перемещает сертификаты в статусе «{STATUS_TITLES[expected]}», а "
            f"{', '.join(c.code for c in wrong[:5])} — «{'», «'.join(statuses)}».",
            details={"codes": [c.code for c in wrong[:NAMED]], "count": len(wrong),
                     "expected": expected},
        )  # fmt: skip
    elsewhere = [c for c in certificates if (c.store_id, c.pos_id) != source]
    if elsewhere:
        raise CertificateNotAtSource(
            "Сертификаты находятся в другом магазине или на другой кассе: "
            f"{', '.join(c.code for c in elsewhere[:5])}"
            + (f" и ещё {len(elsewhere) - 5}." if len(elsewhere) > 5 else "."),
            details={"codes": [c.code for c in elsewhere[:NAMED]], "count": len(elsewhere)},
        )


def apply_document(
    session: Session,
    tenant: Tenant,
    *,
    number: str | None,
    kind: str,
    store: Store | None,
    pos: Pos | None,
    codes: Sequence[str],
    author: str,
    now: datetime,
    may_withdraw: bool,
) -> DocumentRecord:
    """Move the certificates ``codes`` as a document of ``kind`` says, all or none. ``store``
    and ``pos`` name the store (and POS) the move goes to or comes from; a withdrawal takes
    certificates from the place named (a POS, a store, or accounting when none) and needs
    ``may_withdraw``. A ``number`` already used answers its stored document when the content
    is the same."""
    source, target = _locations(kind, store, pos)
    wanted = _normalised(codes)
    if kind == DocumentKind.WITHDRAW and not may_withdraw:
        raise CertificateWithdrawForbidden()
    number = _number(number, now)
    # The header first: a concurrent document of the same number makes this insert wait for
    # it, and the stored one is then compared instead of refusing its moved certificates.
    document = insert_ignore_returning(
        session,
        CertificateDocument,
        {
            "tenant_id": tenant.id, "number": number, "kind": kind, "created_at": now,
            "author": author, "from_store_id": source[0], "from_pos_id": source[1],
            "to_store_id": target[0] if target else None,
            "to_pos_id": target[1] if target else None,
        },
    )  # fmt: skip
    if document is None:
        return _stored(session, tenant, number, kind, source, target, wanted)
    certificates = _locked_certificates(session, tenant, wanted)
    _refuse_misplaced(certificates, source)
    if source == ACCOUNTING and target is not None:
        closed = next((c for c in certificates if c.series.status != SeriesStatus.ACTIVE), None)
        if closed is not None:
            raise series_closed(closed.series)
    status = _status_at(target) if target is not None else CertificateStatus.WITHDRAWN
    for certificate in certificates:
        certificate.status = status
        certificate.store_id, certificate.pos_id = target if target is not None else ACCOUNTING
    session.execute(
        insert(CertificateDocumentLine),
        [{"document_id": document.id, "certificate_id": c.id} for c in certificates],
    )
    session.flush()
    nominal = sum(c.nominal or 0 for c in certificates)
    return _with_places(session, document, sorted(c.code for c in certificates), nominal)


def _stored(
    session: Session,
    tenant: Tenant,
    number: str,
    kind: str,
    source: Location,
    target: Location | None,
    codes: list[str],
) -> DocumentRecord:
    """The stored document of ``number``, when it is the same move of the same certificates."""
    record = get_document(session, tenant, number)
    stored = record.document
    to: Location | None = (
        None if stored.kind == DocumentKind.WITHDRAW else (stored.to_store_id, stored.to_pos_id)
    )
    same = (
        stored.kind == kind
        and (stored.from_store_id, stored.from_pos_id) == source
        and to == target
        and record.codes == codes
    )
    if not same:
        raise CertificateDocumentConflict(
            details={
                "number": number,
                "kind": stored.kind,
                "created_at": stored.created_at.isoformat(),
            }
        )
    return record

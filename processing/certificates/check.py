"""A certificate's state: found by its code, where it is, its documents, and whether it may be
redeemed now at a given POS (the till's check; the redemption will refuse for the same
reasons)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.certificates.errors import (
    CertificateExpired,
    CertificateNotFound,
    CertificateNotSold,
    CertificateOutOfScope,
    CertificateUnusable,
    CertificateUsedUp,
)
from processing.certificates.models import (
    Certificate,
    CertificateDocument,
    CertificateDocumentLine,
    CertificateStatus,
    Scope,
)
from processing.codes import normalise_code
from processing.tenants.models import Pos, Store


@dataclass(frozen=True)
class Place:
    """A store and POS by their codes (None where not applicable)."""

    store: str | None
    pos: str | None


@dataclass(frozen=True)
class CertificateState:
    certificate: Certificate
    place: Place  # where it is now
    sold_place: Place  # where it was sold
    refusal: CertificateUnusable | None  # why it cannot be redeemed at the asking POS


def find_certificate(session: Session, tenant_id: int, code: str) -> Certificate:
    certificate = session.scalar(
        select(Certificate).where(
            Certificate.tenant_id == tenant_id, Certificate.code == normalise_code(code)
        )
    )
    if certificate is None:
        raise CertificateNotFound(details={"code": code.strip()})
    return certificate


def place_of(session: Session, store_id: int | None, pos_id: int | None) -> Place:
    store = session.get(Store, store_id) if store_id is not None else None
    pos = session.get(Pos, pos_id) if pos_id is not None else None
    return Place(store.code if store else None, pos.code if pos else None)


def unusable(
    certificate: Certificate, store_id: int, pos_id: int, at: datetime
) -> CertificateUnusable | None:
    """Why the certificate cannot be redeemed at ``at`` at the POS ``pos_id`` of the store
    ``store_id``; None when it can."""
    if certificate.status != CertificateStatus.SOLD:
        return CertificateNotSold(details={"status": certificate.status})
    if certificate.expires_at is not None and at >= certificate.expires_at:
        return CertificateExpired(details={"expires_at": certificate.expires_at.isoformat()})
    if not certificate.balance:
        return CertificateUsedUp()
    scope = certificate.series.scope
    if (scope == Scope.STORE and certificate.sold_store_id != store_id) or (
        scope == Scope.POS and certificate.sold_pos_id != pos_id
    ):
        return CertificateOutOfScope(details={"scope": scope})
    return None


def certificate_state(
    session: Session, certificate: Certificate, at: datetime, asking: tuple[int, int] | None
) -> CertificateState:
    """The certificate's state; ``asking`` is the (store id, POS id) that wants to redeem it
    (None: nobody, the management view)."""
    refusal = None if asking is None else unusable(certificate, asking[0], asking[1], at)
    return CertificateState(
        certificate,
        place_of(session, certificate.store_id, certificate.pos_id),
        place_of(session, certificate.sold_store_id, certificate.sold_pos_id),
        refusal,
    )


def certificate_documents(session: Session, certificate: Certificate) -> list[CertificateDocument]:
    """The documents that moved the certificate, oldest first."""
    return list(
        session.scalars(
            select(CertificateDocument)
            .join(
                CertificateDocumentLine,
                CertificateDocumentLine.document_id == CertificateDocument.id,
            )
            .where(CertificateDocumentLine.certificate_id == certificate.id)
            .order_by(CertificateDocument.id)
        )
    )

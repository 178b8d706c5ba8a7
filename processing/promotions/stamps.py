"""Stamps: a non-money counter per card account and stamps promotion ("every 6th coffee
free"). The engine reads the stamps on the card as a fact and answers what a receipt adds and
redeems (``engine.model.StampCard``); a commit applies that change under the account's lock (a
commit of the account is serialised already), a return or a rollback takes its share back.
Tables are named by string so the promotions package imports neither ledger nor programs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import ForeignKey, Integer, case, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from processing.db import Base, insert_ignore


class StampCounter(Base):
    __tablename__ = "stamp_counters"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    stamps: Mapped[int] = mapped_column(Integer, default=0)


def stamps_on(session: Session, account_id: int, programs: Mapping[str, int]) -> dict[str, int]:
    """The stamps on the account per promotion code (``programs``: code → program id)."""
    if not programs:
        return {}
    codes = {program_id: code for code, program_id in programs.items()}
    rows = session.execute(
        select(StampCounter.program_id, StampCounter.stamps).where(
            StampCounter.account_id == account_id,
            StampCounter.program_id.in_(list(codes)),
        )
    ).all()
    return {codes[program_id]: stamps for program_id, stamps in rows}


def change_stamps(session: Session, account_id: int, changes: Iterable[tuple[int, int]]) -> None:
    """Add each ``(program_id, delta)`` to the account's counters, never below zero (a return
    of stamps already redeemed keeps the free unit it gave). The caller holds the account's
    lock."""
    changes = [(program_id, delta) for program_id, delta in changes if delta]
    if not changes:
        return
    insert_ignore(
        session, StampCounter,
        [{"account_id": account_id, "program_id": program_id, "stamps": 0}
         for program_id, _ in changes],
        ["account_id", "program_id"],
    )  # fmt: skip
    for program_id, delta in changes:
        session.execute(
            update(StampCounter)
            .where(StampCounter.account_id == account_id, StampCounter.program_id == program_id)
            .values(
                stamps=case((StampCounter.stamps + delta < 0, 0), else_=StampCounter.stamps + delta)
            )
        )

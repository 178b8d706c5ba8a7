"""Identify, soft calculation, fiscal commit, visits and anonymous receipts.

Before anything is calculated a receipt is checked (``check_receipt``: its time, its line sums,
the tariff). The general commit then claims the receipt's identity (``INSERT ... ON CONFLICT DO
NOTHING``): a repeat, or a concurrent twin, finds the stored receipt and gets the same answer, or
a conflict when the body differs; only then does it touch balances, under the account's row lock.
The PostgreSQL hot path (``fast.py``) locks the account first, reads a stored twin after the lock
and writes the receipt and its postings in one statement that writes nothing when a twin won.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from processing.cards.models import Card
from processing.cards.service import (
    CardStatus,
    activate_on_first_use,
    card_account_id,
    card_for_phone,
    find_card,
    require_active,
)
from processing.customers.models import Customer
from processing.customers.service import loyalty_allowance, missing_questionnaire_fields
from processing.db import insert_ignore_returning, relax_durability
from processing.engine.calculate import PROGRAM_CAP, calculate, write_off_refusal
from processing.engine.model import (
    Balances,
    CustomerFacts,
    Result,
    Rules,
    result_from_json,
    result_to_json,
)
from processing.engine.model import (
    Receipt as EngineReceipt,
)
from processing.engine.model import (
    ReceiptLine as EngineLine,
)
from processing.errors import (
    Conflict,
    ConnectorError,
    Forbidden,
    InvalidInput,
    NotFound,
    Refused,
)
from processing.ledger.models import Account, BonusLot
from processing.ledger.rules import active_total
from processing.ledger.service import (
    NotEnoughBonus,
    PostingKind,
    balance,
    expiring,
    lock_account,
    lots_with_remainder,
    post_credit,
    post_write_off,
)
from processing.levels.compute import LevelDecision
from processing.levels.service import account_level, record_purchase
from processing.money import money_text, round_money
from processing.programs.service import ActiveRules, rules_at, within_tariff
from processing.receipts.inputs import (
    AnsweredLine,
    AnsweredReceipt,
    Identification,
    IdentifyOutcome,
    PosContext,
    ReceiptInput,
    digest,
)
from processing.receipts.models import Receipt, ReceiptLine, SoftCalculation
from processing.receipts.plan import AccountSnapshot, SalePlan, plan_sale
from processing.tenants.service import cashier_id

ZERO = Decimal("0.00")
LINES = cast(Table, ReceiptLine.__table__)
SOFT_RESULT_TTL = timedelta(days=2)


class ReceiptConflict(Conflict):
    code = "RECEIPT_CONFLICT"
    message = "Чек с такими реквизитами уже проведён с другим содержимым."


class ReceiptNotFound(NotFound):
    code = "RECEIPT_NOT_FOUND"
    message = "Чек не найден."


class ReceiptSumsMismatch(Refused):
    code = "RECEIPT_SUMS_MISMATCH"
    message = "Суммы чека на кассе не совпадают с расчётом скидок. Пересчитайте чек."


class WriteOffNotAllowed(Refused):
    code = "WRITE_OFF_NOT_ALLOWED"
    message = "Оплата бонусами для этого чека недоступна."


class BonusPaymentCapExceeded(Refused):
    code = "BONUS_PAYMENT_CAP_EXCEEDED"
    message = "Оплата бонусами больше, чем разрешает программа для этого чека."


class BonusNotInTariff(Forbidden):
    code = "BONUS_NOT_IN_TARIFF"
    message = (
        "Бонусная программа не входит в тариф: оплата бонусами недоступна. Проведите чек без "
        "оплаты бонусами."
    )


class SoldAtInFuture(InvalidInput):
    code = "SOLD_AT_IN_FUTURE"
    message = "Время чека впереди часов сервера: проверьте дату и время на кассе."


class SoldAtTooOld(InvalidInput):
    code = "SOLD_AT_TOO_OLD"
    message = "Чек старше срока приёма офлайн-чеков: такой чек не обрабатывается."


class LineSumMismatch(InvalidInput):
    code = "LINE_SUM_MISMATCH"
    message = (
        "Сумма строки не равна количеству × цене (с учётом скидки кассы): проверьте строки "
        "чека, указанные в details."
    )


class NotSupported(Refused):
    code = "NOT_SUPPORTED"
    message = "Не поддерживается."


@dataclass(frozen=True)
class ResolvedCard:
    card: Card
    by_phone: bool


@dataclass(frozen=True)
class Calculation:
    result: Result
    calculation_id: str
    card_number: str | None
    level: LevelDecision | None
    rules: ActiveRules


@dataclass(frozen=True)
class Committed:
    receipt: Receipt | AnsweredReceipt
    lines: Sequence[ReceiptLine | AnsweredLine]
    replay: bool  # True: this identity was committed before, nothing was posted now


def local_date(ctx: PosContext, at: datetime) -> date:
    return at.astimezone(ZoneInfo(ctx.caller.timezone)).date()


def identity_key(ctx: PosContext, shift: str, number: str, sold_at: datetime | None) -> str:
    when = sold_at.astimezone(UTC).isoformat() if sold_at else "-"
    return f"{ctx.caller.store_id}|{ctx.caller.pos_id}|{shift}|{number}|{when}"


def resolve_card(
    session: Session,
    ctx: PosContext,
    ident: Identification | None,
    now: datetime,
    *,
    create: bool = False,
) -> ResolvedCard | None:
    """The card a request names. By phone: the customer's virtual card, made only when
    ``create`` (a commit); reads see an unsaved stand-in until then."""
    if ident is None or (ident.card_number is None and ident.phone is None):
        return None
    if ident.card_number is None and ident.phone is not None:
        card = card_for_phone(
            session, ctx.tenant, ident.phone, author="pos", now=now, create=create
        )
        return ResolvedCard(card, by_phone=True)
    return ResolvedCard(
        find_card(session, ctx.caller.tenant_id, str(ident.card_number)), by_phone=False
    )


def _card_usable(card: Card, now: datetime) -> bool:
    """A pre-printed card is usable: it activates when its first receipt is committed."""
    if card.status == CardStatus.NEW:
        return True
    return card.status == CardStatus.ACTIVE and not (card.valid_until and card.valid_until <= now)


def _customer(session: Session, card: Card) -> Customer | None:
    return session.get(Customer, card.customer_id) if card.customer_id else None


def _level(
    session: Session, ctx: PosContext, card: Card, rules: ActiveRules, at: datetime
) -> LevelDecision | None:
    if rules.levels is None or card.account_id is None:
        return None
    return account_level(session, card.account_id, rules.levels, local_date(ctx, at))


def _facts(
    session: Session,
    ctx: PosContext,
    resolved: ResolvedCard,
    level: LevelDecision | None,
    now: datetime,
) -> tuple[CustomerFacts, Balances]:
    card = resolved.card
    allowance = loyalty_allowance(ctx.tenant, _customer(session, card))
    refusal = None
    if resolved.by_phone and not ctx.tenant.phone_write_off:
        refusal = "При идентификации по телефону оплата бонусами недоступна: предъявите карту."
    facts = CustomerFacts(
        card_active=_card_usable(card, now),
        allowance=allowance,
        level=level.level if level else None,
        level_discount_allowed=not resolved.by_phone or ctx.tenant.phone_level_discount,
        level_discount_refusal=(
            "При идентификации по телефону скидка уровня не предоставляется: предъявите карту."
        ),
        write_off_allowed=refusal is None,
        write_off_refusal=refusal,
    )
    if card.account_id is None:
        return facts, Balances()
    current = balance(session, card.account_id, now)
    return facts, Balances(active=current.active, pending=current.pending, total=current.total)


def receipt_rules(
    session: Session, ctx: PosContext, template_id: int | None, at: datetime
) -> ActiveRules:
    """The rules for a receipt of a card of series ``template_id`` at ``at``: the series'
    programs or the tenant's, and only what the tenant's tariff includes."""
    rules = rules_at(session, ctx.caller.tenant_id, ctx.caller.store_id, at, template_id)
    return within_tariff(rules, ctx.caller.features)


def expired_at_birth(rules: ActiveRules, at: datetime, now: datetime) -> str | None:
    """Bonus accrued for a receipt of ``at`` that would already have expired by ``now`` is not
    accrued at all (the reason, for the cashier)."""
    if rules.bonus is None:
        return None
    expires_at = rules.bonus.lot_dates(at)[1]
    if expires_at is None or expires_at > now:
        return None
    return (
        f"Бонусы за этот чек не начисляются: их срок жизни ({rules.bonus.lifetime_days} дн.) "
        "истёк раньше, чем чек был передан."
    )


def check_sold_at(ctx: PosContext, sold_at: datetime | None, now: datetime) -> None:
    """A receipt's time may run ahead of the server's clock by the tenant's tolerance, and be
    at most the offline window old."""
    if sold_at is None:
        return
    ahead = timedelta(minutes=ctx.caller.sold_at_ahead_minutes)
    if sold_at > now + ahead:
        raise SoldAtInFuture(
            details={"sold_at": sold_at.isoformat(), "server_time": now.isoformat(),
                     "tolerance_minutes": ctx.caller.sold_at_ahead_minutes},
        )  # fmt: skip
    if sold_at < now - timedelta(days=ctx.caller.offline_window_days):
        raise SoldAtTooOld(
            f"Чек старше {ctx.caller.offline_window_days} дн.: такой чек не обрабатывается.",
            details={"sold_at": sold_at.isoformat(),
                     "offline_window_days": ctx.caller.offline_window_days},
        )  # fmt: skip


def check_line_sums(ctx: PosContext, receipt: ReceiptInput) -> None:
    """Each line's sum is round(qty × price) less the POS's own discount, within the tenant's
    tolerance per line (weighed goods round half-up to the kopeck)."""
    tolerance = ctx.caller.line_sum_tolerance
    wrong = {}
    for position, line in enumerate(receipt.lines):
        expected = round_money(line.quantity * line.price) - line.pos_discount
        if abs(line.amount - expected) > tolerance:
            wrong[str(position)] = {
                "sum": [f"Строка {line.number}: сумма {money_text(line.amount)}, а "
                        f"{line.quantity} × {money_text(line.price)}"
                        + (f" − {money_text(line.pos_discount)}" if line.pos_discount else "")
                        + f" = {money_text(expected)}."]
            }  # fmt: skip
    if wrong:
        raise LineSumMismatch(details={"fields": {"json": {"lines": wrong}}})


def check_receipt(ctx: PosContext, receipt: ReceiptInput, now: datetime) -> None:
    """What a receipt must satisfy before anything is calculated or stored."""
    check_sold_at(ctx, receipt.sold_at, now)
    check_line_sums(ctx, receipt)
    if receipt.requested_bonus > ZERO and "bonus" not in ctx.caller.features:
        raise BonusNotInTariff()


def _mask_name(customer: Customer | None) -> str | None:
    if customer is None or not customer.first_name:
        return None
    initial = f" {customer.last_name[0]}." if customer.last_name else ""
    return f"{customer.first_name}{initial}"


def identify(
    session: Session,
    ctx: PosContext,
    ident: Identification,
    *,
    now: datetime,
    expiring_days: int = 30,
) -> IdentifyOutcome:
    resolved = resolve_card(session, ctx, ident, now)
    if resolved is None:
        raise InvalidInput("Укажите номер карты или телефон.")
    card = resolved.card
    rules = receipt_rules(session, ctx, card.template_id, now)
    level = _level(session, ctx, card, rules, now)
    facts, balances = _facts(session, ctx, resolved, level, now)
    if "bonus" not in ctx.caller.features:
        balances = Balances()  # no bonus server in the tariff: nothing to show or pay
    customer = _customer(session, card)
    refusal = write_off_refusal(Rules(levels=rules.levels, bonus=rules.bonus), facts)
    if "bonus" not in ctx.caller.features:
        refusal = BonusNotInTariff.message
    elif refusal is None and balances.active <= ZERO:
        refusal = "Нет активных бонусов."
    soon = ZERO
    if card.account_id is not None:
        window = timedelta(days=expiring_days)
        lots = expiring(session, ctx.caller.tenant_id, now, window, account_id=card.account_id)
        soon = sum((item.amount for item in lots), ZERO)
    missing = missing_questionnaire_fields(ctx.tenant, customer) if customer else []
    return IdentifyOutcome(
        card=card,
        customer_name=_mask_name(customer),
        balance_total=balances.total,
        balance_active=balances.active,
        balance_pending=balances.pending,
        level=level,
        expiring=soon,
        expiring_days=expiring_days,
        write_off_allowed=refusal is None,
        write_off_refusal=refusal,
        questionnaire_filled=customer is not None and not missing,
        questionnaire_missing=missing if customer else ["customer"],
    )


def engine_receipt(receipt: ReceiptInput) -> EngineReceipt:
    return EngineReceipt(
        lines=tuple(
            EngineLine(
                number=line.number,
                goods_id=line.goods_id,
                quantity=line.quantity,
                price=line.price,
                amount=line.amount,
                no_discount=line.no_discount,
                group_ids=line.group_ids,
                barcode=line.barcode,
            )
            for line in receipt.lines
        ),
        requested_bonus=receipt.requested_bonus,
    )


def _compute(
    session: Session,
    ctx: PosContext,
    receipt: ReceiptInput,
    resolved: ResolvedCard | None,
    at: datetime,
    now: datetime,
) -> tuple[Result, LevelDecision | None, ActiveRules]:
    rules = receipt_rules(session, ctx, resolved.card.template_id if resolved else None, at)
    engine_rules = Rules(levels=rules.levels, bonus=rules.bonus)
    if resolved is None:
        facts, balances, level = (
            CustomerFacts(card_active=False, allowance="nothing"),
            Balances(),
            None,
        )
    else:
        level = _level(session, ctx, resolved.card, rules, at)
        facts, balances = _facts(session, ctx, resolved, level, now)
        facts = replace(facts, accrual_refusal=expired_at_birth(rules, at, now))
    return calculate(engine_receipt(receipt), engine_rules, balances, facts), level, rules


def calculate_receipt(
    session: Session, ctx: PosContext, receipt: ReceiptInput, *, now: datetime
) -> Calculation:
    """Soft calculation: changes no balance; the result is kept for the commit."""
    # fast.py builds on this module's helpers; imported here to keep the import acyclic.
    from processing.receipts.fast import calculate_fast

    check_receipt(ctx, receipt, now)
    fast = calculate_fast(session, ctx, receipt, now=now)
    if fast is not None:
        return fast
    resolved = resolve_card(session, ctx, receipt.identification, now)
    at = receipt.sold_at or now
    result, level, rules = _compute(session, ctx, receipt, resolved, at, now)
    card_number = resolved.card.number if resolved else None
    calculation = Calculation(result, str(uuid.uuid4()), card_number, level, rules)
    relax_durability(session)  # recomputable data
    session.add(SoftCalculation(**soft_result(ctx, receipt, calculation, now)))
    session.flush()
    return calculation


def soft_result(
    ctx: PosContext, receipt: ReceiptInput, calculation: Calculation, now: datetime
) -> dict[str, Any]:
    """The stored soft result a commit naming ``calculation_id`` replays."""
    level = calculation.level
    return {
        "id": calculation.calculation_id,
        "tenant_id": ctx.caller.tenant_id,
        "pos_id": ctx.caller.pos_id,
        "input_hash": receipt.calculation_hash(),
        "result": {
            "engine": result_to_json(calculation.result),
            "level": level.level.code if level and level.level else None,
        },
        "created_at": now,
    }


def _existing(
    session: Session, ctx: PosContext, key: str, client_txn_id: str | None
) -> Receipt | None:
    # One lookup per unique index: an OR of both makes a plan that walks the tenant's receipts.
    tenant = Receipt.tenant_id == ctx.caller.tenant_id
    found = session.scalar(select(Receipt).where(tenant, Receipt.identity_key == key))
    if found is None and client_txn_id:
        # A POS numbers its own transactions: the id is unique per POS.
        found = session.scalar(
            select(Receipt).where(
                Receipt.pos_id == ctx.caller.pos_id, Receipt.client_txn_id == client_txn_id
            )
        )
    return found


def receipt_lines(session: Session, receipt: Receipt) -> list[ReceiptLine]:
    return list(
        session.scalars(
            select(ReceiptLine)
            .where(ReceiptLine.receipt_id == receipt.id)
            .order_by(ReceiptLine.line_no)
        )
    )


def claim_values(
    session: Session,
    ctx: PosContext,
    *,
    kind: str,
    shift: str,
    number: str,
    sold_at: datetime | None,
    now: datetime,
    client_txn_id: str | None,
    body_hash: str,
    cashier_code: str,
    cashier_name: str | None,
) -> dict[str, Any]:
    """The row that claims a receipt's identity, before any balance is touched."""
    at = sold_at or now
    return {
        "transaction_id": str(uuid.uuid4()),
        "tenant_id": ctx.caller.tenant_id,
        "store_id": ctx.caller.store_id,
        "pos_id": ctx.caller.pos_id,
        "cashier_id": cashier_id(session, ctx.caller.tenant_id, cashier_code, cashier_name),
        "kind": kind,
        "identity_key": identity_key(ctx, shift, number, sold_at),
        "client_txn_id": client_txn_id,
        "body_hash": body_hash,
        "shift": shift,
        "number": number,
        "sold_at": at,
        "local_date": local_date(ctx, at),
        "status": "committed",
        "offline": False,
        "amount": ZERO,
        "discount": ZERO,
        "bonus_payment": ZERO,
        "final_amount": ZERO,
        "accrual": ZERO,
        "clawback_shortfall": ZERO,
        "notes": [],
        "created_at": now,
    }


def sale_claim(
    session: Session, ctx: PosContext, receipt: ReceiptInput, now: datetime
) -> dict[str, Any]:
    return claim_values(
        session, ctx, kind="sale", shift=receipt.shift, number=receipt.number,
        sold_at=receipt.sold_at, now=now, client_txn_id=receipt.client_txn_id,
        body_hash=receipt.body_hash(), cashier_code=receipt.cashier_code,
        cashier_name=receipt.cashier_name,
    )  # fmt: skip


def claim_identity(
    session: Session, ctx: PosContext, values: dict[str, Any]
) -> Receipt | Committed:
    """Claim a receipt's identity with the row of ``claim_values``; a stored twin is returned
    as ``Committed`` (replay)."""
    created = insert_ignore_returning(session, Receipt, values)
    if created is not None:
        return created
    return stored_twin(session, ctx, values)


def stored_twin(session: Session, ctx: PosContext, values: dict[str, Any]) -> Committed:
    """The receipt that already holds this identity (committed earlier, or by a concurrent
    request we waited for): the same answer again, or a conflict when the body differs."""
    key = values["identity_key"]
    stored = _existing(session, ctx, key, values["client_txn_id"])
    if stored is None:
        raise ConnectorError(details={"receipt": key})
    if stored.body_hash != values["body_hash"] or stored.kind != values["kind"]:
        raise ReceiptConflict(details={"transaction_id": stored.transaction_id})
    return Committed(stored, receipt_lines(session, stored), replay=True)


def _check_printed_sums(ctx: PosContext, receipt: ReceiptInput, result: Result) -> None:
    tolerance = ctx.caller.sums_tolerance
    ours = {line.number: line.final_amount for line in result.lines}
    differences = {
        str(line.number): {
            "pos": money_text(line.final_amount),
            "ours": money_text(ours[line.number]),
        }
        for line in receipt.lines
        if line.final_amount is not None and abs(line.final_amount - ours[line.number]) > tolerance
    }
    if differences:
        raise ReceiptSumsMismatch(details={"lines": differences})


def _stored_result(
    session: Session, ctx: PosContext, receipt: ReceiptInput
) -> tuple[Result, str | None] | None:
    if not receipt.calculation_id:
        return None
    soft = session.get(SoftCalculation, receipt.calculation_id)
    if (
        soft is None
        or soft.pos_id != ctx.caller.pos_id
        or soft.input_hash != receipt.calculation_hash()
    ):
        return None
    return result_from_json(soft.result["engine"]), soft.result.get("level")


def commit_receipt(
    session: Session,
    ctx: PosContext,
    receipt: ReceiptInput,
    *,
    now: datetime,
    offline: bool = False,
) -> Committed:
    """The fiscal commit. Offline receipts (``offline``) only accrue: a bonus payment in them
    is refused, never written off."""
    check_receipt(ctx, replace(receipt, requested_bonus=ZERO) if offline else receipt, now)
    if not offline:
        # fast.py builds on this module's helpers; imported here to keep the import acyclic.
        from processing.receipts.fast import commit_fast

        fast = commit_fast(session, ctx, receipt, now=now)
        if fast is not None:
            return fast
    claimed = claim_identity(session, ctx, sale_claim(session, ctx, receipt, now))
    if isinstance(claimed, Committed):
        return claimed
    return commit_claimed(session, ctx, receipt, claimed, now=now, offline=offline)


def commit_claimed(
    session: Session,
    ctx: PosContext,
    receipt: ReceiptInput,
    row: Receipt,
    *,
    now: datetime,
    offline: bool,
) -> Committed:
    """The general commit of a claimed receipt (any card state, soft results, offline)."""
    at = row.sold_at
    resolved = resolve_card(session, ctx, receipt.identification, now, create=True)
    notes: list[str] = []
    account = None
    lots: Sequence[BonusLot] = ()
    if resolved is not None:
        card = resolved.card
        activate_on_first_use(session, card, now=now)
        require_active(card, now)
        account = lock_account(session, card_account_id(card))
        lots = lots_with_remainder(session, account.id)
        row.card_id, row.account_id, row.customer_id = card.id, account.id, card.customer_id
    if offline and receipt.requested_bonus > ZERO:
        notes.append("Оплата бонусами в офлайн-чеке не проводится: только начисление.")
        receipt = _without_bonus(receipt)
    stored = _stored_result(session, ctx, receipt)
    if stored is not None and stored[0].bonus_payment > active_total(lots, now):
        stored = None  # bonus was spent since the soft calculation: it no longer holds
    if stored is not None:
        result, level_code = stored
        rules = receipt_rules(session, ctx, resolved.card.template_id if resolved else None, at)
    else:
        result, level, rules = _compute(session, ctx, receipt, resolved, at, now)
        level_code = level.level.code if level and level.level else None
    check_payable(ctx, receipt, result)

    if account is not None:
        plan = plan_sale(
            AccountSnapshot(account.id, account.balance, lots),
            bonus_payment=result.bonus_payment, accrual=result.accrual, bonus=rules.bonus,
            sold_at=at, local_date=row.local_date, final_amount=result.final_amount, now=now,
        )  # fmt: skip
        _write_plan(session, row, account, lots, plan, now)
    row.offline = offline
    return finish_receipt(session, row, receipt, result, rules, level_code, notes)


def _write_plan(
    session: Session,
    row: Receipt,
    account: Account,
    lots: Sequence[BonusLot],
    plan: SalePlan,
    now: datetime,
) -> None:
    """The ORM writer of a sale's posting plan (the hot path's SQL writes the same rows)."""
    operation = f"receipt:{row.transaction_id}"
    if plan.write_off is not None:
        row.debit_posting_id = post_write_off(
            session, account, lots, plan.takes, PostingKind.WRITE_OFF, now=now,
            operation=operation,
        ).id  # fmt: skip
    if plan.accrual is not None and plan.new_lot is not None:
        lot = plan.new_lot
        row.credit_posting_id = post_credit(
            session, account, lot.amount, lot.remaining, PostingKind.ACCRUAL, now=now,
            activates_at=lot.activates_at, expires_at=lot.expires_at, operation=operation,
        ).id  # fmt: skip
    record_purchase(session, account.id, plan.purchase_date, plan.purchase_amount, 1, operation)


def check_payable(ctx: PosContext, receipt: ReceiptInput, result: Result) -> None:
    """The printed receipt must be exactly what we post: the bonus it paid and its sums."""
    if result.bonus_payment < receipt.requested_bonus:
        if result.write_off_refusal:
            raise WriteOffNotAllowed(result.write_off_refusal)
        if result.payment_limit == PROGRAM_CAP:
            allowed = money_text(result.max_bonus_payment)
            raise BonusPaymentCapExceeded(
                f"Оплата бонусами ограничена программой: для этого чека не более {allowed}.",
                details={"available": allowed, "requested": money_text(receipt.requested_bonus),
                         "limit": "program_cap"},
            )  # fmt: skip
        raise NotEnoughBonus(
            details={"available": money_text(result.max_bonus_payment),
                     "requested": money_text(receipt.requested_bonus)}
        )  # fmt: skip
    _check_printed_sums(ctx, receipt, result)


def finish_receipt(
    session: Session,
    row: Receipt,
    receipt: ReceiptInput,
    result: Result,
    rules: ActiveRules,
    level_code: str | None,
    notes: list[str],
) -> Committed:
    """Totals on the receipt row and its lines."""
    for name, value in receipt_totals(result, rules, level_code, notes).items():
        setattr(row, name, value)
    values = line_values(row.id, receipt, result)
    # One multi-row INSERT; the answer is built from the same values (never re-read).
    session.execute(insert(LINES), values)
    session.flush()
    return Committed(row, [ReceiptLine(**line) for line in values], replay=False)


def receipt_totals(
    result: Result, rules: ActiveRules, level_code: str | None, notes: list[str]
) -> dict[str, Any]:
    return {
        "level_code": level_code,
        "levels_version_id": rules.levels_version_id,
        "bonus_version_id": rules.bonus_version_id,
        "amount": result.amount,
        "discount": result.discount,
        "bonus_payment": result.bonus_payment,
        "final_amount": result.final_amount,
        "accrual": result.accrual,
        "notes": notes,
    }


def line_values(receipt_id: int, receipt: ReceiptInput, result: Result) -> list[dict[str, Any]]:
    return [
        {
            "receipt_id": receipt_id,
            "line_no": source.number,
            "goods_id": source.goods_id,
            "barcode": source.barcode,
            "quantity": source.quantity,
            "price": source.price,
            "amount": computed.amount,
            "discount": computed.discount,
            "bonus_payment": computed.bonus_payment,
            "final_amount": computed.final_amount,
            "accrual": computed.accrual,
            "no_discount": source.no_discount,
            "seller": source.seller,
            "explanations": [
                {"rule": e.rule, "amount": str(e.amount), "text": e.text}
                for e in computed.explanations
            ],
            "returned_quantity": Decimal(0),
            "returned_amount": ZERO,
            "returned_accrual": ZERO,
            "returned_payment": ZERO,
            "returned_final": ZERO,
        }
        for source, computed in zip(receipt.lines, result.lines, strict=True)
    ]


def _without_bonus(receipt: ReceiptInput) -> ReceiptInput:
    return replace(receipt, requested_bonus=ZERO)


def register_visit(
    session: Session,
    ctx: PosContext,
    *,
    ident: Identification | None,
    cashier_code: str,
    shift: str,
    number: str,
    sold_at: datetime | None,
    client_txn_id: str | None,
    now: datetime,
) -> Committed:
    """A visit without lines (visit-counting programs); idempotent like a receipt."""
    check_sold_at(ctx, sold_at, now)
    body = digest(repr((ident, cashier_code, shift, number, sold_at, client_txn_id)))
    claimed = claim_identity(
        session, ctx,
        claim_values(
            session, ctx, kind="visit", shift=shift, number=number, sold_at=sold_at, now=now,
            client_txn_id=client_txn_id, body_hash=body, cashier_code=cashier_code,
            cashier_name=None,
        ),
    )  # fmt: skip
    if isinstance(claimed, Committed):
        return claimed
    resolved = resolve_card(session, ctx, ident, now, create=True)
    if resolved is not None:
        activate_on_first_use(session, resolved.card, now=now)
        require_active(resolved.card, now)
        claimed.card_id = resolved.card.id
        claimed.account_id = resolved.card.account_id
        claimed.customer_id = resolved.card.customer_id
    session.flush()
    return Committed(claimed, [], replay=False)


def find_receipt(session: Session, ctx: PosContext, transaction_id: str) -> Receipt:
    receipt = session.scalar(
        select(Receipt).where(
            Receipt.tenant_id == ctx.caller.tenant_id, Receipt.transaction_id == transaction_id
        )
    )
    if receipt is None:
        raise ReceiptNotFound(details={"transaction_id": transaction_id})
    return receipt

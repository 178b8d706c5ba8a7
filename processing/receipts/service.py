"""Identify, soft calculation, fiscal commit, a 1C document's replacement, visits and anonymous
receipts: the order of operations. The rules they apply live in modules of their own:
``checks`` (what a receipt must satisfy), ``claims`` (its identity, repeats and conflicts),
``rows`` (its rules, totals, lines and soft result), ``plan`` (the ledger writes of a sale,
decided once).

A receipt is checked before anything is calculated. The general commit then claims the receipt's
identity and only then touches balances, under the account's row lock, writing the posting plan
through the ORM. The PostgreSQL hot path (``fast.py``) locks the account first, reads a stored
twin after the lock and writes the same plan in one statement that writes nothing when a twin
won.

A 1C document re-posted replaces its receipt in one transaction: the old sale is reversed as a
rollback reverses it (``returns``), gives up its identity and the new version is committed by the
commit above; when the commit is refused, the request's rollback leaves the old one in force.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from processing.cards.models import Card
from processing.cards.service import (
    CardStatus,
    activate_on_first_use,
    card_account_id,
    card_for_phone,
    effective_status,
    find_card,
    require_active,
)
from processing.certificates.till import Sale, receipt_certificates
from processing.certificates.till import commit as commit_certificates
from processing.coupons.receipt import (
    NO_COUPONS,
    CouponsOutcome,
    candidates,
    choose,
    customer_coupons,
    redeem,
)
from processing.customers.access import MASKED_NAME_FIELDS, Accessor, Action, record_access
from processing.customers.models import Customer
from processing.customers.service import (
    loyalty_allowance,
    masked_name,
    missing_fields,
)
from processing.db import relax_durability
from processing.engine.calculate import calculate
from processing.engine.model import (
    Balances,
    CustomerFacts,
    Result,
    Rules,
)
from processing.engine.promotions import identify_hints
from processing.errors import (
    InvalidInput,
)
from processing.gifts.stock import (
    GiftGiven,
    gift_stock_counted,
    issue_for_receipt,
    stock_for_receipt,
)
from processing.ledger.models import Account, BonusLot
from processing.ledger.service import (
    PostingKind,
    balance,
    lock_account,
    lots_with_remainder,
    post_credit,
    post_write_off,
)
from processing.levels.compute import LevelDecision, decide_level
from processing.levels.service import account_level, record_purchase
from processing.programs.service import ActiveRules
from processing.receipts.certificates import (
    NO_CERTIFICATES,
    TillCertificates,
    certificate_payments,
    certificate_sales,
    certificates_possible,
    check_as_calculated,
    with_sold,
    without_sold,
)
from processing.receipts.checks import (
    check_payable,
    check_receipt,
    check_sold_at,
)
from processing.receipts.claims import (
    Committed,
    ReceiptConflict,
    claim_identity,
    claim_values,
    local_date,
    replacement_of,
    sale_claim,
    stored_replacement,
)
from processing.receipts.fast import calculate_fast, commit_fast, identify_fast
from processing.receipts.inputs import (
    Identification,
    IdentifyOutcome,
    PosContext,
    ReceiptInput,
    digest,
)
from processing.receipts.models import Receipt, ReceiptReplacement, SoftCalculation
from processing.receipts.plan import (
    AccountSnapshot,
    CampaignPoints,
    SalePlan,
    balances_after,
    plan_sale,
)
from processing.receipts.promotion_facts import (
    claim_usage,
    promotion_facts,
    record_stamps,
    stamps_current,
)
from processing.receipts.returns import lock_receipt, withdraw_replaced
from processing.receipts.rows import (
    Calculation,
    StoredSoftResult,
    calculated_for,
    expired_at_birth,
    finish_receipt,
    identify_outcome,
    receipt_rules,
    replayable,
    soft_result,
    with_catalog,
)

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ResolvedCard:
    card: Card
    by_phone: bool


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


def card_balance(
    session: Session, ctx: PosContext, ident: Identification | None, now: datetime
) -> Balances | None:
    """The bonus balance of the card ``ident`` names (None: no card, or none made yet)."""
    resolved = resolve_card(session, ctx, ident, now)
    return account_balances(session, resolved.card.account_id if resolved else None, now)


def account_balances(session: Session, account_id: int | None, now: datetime) -> Balances | None:
    """The bonus balance of an account as this transaction sees it (None: no account)."""
    if account_id is None:
        return None
    found = balance(session, account_id, now)
    return Balances(active=found.active, pending=found.pending, total=found.total)


def balances_preview(calculation: Calculation) -> Balances | None:
    """The card's balance as it will be once the calculated receipt is committed: its
    write-off taken, its accrual and campaign points counted in the total, not yet payable
    (None: no card)."""
    before, result = calculation.balances, calculation.result
    if before is None:
        return None
    earned = result.accrual + sum((extra.amount for extra in result.extra_bonuses), ZERO)
    return Balances(
        active=before.active - result.write_off,
        pending=before.pending + earned,
        total=before.total - result.write_off + earned,
    )


def _card_usable(card: Card, now: datetime) -> bool:
    """A pre-printed card is usable: it activates when its first receipt is committed."""
    if card.status == CardStatus.NEW:
        return True
    return card.status == CardStatus.ACTIVE and not (card.valid_until and card.valid_until <= now)


def _customer(session: Session, card: Card) -> Customer | None:
    return session.get(Customer, card.customer_id) if card.customer_id else None


def _missing(ctx: PosContext, customer: Customer | None) -> list[str] | None:
    """The questionnaire fields ``customer`` still owes (None: no customer)."""
    if customer is None:
        return None
    return missing_fields(ctx.caller.questionnaire_required, customer, customer.processing_consent)


def _level(
    session: Session, ctx: PosContext, card: Card, rules: ActiveRules, at: datetime
) -> LevelDecision | None:
    if rules.levels is None:
        return None
    if card.account_id is None:
        # a card not used yet: the commit opens its account, with no purchases, and gives the
        # entry level; calculate and identify say the same
        return decide_level(rules.levels, Decimal(0), None)
    return account_level(session, card.account_id, rules.levels, local_date(ctx, at))


def _facts(
    session: Session,
    ctx: PosContext,
    resolved: ResolvedCard,
    level: LevelDecision | None,
    now: datetime,
) -> tuple[CustomerFacts, Balances]:
    card = resolved.card
    allowance = loyalty_allowance(
        ctx.caller.questionnaire_policy, _missing(ctx, _customer(session, card))
    )
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
    return facts, account_balances(session, card.account_id, now) or Balances()


def identify(
    session: Session,
    ctx: PosContext,
    ident: Identification,
    *,
    now: datetime,
    reader: Accessor,
    expiring_days: int = 30,
) -> IdentifyOutcome:
    """What the cashier sees when a card or phone is presented. It writes nothing but the
    152-FZ log row of ``reader``'s read of the customer's (masked) name, when it shows one, in
    a transaction that needs no WAL flush."""
    fast, recorded = identify_fast(
        session, ctx, ident, now=now, expiring_days=expiring_days, reader=reader
    )
    if fast is not None:
        return fast
    resolved = resolve_card(session, ctx, ident, now)
    if resolved is None:
        raise InvalidInput("Укажите номер карты или телефон.")
    card = resolved.card
    rules = receipt_rules(session, ctx, card.template_id, now)
    level = _level(session, ctx, card, rules, now)
    facts, balances = _facts(session, ctx, resolved, level, now)
    customer = _customer(session, card)
    lots = lots_with_remainder(session, card.account_id) if card.account_id else ()
    if customer is not None and not recorded:
        record_access(
            session, reader, tenant_id=ctx.caller.tenant_id, customer_id=customer.id,
            action=Action.READ, fields=MASKED_NAME_FIELDS, now=now,
        )  # fmt: skip
        relax_durability(session)  # the log row is all it writes
    outcome = identify_outcome(
        ctx, rules, facts, balances, lots, level, now=now, expiring_days=expiring_days,
        card_number=card.number or None, card_status=effective_status(card, now),
        customer_id=card.customer_id,
        customer_name=masked_name(customer.first_name, customer.last_name) if customer else None,
        missing=_missing(ctx, customer),
    )  # fmt: skip
    if rules.promotions is not None and rules.promotions.hints_on_identify:
        found = promotion_facts(session, ctx, rules.promotions, card, level, now)
        outcome = replace(outcome, hints=tuple(identify_hints(rules.promotions, found)))
    if rules.promotions is not None and card.customer_id is not None:
        offered = customer_coupons(
            session, ctx.caller.tenant_id, card.customer_id, at=now, book=rules.promotions
        )
        outcome = replace(outcome, coupons=tuple(offered))
    return outcome


@dataclass(frozen=True)
class _Computed:
    result: Result
    level: LevelDecision | None
    rules: ActiveRules
    coupons: CouponsOutcome
    goods: tuple[str, ...]  # each line's goods id as the engine matched it
    certificates: TillCertificates = NO_CERTIFICATES
    balances: Balances | None = None  # the card's before the receipt (None: no card)

    @property
    def level_code(self) -> str | None:
        return self.level.level.code if self.level and self.level.level else None


def _compute(
    session: Session,
    ctx: PosContext,
    receipt: ReceiptInput,
    resolved: ResolvedCard | None,
    at: datetime,
    now: datetime,
    exclude: frozenset[str] = frozenset(),
    *,
    commit: bool = False,
    offline: bool = False,
) -> _Computed:
    """The engine's result for the receipt with the coupons it may use, the store's gift stock,
    its certificate sales (left out of the engine) and payments by certificates; ``exclude``:
    promotions a commit found used up; ``commit``: the rows of coupons, gift stock and
    certificates are locked until the commit ends; ``offline``: certificates are refused."""
    rules = receipt_rules(session, ctx, resolved.card.template_id if resolved else None, at)
    engine_rules = Rules(levels=rules.levels, bonus=rules.bonus, promotions=rules.promotions)
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
    engine_input = with_catalog(session, ctx.caller.tenant_id, receipt)
    goods = tuple(line.goods_id for line in engine_input.lines)
    found = None
    if rules.promotions is not None:
        card = resolved.card if resolved else None
        found = promotion_facts(
            session, ctx, rules.promotions, card, level, at, exclude, receipt.payments
        )
    # Rows a commit locks, always in this order (returns and rollbacks keep it too): coupons,
    # the gift stock, certificates (then the promotion counters, by ``claim_usage``).
    present = None
    if _coupons_possible(receipt, resolved, rules):
        present = candidates(
            session, ctx.caller.tenant_id, receipt.coupons,
            customer_id=resolved.card.customer_id if resolved else None, at=at,
            book=rules.promotions, lock=commit,
        )  # fmt: skip
    if found is not None and gift_stock_counted(
        session, ctx.caller.tenant_id, rules.promotions, fresh=commit
    ):
        stock = stock_for_receipt(session, ctx.caller.store_id, goods, lock=commit)
        found = replace(found, gift_stock=stock)
    sold: tuple[Sale, ...] = ()
    if certificates_possible(session, ctx, receipt):
        sold = certificate_sales(
            session, ctx, receipt, engine_input, at, lock=commit, offline=offline
        )
    priced = without_sold(engine_input, sold)

    def run(unlocked: frozenset[str]) -> Result:
        with_coupons = found if found is None else replace(found, coupons=unlocked)
        return with_sold(
            calculate(priced, engine_rules, balances, facts, with_coupons), engine_input, sold
        )

    coupons = NO_COUPONS
    if present is not None:
        result, coupons = choose(present, run)
    else:
        result = run(frozenset())
    paid = certificate_payments(session, ctx, receipt, result, sold, at, lock=commit)
    return _Computed(
        result, level, rules, coupons, goods, TillCertificates(sold, paid),
        balances if resolved is not None else None,
    )  # fmt: skip


def _coupons_possible(
    receipt: ReceiptInput, resolved: ResolvedCard | None, rules: ActiveRules
) -> bool:
    """Whether coupons may take part: presented, or the customer's own for coupon promotions."""
    return bool(receipt.coupons) or (
        resolved is not None
        and rules.promotions is not None
        and bool(rules.promotions.coupon_promotions)
    )


def _under_locks(
    session: Session,
    ctx: PosContext,
    receipt: ReceiptInput,
    resolved: ResolvedCard | None,
    rules: ActiveRules,
) -> bool:
    """Whether a commit must compute afresh what rows it locks decide: coupons, gift stock,
    certificates."""
    return (
        _coupons_possible(receipt, resolved, rules)
        or gift_stock_counted(session, ctx.caller.tenant_id, rules.promotions, fresh=True)
        or certificates_possible(session, ctx, receipt)
    )


def _gifts_given(computed: _Computed) -> list[GiftGiven]:
    """The gift units of each line and the gift promotion that gave them."""
    book = computed.rules.promotions
    if book is None or not book.gift_promotions:
        return []
    given = []
    for line, goods in zip(computed.result.lines, computed.goods, strict=True):
        if not line.gift_quantity:
            continue
        promotion = next(
            (e.promotion for e in line.explanations if e.promotion in book.gift_promotions), None
        )
        given.append(GiftGiven(line.number, goods, int(line.gift_quantity), promotion))
    return given


def calculate_receipt(
    session: Session, ctx: PosContext, receipt: ReceiptInput, *, now: datetime
) -> Calculation:
    """Soft calculation: changes no balance; the result is kept for the commit."""
    check_receipt(ctx, receipt, now)
    fast = calculate_fast(session, ctx, receipt, now=now)
    if fast is not None:
        return fast
    resolved = resolve_card(session, ctx, receipt.identification, now)
    at = receipt.sold_at or now
    computed = _compute(session, ctx, receipt, resolved, at, now)
    card_number = resolved.card.number if resolved else None
    calculation = Calculation(
        computed.result, str(uuid.uuid4()), card_number, computed.level, computed.rules,
        computed.coupons, computed.certificates, computed.balances,
    )  # fmt: skip
    relax_durability(session)  # recomputable data
    session.add(SoftCalculation(**soft_result(ctx, receipt, calculation, now)))
    session.flush()
    return calculation


def _stored_result(session: Session, receipt: ReceiptInput) -> StoredSoftResult | None:
    soft = session.get(SoftCalculation, receipt.calculation_id) if receipt.calculation_id else None
    return None if soft is None else StoredSoftResult(soft.pos_id, soft.input_hash, soft.result)


def commit_receipt(
    session: Session,
    ctx: PosContext,
    receipt: ReceiptInput,
    *,
    now: datetime,
    offline: bool = False,
    since: datetime | None = None,
) -> Committed:
    """The fiscal commit. Offline receipts (``offline``) only accrue: a bonus payment in them
    is refused, never written off. ``since``: a replacement's oldest acceptable date (see
    ``check_sold_at``)."""
    checked = replace(receipt, requested_bonus=ZERO) if offline else receipt
    check_receipt(ctx, checked, now, since=since)
    if not offline:
        fast = commit_fast(session, ctx, receipt, now=now)
        if fast is not None:
            return fast
    claimed = claim_identity(session, ctx, sale_claim(session, ctx, receipt, now))
    if isinstance(claimed, Committed):
        return claimed
    return commit_claimed(session, ctx, receipt, claimed, now=now, offline=offline)


def replace_receipt(
    session: Session,
    ctx: PosContext,
    transaction_id: str,
    receipt: ReceiptInput,
    *,
    now: datetime,
) -> Committed:
    """A 1C document re-posted: its committed sale ``transaction_id`` is reversed and
    ``receipt``, the document's new version, committed in its place (any time after the sale,
    not bounded by the rollback window). Repeated with the same body, the new receipt is
    answered again; with another body, a conflict."""
    old = lock_receipt(session, ctx, transaction_id)
    replacement = replacement_of(session, old)
    if replacement is not None:
        return stored_replacement(session, replacement, receipt.body_hash())
    withdraw_replaced(session, old, now=now)
    committed = commit_receipt(session, ctx, receipt, now=now, since=old.sold_at)
    if committed.replay:  # the new version's identity is another receipt's
        raise ReceiptConflict(
            "Чек с такими реквизитами уже проведён другой транзакцией: проверьте номер и дату "
            "документа.",
            details={"transaction_id": committed.receipt.transaction_id},
        )
    new_id = session.scalar(
        select(Receipt.id).where(Receipt.transaction_id == committed.receipt.transaction_id)
    )
    session.add(ReceiptReplacement(receipt_id=old.id, replaced_by_id=new_id, created_at=now))
    session.flush()
    return committed


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
    soft = _stored_result(session, receipt)
    stored = replayable(soft, ctx, receipt, lots, now)
    computed: _Computed | None = None
    if stored is not None:
        result, level_code = stored
        rules = receipt_rules(session, ctx, resolved.card.template_id if resolved else None, at)
        if _under_locks(session, ctx, receipt, resolved, rules):
            stored = None  # coupons and gifts are decided afresh, under their rows' locks
        elif (
            account is not None
            and rules.promotions is not None
            and not stamps_current(session, ctx, rules.promotions, account.id, result)
        ):
            stored = None  # another receipt of the card changed its stamps: count afresh
    if stored is None:
        computed = _compute(session, ctx, receipt, resolved, at, now, commit=True, offline=offline)
        result, rules, level_code = computed.result, computed.rules, computed.level_code
    excluded: frozenset[str] = frozenset()
    refused_once: frozenset[str] = frozenset()
    while rules.promotions is not None:
        # Limited promotions are counted under their locks. One that other commits used up or
        # spent meanwhile: the receipt is computed again on the counters as they now stand
        # (locked: what is left of a budget is given); refused again, it is left out (each
        # pass leaves out more: it ends).
        refused = claim_usage(session, ctx, rules.promotions, result)
        if not refused:
            break
        excluded |= refused & refused_once
        refused_once |= refused
        computed = _compute(
            session, ctx, receipt, resolved, at, now, excluded, commit=True, offline=offline
        )
        result, rules, level_code = computed.result, computed.rules, computed.level_code
    check_payable(ctx, receipt, result)
    if computed is not None and computed.certificates.any:
        if soft is not None and calculated_for(soft, ctx, receipt):
            check_as_calculated(soft.result, computed.certificates)
        caller = ctx.caller
        commit_certificates(
            session, tenant_id=caller.tenant_id, receipt_id=row.id, store_id=caller.store_id,
            pos_id=caller.pos_id, sold=computed.certificates.sold,
            paid=computed.certificates.paid, at=at, now=now,
        )  # fmt: skip
        sold_sum = sum((line.final_amount for line in result.lines
                        if line.number in computed.certificates.sold_lines), ZERO)  # fmt: skip
    else:
        sold_sum = ZERO

    after = None
    if account is not None:
        snapshot = AccountSnapshot(account.id, account.balance, lots)
        plan = plan_sale(
            snapshot,
            bonus_payment=result.write_off, accrual=result.accrual, bonus=rules.bonus,
            sold_at=at, local_date=row.local_date, final_amount=result.final_amount - sold_sum,
            now=now,
            campaigns=[CampaignPoints(e.promotion, e.amount, e.activation_delay_days,
                                      e.lifetime_days) for e in result.extra_bonuses],
        )  # fmt: skip
        after = balances_after(snapshot, plan, now)  # before the writer changes the lots
        _write_plan(session, row, account, lots, plan, now)
        record_stamps(session, ctx, account.id, result)
    row.offline = offline
    coupons = computed.coupons if computed is not None else NO_COUPONS
    redeem(session, ctx.caller.tenant_id, coupons, receipt_id=row.id,
           customer_id=row.customer_id, at=at)  # fmt: skip
    notes.extend(coupons.notes())
    if computed is not None:
        issue_for_receipt(
            session, store_id=ctx.caller.store_id, receipt_id=row.id,
            transaction_id=row.transaction_id, customer_id=row.customer_id,
            given=_gifts_given(computed), now=now,
        )  # fmt: skip
    committed = replace(
        finish_receipt(session, row, receipt, result, rules, level_code, notes),
        coupons=coupons.used, balances=after,
    )  # fmt: skip
    if computed is None or not computed.certificates.any:
        return committed
    return replace(committed, certificates=receipt_certificates(session, row.id))


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
    for campaign in plan.campaigns:
        lot = campaign.lot
        post_credit(
            session, account, lot.amount, lot.remaining, PostingKind.CAMPAIGN, now=now,
            activates_at=lot.activates_at, expires_at=lot.expires_at, operation=operation,
            reason=f"Акция {campaign.promotion}",
        )  # fmt: skip
    record_purchase(session, account.id, plan.purchase_date, plan.purchase_amount, 1, operation)


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

"""Promotions and the database for one receipt: the facts their conditions need (the store's
wall clock, the customer's birthday, registration, questionnaire fields and card series, the
cumulative purchases of the level window, the first purchase under each promotion, the look-back
purchases, what their usage limits leave) — read only for what the promotions in force ask —
and, on commit, the usage counters claimed under their row locks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processing.cards.models import Card, CardTemplate
from processing.customers.models import Customer
from processing.db import insert_ignore, lock_rows
from processing.engine.model import PromotionFacts, Result
from processing.engine.model import ReceiptLine as EngineLine
from processing.levels.compute import LevelDecision
from processing.money import UNIT, proportional_share, to_kopecks
from processing.programs.models import Program, ProgramVersion
from processing.promotions.book import PromotionBook
from processing.promotions.models import PromotionUsage, ReceiptPromotion
from processing.promotions.rules import STANDARD_CONDITION_FIELDS, Promotion, parse_promotion
from processing.promotions.segments import customer_segments
from processing.promotions.stamps import change_stamps, stamps_on
from processing.receipts.claims import wall_clock
from processing.receipts.inputs import LineInput, PosContext, ReceiptInput
from processing.receipts.models import Receipt, ReceiptLine
from processing.receipts.rows import with_catalog
from processing.validation import InvalidProgramRules


def promotion_facts(
    session: Session,
    ctx: PosContext,
    book: PromotionBook,
    card: Card | None,
    level: LevelDecision | None,
    at: datetime,
    exclude: frozenset[str] = frozenset(),
    payments: frozenset[str] = frozenset(),
) -> PromotionFacts:
    """``exclude``: promotions a commit found used up under their locks; ``payments``: the
    receipt's payment kinds."""
    moment = wall_clock(ctx.caller.timezone, at)
    exhausted, budget_left = _usage(session, ctx, book, card.account_id if card else None)
    exhausted |= exclude
    needs = [p for p in book.promotions if p.needs_customer]
    if card is None or not needs:
        return PromotionFacts(
            local_time=moment, payments=payments, exhausted=exhausted, budget_left=budget_left
        )
    customer = session.get(Customer, card.customer_id) if card.customer_id else None
    template = session.get(CardTemplate, card.template_id) if card.template_id else None
    fields: dict[str, str | bool] = {}
    if customer is not None:
        fields = {name: getattr(customer, name) for name in STANDARD_CONDITION_FIELDS
                  if getattr(customer, name) is not None}  # fmt: skip
        fields.update({str(k): v for k, v in (customer.extra or {}).items()})
    first = [p.code for p in needs if p.customer.first_purchase_within_days is not None]
    lookback = [p for p in needs if p.customer.previous_purchase is not None]
    account_id = card.account_id
    return PromotionFacts(
        local_time=moment,
        payments=payments,
        card_template=template.code if template else None,
        birthday=customer.birth_date if customer else None,
        registered_on=(
            wall_clock(ctx.caller.timezone, customer.created_at).date()
            if customer is not None
            else None
        ),
        cumulative=level.value if level is not None else None,
        segments=(
            customer_segments(session, customer.id)
            if customer is not None and any(p.customer.segments for p in needs)
            else frozenset()
        ),
        fields=fields,
        first_purchases=(
            _first_purchases(session, ctx, account_id, first) if first and account_id else {}
        ),
        previous_purchases=(
            _looked_back(session, ctx.caller.tenant_id, book, account_id, moment.date(), lookback)
            if lookback and account_id
            else frozenset()
        ),
        exhausted=exhausted,
        budget_left=budget_left,
        stamps=stamps_now(session, ctx, book, account_id) if account_id else {},
    )


def _program_ids(session: Session, ctx: PosContext, codes: list[str]) -> dict[str, int]:
    """The tenant's program ids by promotion code."""
    if not codes:
        return {}
    rows = session.execute(
        select(Program.code, Program.id).where(
            Program.tenant_id == ctx.caller.tenant_id, Program.code.in_(codes)
        )
    ).all()
    return {code: program_id for code, program_id in rows}


def stamps_now(
    session: Session, ctx: PosContext, book: PromotionBook, account_id: int
) -> dict[str, int]:
    """The stamps on the account for the book's stamps promotions."""
    codes = [p.code for p in book.promotions if p.reward.kind == "stamps"]
    return stamps_on(session, account_id, _program_ids(session, ctx, codes))


def stamps_current(
    session: Session, ctx: PosContext, book: PromotionBook, account_id: int, result: Result
) -> bool:
    """Whether a stored soft result counted from the stamps the card has now (another receipt
    of the card may have changed them since)."""
    if not result.stamps:
        return True
    now = stamps_now(session, ctx, book, account_id)
    return all(now.get(card.promotion, 0) == card.before for card in result.stamps)


def record_stamps(session: Session, ctx: PosContext, account_id: int, result: Result) -> None:
    """A commit's change of the card's stamps (the caller holds the account's lock)."""
    if not result.stamps:
        return
    ids = _program_ids(session, ctx, [card.promotion for card in result.stamps])
    change_stamps(session, account_id, [(ids[c.promotion], c.delta) for c in result.stamps])


def _usage(
    session: Session, ctx: PosContext, book: PromotionBook, account_id: int | None
) -> tuple[frozenset[str], dict[str, int]]:
    """Promotions used up (in all, or by this account) and the budgets left, in kopecks."""
    counted = {p.code: p.limits for p in book.promotions if p.limits.counted}
    per_customer = {p.code: p.limits.per_customer for p in book.promotions
                    if p.limits.per_customer is not None}  # fmt: skip
    exhausted: set[str] = set()
    left: dict[str, int] = {}
    if counted:
        rows = session.execute(
            select(Program.code, PromotionUsage.uses, PromotionUsage.spent)
            .join(PromotionUsage, PromotionUsage.program_id == Program.id)
            .where(Program.tenant_id == ctx.caller.tenant_id, Program.code.in_(list(counted)))
        ).all()
        for code, uses, spent in rows:
            limits = counted[code]
            if limits.total is not None and uses >= limits.total:
                exhausted.add(code)
            if limits.budget is not None:
                left[code] = limits.budget - to_kopecks(spent)
        for code, limits in counted.items():
            if limits.budget is not None:
                left.setdefault(code, limits.budget)
    if per_customer and account_id is not None:
        for code, used in _uses_by_account(session, ctx, account_id, list(per_customer)):
            if used >= per_customer[code]:
                exhausted.add(code)
    return frozenset(exhausted), left


def _uses_by_account(
    session: Session, ctx: PosContext, account_id: int, codes: list[str]
) -> list[tuple[str, int]]:
    rows = session.execute(_by_promotion(func.count(), ctx, account_id, codes))
    return [(code, int(count)) for code, count in rows.all()]


def claim_usage(
    session: Session, ctx: PosContext, book: PromotionBook, result: Result
) -> frozenset[str]:
    """Count the commit's uses of promotions with a total or budget limit, each counter row
    locked (in program order: no deadlock between two commits); the promotions a concurrent
    commit used up meanwhile are returned, counting nothing, for the caller to recompute
    without them."""
    limits = {p.code: p.limits for p in book.promotions if p.limits.counted}
    used = {o.code: o for o in result.promotions if o.applied and o.code in limits}
    if not used:
        return frozenset()
    ids = _program_ids(session, ctx, list(used))
    insert_ignore(session, PromotionUsage, [{"program_id": i} for i in ids.values()],
                  ["program_id"])  # fmt: skip
    rows = session.scalars(
        lock_rows(
            select(PromotionUsage)
            .where(PromotionUsage.program_id.in_(list(ids.values())))
            .order_by(PromotionUsage.program_id)
        )
    ).all()
    by_id = {row.program_id: row for row in rows}
    refused = set()
    for code, outcome in used.items():
        row, limit = by_id[ids[code]], limits[code]
        given = outcome.discount + outcome.bonus
        if (limit.total is not None and row.uses >= limit.total) or (
            limit.budget is not None and to_kopecks(row.spent + given) > limit.budget
        ):
            refused.add(code)
    if refused:
        return frozenset(refused)
    for code, outcome in used.items():
        row = by_id[ids[code]]
        row.uses += 1
        row.spent += outcome.discount + outcome.bonus
    session.flush()
    return frozenset()


def _first_purchases(
    session: Session, ctx: PosContext, account_id: int, codes: list[str]
) -> dict[str, date]:
    """The local date of the account's first receipt under each promotion (by its code)."""
    rows = session.execute(_by_promotion(func.min(Receipt.local_date), ctx, account_id, codes))
    return {code: first for code, first in rows.all()}


def _by_promotion(value: Any, ctx: PosContext, account_id: int, codes: list[str]) -> Any:
    """``value`` over the account's committed receipts per promotion code."""
    return (
        select(Program.code, value)
        .select_from(ReceiptPromotion)
        .join(Receipt, Receipt.id == ReceiptPromotion.receipt_id)
        .join(ProgramVersion, ProgramVersion.id == ReceiptPromotion.version_id)
        .join(Program, Program.id == ProgramVersion.program_id)
        .where(
            Receipt.account_id == account_id,
            Receipt.status == "committed",
            Program.tenant_id == ctx.caller.tenant_id,
            Program.code.in_(codes),
        )
        .group_by(Program.code)
    )


def _looked_back(
    session: Session,
    tenant_id: int,
    book: PromotionBook,
    account_id: int,
    today: date,
    promotions: list[Promotion],
) -> frozenset[str]:
    """The promotions whose look-back goods the account bought within their period and kept
    (not all returned): each line seen as a sale sees it, with the catalog's groups, brand and
    supplier, at its unit price."""
    lookbacks = [(p, p.customer.previous_purchase) for p in promotions]
    longest = max(lookback.days for _, lookback in lookbacks if lookback is not None)
    bought = session.execute(
        select(ReceiptLine.goods_id, ReceiptLine.barcode, ReceiptLine.price,
               func.max(Receipt.local_date))
        .join(Receipt, Receipt.id == ReceiptLine.receipt_id)
        .where(
            Receipt.account_id == account_id,
            Receipt.kind == "sale",
            Receipt.status == "committed",
            Receipt.local_date >= today - timedelta(days=longest),
            ReceiptLine.final_amount > Decimal(0),
            ReceiptLine.returned_quantity < ReceiptLine.quantity,
        )
        .group_by(ReceiptLine.goods_id, ReceiptLine.barcode, ReceiptLine.price)
    ).all()  # fmt: skip
    if not bought:
        return frozenset()
    seen = _seen(
        session, tenant_id, [(goods, barcode, price) for goods, barcode, price, _ in bought]
    )
    masks = [_mask(book, line) for line in seen]
    met = set()
    for promotion, lookback in lookbacks:
        if lookback is None:
            continue
        bit = 1 << book.set_id(lookback.goods)
        since = today - timedelta(days=lookback.days)
        if any(row[3] >= since and mask & bit for row, mask in zip(bought, masks, strict=True)):
            met.add(promotion.code)
    return frozenset(met)


class Released(NamedTuple):
    campaign: Decimal  # campaign points to take back from the account
    points: Decimal  # points a bonus conversion spent, to give back


@dataclass(frozen=True)
class ReturnedPart:
    """What one return (or a rollback: ``everything``) takes back of a receipt: money refunded
    by line number, and each promotion's discount on the returned units (from the lines'
    explanations), by promotion code. The units returned are on the receipt's lines."""

    money: Mapping[int, Decimal]
    discount: Mapping[str, Decimal]
    last: bool  # the receipt is now returned in full: all that is left goes back

    @classmethod
    def everything(cls) -> ReturnedPart:
        return cls({}, {}, True)


def release_on_return(
    session: Session, tenant_id: int, receipt_id: int, part: ReturnedPart
) -> Released:
    """What a return gives back of the promotions a receipt used, each by the returned units it
    was given for: its discount on them (for its budget), its campaign points by the money
    refunded on the goods they were given for, its stamps by the returned units of the goods
    that put them on the card, a bonus conversion the points of its discount on them; the
    receipt's last return all that is left. The usage counter is restored (the use itself on
    the last return)."""
    locked = lock_rows(
        select(ReceiptPromotion)
        .join(ProgramVersion, ProgramVersion.id == ReceiptPromotion.version_id)
        .join(Program, Program.id == ProgramVersion.program_id)
        .where(ReceiptPromotion.receipt_id == receipt_id),
        of=ReceiptPromotion,
    )
    used = session.execute(
        locked.add_columns(ProgramVersion.program_id, Program.code, ProgramVersion.rules)
    ).all()
    if not used:
        return Released(Decimal("0.00"), Decimal("0.00"))
    lines: Sequence[ReceiptLine] = ()
    seen: Sequence[EngineLine] = ()
    if not part.last and any(row.bonus or row.stamps for row, *_ in used):
        lines = session.scalars(
            select(ReceiptLine).where(ReceiptLine.receipt_id == receipt_id)
        ).all()
        seen = _seen(session, tenant_id, [(line.goods_id, line.barcode, line.price)
                                          for line in lines])  # fmt: skip
    # the units returned so far, this return's included (the return has counted them)
    returned_units = {line.line_no: line.returned_quantity for line in lines}
    counters = {
        row.program_id: row
        for row in session.scalars(
            lock_rows(
                select(PromotionUsage)
                .where(PromotionUsage.program_id.in_([program for _, program, *_ in used]))
                .order_by(PromotionUsage.program_id)
            )
        )
    }
    points = converted = Decimal("0.00")
    stamps: list[tuple[int, int]] = []
    last = part.last
    for row, program_id, code, rules in used:
        back = part.discount.get(code, Decimal(0))
        discount = row.discount - row.returned_discount if last else min(
            back, row.discount - row.returned_discount
        )  # fmt: skip
        row.returned_discount += discount
        if row.points:
            given = proportional_share(row.points, row.returned_points, back, row.discount, last)
            row.returned_points += given
            converted += given
        bonus = Decimal("0.00")
        if row.bonus or row.stamps:
            # the last return takes all that is left: no need to know which lines
            reward, trigger = _reward_lines(rules, lines, seen) if lines else ({}, {})
            if row.bonus:  # by the money refunded on the goods the points were given for
                bonus = proportional_share(
                    row.bonus, row.returned_bonus, _sum(part.money, reward),
                    sum(reward.values(), Decimal(0)), last,
                )  # fmt: skip
                row.returned_bonus += bonus
                points += bonus
            if row.stamps:  # by the returned units of the goods that put the stamps on the card
                # all the returns so far (this one included) against all the units: the same
                # stamps back however the units come back
                so_far = int(proportional_share(
                    Decimal(row.stamps), Decimal(0), _sum(returned_units, trigger),
                    sum(trigger.values(), Decimal(0)), last, UNIT,
                ))  # fmt: skip
                undone = so_far - row.returned_stamps  # negative: stamps a free unit used
                row.returned_stamps += undone
                stamps.append((program_id, -undone))
        counter = counters.get(program_id)
        if counter is not None:
            counter.spent = max(Decimal("0.00"), counter.spent - discount - bonus)
            if last:
                counter.uses = max(0, counter.uses - 1)
    if stamps:
        account_id = session.scalar(select(Receipt.account_id).where(Receipt.id == receipt_id))
        if account_id is not None:
            change_stamps(session, account_id, stamps)
    session.flush()
    return Released(points, converted)


def _sum(values: Mapping[int, Decimal], lines: Mapping[int, Decimal]) -> Decimal:
    """The values of the given lines (by line number)."""
    return sum((values.get(number, Decimal(0)) for number in lines), Decimal(0))


def _seen(
    session: Session, tenant_id: int, refs: Sequence[tuple[str, str | None, Decimal]]
) -> tuple[EngineLine, ...]:
    """Stored lines' goods (id, barcode, unit price) as a sale sees them: the catalog's facts."""
    lines = tuple(
        LineInput(number=i, goods_id=goods_id, quantity=UNIT, price=price, amount=price,
                  barcode=barcode)
        for i, (goods_id, barcode, price) in enumerate(refs, start=1)
    )  # fmt: skip
    receipt = ReceiptInput(cashier_code="", shift="", number="", lines=lines)
    return with_catalog(session, tenant_id, receipt).lines


def _mask(book: PromotionBook, line: EngineLine) -> int:
    """The goods sets of ``book`` that cover a line, as the engine finds them."""
    return book.coverage(
        line.goods_id, line.group_ids, line.brand_id, line.supplier_id, to_kopecks(line.price)
    )


def _reward_lines(
    rules: Any, lines: Sequence[ReceiptLine], seen: Sequence[EngineLine]
) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """Of a receipt's lines (``seen``: their goods as the sale saw them), those a promotion's
    campaign points were given for (its target goods, else its trigger goods) with the money
    paid for them, and those of its trigger goods with their units."""
    try:
        promotion = parse_promotion(rules)
    except InvalidProgramRules:  # rules saved before a stricter check: the whole receipt
        return ({line.line_no: line.final_amount for line in lines},
                {line.line_no: line.quantity for line in lines})  # fmt: skip
    book = PromotionBook([promotion])
    trigger_bit = 1 << book.set_id(promotion.receipt.goods)
    target_bit = 1 << book.set_id(promotion.reward.target or promotion.receipt.goods)
    reward: dict[int, Decimal] = {}
    trigger: dict[int, Decimal] = {}
    for line, engine_line in zip(lines, seen, strict=True):
        mask = _mask(book, engine_line)
        if mask & target_bit:
            reward[line.line_no] = line.final_amount
        if mask & trigger_bit:
            trigger[line.line_no] = line.quantity
    return reward, trigger

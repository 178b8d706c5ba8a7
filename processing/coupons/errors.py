"""The refusals of coupon operations: stable codes, Russian messages a cashier or a marketer can
act on. The reasons a coupon cannot be used now (``CouponUnusable`` and its subclasses) are both
raised (take, redeem) and answered by a check."""

from __future__ import annotations

from processing.errors import Conflict, InvalidInput, NotFound, Refused


class CouponSeriesNotFound(NotFound):
    code = "COUPON_SERIES_NOT_FOUND"
    message = "Серия купонов не найдена."


class CouponNotFound(NotFound):
    code = "COUPON_NOT_FOUND"
    message = "Купон не найден: проверьте код."


class CouponBatchTooLarge(InvalidInput):
    code = "COUPON_BATCH_TOO_LARGE"
    message = "Слишком много купонов за один раз."


class CouponCodeSpaceTooSmall(Refused):
    code = "COUPON_CODE_SPACE_TOO_SMALL"
    message = (
        "Формат кода серии слишком мал для такого количества купонов: коды стало бы легко "
        "угадать. Увеличьте длину кода или уменьшите количество."
    )


class CouponCodeInvalid(InvalidInput):
    code = "COUPON_CODE_INVALID"
    message = "Коды купонов не соответствуют формату серии."


class CouponCodesDuplicate(Conflict):
    code = "COUPON_CODES_DUPLICATE"
    message = "Коды купонов повторяются или уже есть в сети."


class CouponTransitionRefused(Refused):
    code = "COUPON_TRANSITION_REFUSED"
    message = "Такая смена состояния купона невозможна."


class CouponUnusable(Refused):
    """Why a coupon cannot be used now (each reason has its own code)."""

    message = "Купон сейчас нельзя использовать."


class CouponNotIssued(CouponUnusable):
    code = "COUPON_NOT_ISSUED"
    message = "Купон ещё не выдан покупателю и не действует."


class CouponCancelled(CouponUnusable):
    code = "COUPON_CANCELLED"
    message = "Купон аннулирован и не действует."


class CouponExpired(CouponUnusable):
    code = "COUPON_EXPIRED"
    message = "Срок действия купона истёк."


class CouponNotYetValid(CouponUnusable):
    code = "COUPON_NOT_YET_VALID"
    message = "Срок действия купона ещё не начался."


class CouponSeriesClosed(CouponUnusable):
    code = "COUPON_SERIES_CLOSED"
    message = "Серия купонов закрыта: купон не действует."


class CouponUsedUp(CouponUnusable):
    code = "COUPON_USED_UP"
    message = "Купон уже использован."


class CouponCustomerRequired(CouponUnusable):
    code = "COUPON_CUSTOMER_REQUIRED"
    message = "Купон именной: предъявите карту или назовите телефон владельца купона."


class CouponWrongCustomer(CouponUnusable):
    code = "COUPON_WRONG_CUSTOMER"
    message = "Купон именной и выдан другому покупателю."


class CouponOnePerReceipt(CouponUnusable):
    code = "COUPON_ONE_PER_RECEIPT"
    message = "Купон не суммируется с другими купонами чека: по условиям — один купон на чек."


class CouponSamePromotion(CouponUnusable):
    code = "COUPON_SAME_PROMOTION"
    message = "В чеке уже есть купон этой акции: акция применяется один раз."


class CouponNoPromotion(CouponUnusable):
    code = "COUPON_NO_PROMOTION"
    message = "Купон не привязан к акции: на кассе он ничего не даёт."


class CouponPromotionInactive(CouponUnusable):
    code = "COUPON_PROMOTION_INACTIVE"
    message = "Акция купона сейчас не действует в этом магазине."


class CouponNotNeeded(CouponUnusable):
    code = "COUPON_NOT_NEEDED"
    message = "Акция купона действует и без купона: купон не списан."


class CouponNotApplied(CouponUnusable):
    """The coupon could be used, its promotion did not apply: the promotion's reason is told."""

    code = "COUPON_NOT_APPLIED"
    message = "Условия акции купона не выполнены."

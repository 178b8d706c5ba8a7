"""The refusals of certificate operations: stable codes, Russian messages an accountant or a
cashier can act on. The reasons a certificate cannot be redeemed now (``CertificateUnusable``
and its subclasses) are answered by the POS check and will be raised by the redemption."""

from __future__ import annotations

from processing.errors import Conflict, Forbidden, InvalidInput, NotFound, Refused


class CertificateSeriesNotFound(NotFound):
    code = "CERTIFICATE_SERIES_NOT_FOUND"
    message = "Серия сертификатов не найдена."


class CertificateNotFound(NotFound):
    code = "CERTIFICATE_NOT_FOUND"
    message = "Сертификат не найден: проверьте код."


class CertificateDocumentNotFound(NotFound):
    code = "CERTIFICATE_DOCUMENT_NOT_FOUND"
    message = "Документ движения сертификатов не найден."


class CertificateBatchTooLarge(InvalidInput):
    code = "CERTIFICATE_BATCH_TOO_LARGE"
    message = "Слишком много сертификатов за один раз."


class CertificateCodeSpaceTooSmall(Refused):
    code = "CERTIFICATE_CODE_SPACE_TOO_SMALL"
    message = (
        "Формат кода серии слишком мал для такого количества сертификатов: коды стало бы легко "
        "угадать. Увеличьте длину кода или уменьшите количество."
    )


class CertificateSeriesClosed(Refused):
    code = "CERTIFICATE_SERIES_CLOSED"
    message = "Серия сертификатов закрыта: новые сертификаты не создаются и не выдаются в магазины."


class CertificateWrongStatus(Refused):
    code = "CERTIFICATE_WRONG_STATUS"
    message = "Сертификаты в таком статусе нельзя провести этим документом."


class CertificateNotAtSource(Refused):
    code = "CERTIFICATE_NOT_AT_SOURCE"
    message = "Сертификаты находятся не там, откуда их перемещает документ."


class CertificateDocumentConflict(Conflict):
    code = "CERTIFICATE_DOCUMENT_CONFLICT"
    message = (
        "Документ с таким номером уже проведён с другим содержанием. Укажите другой номер "
        "или повторите исходный документ без изменений."
    )


class CertificateWithdrawForbidden(Forbidden):
    code = "CERTIFICATE_WITHDRAW_FORBIDDEN"
    message = "Списывать сертификаты может только пользователь с правом списания."


class CertificateUnusable(Refused):
    """Why a certificate cannot be redeemed now (each reason has its own code)."""

    message = "Сертификат сейчас нельзя принять в оплату."


class CertificateNotSold(CertificateUnusable):
    code = "CERTIFICATE_NOT_SOLD"
    message = "Сертификат не продан (или списан): принять его в оплату нельзя."


class CertificateExpired(CertificateUnusable):
    code = "CERTIFICATE_EXPIRED"
    message = "Срок действия сертификата истёк."


class CertificateUsedUp(CertificateUnusable):
    code = "CERTIFICATE_USED_UP"
    message = "На сертификате не осталось средств."


class CertificateOutOfScope(CertificateUnusable):
    code = "CERTIFICATE_OUT_OF_SCOPE"
    message = "Сертификат принимается только там, где он продан: в этой кассе или магазине — нет."


class CertificateNotAtPos(Refused):
    code = "CERTIFICATE_NOT_AT_POS"
    message = (
        "Этого сертификата нет в кассе: продать можно только сертификат, выданный на эту кассу "
        "документом перемещения."
    )


class CertificateSaleInvalid(InvalidInput):
    code = "CERTIFICATE_SALE_INVALID"
    message = "Строка продажи сертификата заполнена неверно."


class CertificateNotEnough(CertificateUnusable):
    code = "CERTIFICATE_NOT_ENOUGH"
    message = "На сертификате меньше средств, чем указано к оплате."


class CertificateNothingToPay(CertificateUnusable):
    code = "CERTIFICATE_NOTHING_TO_PAY"
    message = "Чек уже оплачен полностью: сертификат не нужен."


class CertificateRepeated(CertificateUnusable):
    code = "CERTIFICATE_REPEATED"
    message = "Этот сертификат уже указан в оплате чека."


class CertificateAlreadyUsed(Refused):
    code = "CERTIFICATE_ALREADY_USED"
    message = (
        "Сертификатом уже расплачивались: вернуть его продажу (или отменить чек продажи) нельзя."
    )


class CertificateNeedsOnline(Refused):
    code = "CERTIFICATE_NEEDS_ONLINE"
    message = (
        "Продажа и приём сертификатов — только при связи с сервером лояльности: офлайн-чек с "
        "сертификатом не принят."
    )


class CertificateChanged(Refused):
    code = "CERTIFICATE_CHANGED"
    message = (
        "Остаток сертификата изменился после расчёта чека (им расплатились на другой кассе): "
        "пересчитайте чек."
    )

"""Russian phone numbers, normalised to ``+7XXXXXXXXXX``.

Cashiers and 1C forms type numbers as ``8 (916) 123-45-67``, ``+7 916 123 45 67`` or
``9161234567``; all of them are the same customer.
"""

from __future__ import annotations

import re

from processing.errors import InvalidInput


class InvalidPhone(InvalidInput):
    code = "INVALID_PHONE"
    message = "Неверный номер телефона. Укажите 10 цифр после +7, например +7 916 123-45-67."


_SEPARATORS = re.compile(r"[\s()\-.]")


def normalise_phone(raw: str) -> str:
    text = _SEPARATORS.sub("", raw.strip())
    if text.startswith("+7"):
        digits = text[2:]
    elif text.startswith("+"):
        raise InvalidPhone(details={"phone": raw})
    elif len(text) == 11 and text[:1] in ("7", "8"):
        digits = text[1:]
    else:
        digits = text
    if len(digits) != 10 or not digits.isdigit():
        raise InvalidPhone(details={"phone": raw})
    return "+7" + digits

"""Card numbers: check digits (Luhn, EAN-13) and building a number from a template."""

from __future__ import annotations

CHECK_DIGITS = ("luhn", "ean13", "none")


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        digit = int(ch)
        if i % 2 == 0:  # doubled: these become every second digit once the check is appended
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def ean13_digit(body: str) -> str:
    """GS1 check digit of a 12-digit body (weights 1, 3 from the left)."""
    total = sum(int(ch) * (3 if i % 2 else 1) for i, ch in enumerate(body))
    return str((10 - total % 10) % 10)


def check_digit(algorithm: str, body: str) -> str:
    if algorithm == "luhn":
        return luhn_digit(body)
    if algorithm == "ean13":
        return ean13_digit(body)
    return ""


def build_number(prefix: str, serial: int, length: int, algorithm: str) -> str:
    """prefix + zero-padded serial + check digit, ``length`` digits in all."""
    body_length = length - (0 if algorithm == "none" else 1)
    body = f"{prefix}{serial:0{body_length - len(prefix)}d}"
    if len(body) != body_length:
        raise ValueError("serial does not fit the template's number length")
    return body + check_digit(algorithm, body)


def has_valid_check_digit(number: str, algorithm: str) -> bool:
    if algorithm == "none":
        return number.isdigit()
    return (
        number.isdigit() and len(number) > 1 and number[-1] == check_digit(algorithm, number[:-1])
    )

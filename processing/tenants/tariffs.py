"""SaaS tariffs: the limits and features a tenant starts with (editable per tenant afterwards)."""

from __future__ import annotations

from dataclasses import dataclass

FEATURES = (
    "bonus",  # bonus accrual and payment
    "levels",  # discount levels by cumulative purchases
    "promotions",
    "coupons",
    "certificates",
    "discount_server",  # the 1C:Retail discount-server SOAP drop-in
    "messaging",  # customer notifications
)


@dataclass(frozen=True)
class Tariff:
    code: str
    title: str
    max_stores: int | None  # None: unlimited
    max_pos: int | None
    max_customers: int | None
    features: tuple[str, ...]


TARIFFS: dict[str, Tariff] = {
    tariff.code: tariff
    for tariff in (
        Tariff("start", "Стартовый", 3, 6, 5_000, ("bonus", "levels", "discount_server")),
        Tariff("network", "Сетевой", None, None, None, FEATURES),
        Tariff("informer", "Информер", 1, 2, 10_000, ("bonus", "messaging")),
    )
}
DEFAULT_TARIFF = "network"

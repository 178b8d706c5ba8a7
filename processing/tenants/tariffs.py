"""SaaS tariffs: the features a tenant may have. The presets themselves (Стартовый, Сетевой and
the Информер add-on, with their limits) are data in ``tariff_presets``, seeded by a migration; a
tenant gets a copy of its preset's limits and features, editable for that tenant alone."""

from __future__ import annotations

FEATURES = (
    "bonus",  # the bonus server: accrual and payment with bonus
    "levels",  # discounts: levels by cumulative purchases, fixed-discount cards
    "promotions",
    "coupons",
    "gifts",  # gift stock accounting
    "certificates",  # gift certificates
    "discount_server",  # the 1C:Retail discount-server SOAP drop-in
    # The Информер add-on: SMS (a monthly quota), e-mail, templates, schedule, delivery control.
    "sms",
    "email",
    "message_templates",
    "message_schedule",
    "delivery_control",
)
DEFAULT_TARIFF = "network"
TARIFFS = ("start", "network")  # the base tariffs seeded by the migration
ADDONS = ("informer",)

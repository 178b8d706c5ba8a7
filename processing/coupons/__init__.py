"""Coupons: series with their code format, validity and usage rules, code generation and import,
and each coupon's life (issued, taken, redeemed on a receipt, given back on its return,
expired, cancelled)."""

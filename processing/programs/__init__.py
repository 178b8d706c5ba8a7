"""Loyalty programs, versioned (effective from/to) and scoped to stores or store groups:
discount levels by cumulative purchases, and bonus accrual and payment rules."""

"""Loyalty cards: templates with number ranges and check digits, statuses with enforced
transitions, activation, replacement, and one virtual card per customer usable by phone."""

"""Bonus accounts and their ledger: immutable postings, bonus lots with activation and expiry,
FIFO write-offs, expiry. Balances belong to accounts; several cards may share one account."""

"""Receipts: soft calculation, fiscal commit, returns, rollbacks, offline batches, visits and
anonymous receipts; the domain side of the POS and 1C processing API."""

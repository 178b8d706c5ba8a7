"""Bonus credited outside a receipt: the welcome bonus, the birthday bonus and mass accruals to
a segment. Each is idempotent per customer and event (``EventAccrual``) and posts a lot of its
own (``PostingKind.EVENT``); background jobs in ``sync/jobs.py`` run them."""

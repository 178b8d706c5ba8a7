"""Background work: the job queue wrapper (``enqueue``), the periodic schedule, the RQ worker,
the jobs that mirror nomenclature and store structure from 1C, and the sync log.

Without ``REDIS_URL`` every job runs inline right after the commit that enqueued it; with it,
jobs go to RQ and run in ``loyalty-connector worker`` processes.
"""

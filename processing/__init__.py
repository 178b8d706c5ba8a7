"""The loyalty domain: tenants and stores, customers, cards, accounts and the ledger, programs,
promotions and certificates, and the pure calculation engine.

This package knows no transport, job queue or page: it imports none of ``connector``, ``sync``,
``mappings``, ``admin`` or ``config``. Operations take a SQLAlchemy ``Session``, flush when they
need ids and never commit; the request handler or the job is the one commit point.
"""

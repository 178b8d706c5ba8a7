"""The service's HTTP face and plumbing: the Flask app factory ``create_app()``, request ids
and structured logging, error mapping to JSON bodies, the OpenAPI docs, and the CLI
(``loyalty-connector``). ``onec_http`` holds the JSON API for 1C and POS software, ``soap`` the
SOAP services; alembic migrations live in ``migrations``.
"""

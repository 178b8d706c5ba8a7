"""Settings of the service, read from the environment with safe embedded defaults.

With no environment at all the service runs embedded: SQLite under ``var/``, jobs run inline
after the commit that enqueued them, and a demo tenant is seeded. ``DATABASE_URL`` and
``REDIS_URL`` switch to PostgreSQL (psycopg 3) and RQ on Redis for production.
"""

from config.settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]

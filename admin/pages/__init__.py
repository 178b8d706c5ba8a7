"""The admin pages (server-rendered, Russian): one module per capability, all under ``/admin``.

``site`` owns what every page shares: the blueprint, logins and sessions, CSRF, permissions, the
action log and the template filters. A page module declares its routes on ``site.pages`` with
``site.page(permission)``; ``init_pages`` installs them on the app.
"""

from __future__ import annotations

import importlib

from flask import Flask

# Each module adds its routes to the blueprint when imported.
PAGE_MODULES = (
    "login",
    "dashboard",
    "platform",
    "stores",
    "cards",
    "customers",
    "uploads",
    "questionnaire",
    "programs",
    "sync_log",
    "users",
)


def init_pages(app: Flask) -> None:
    for name in PAGE_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    from admin.pages.site import install

    install(app)

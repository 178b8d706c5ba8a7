"""The Flask app factory."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Settings, load_settings
from connector.api import init_api
from connector.db import init_sessions
from connector.errors import register_error_handlers
from connector.jsonio import ConnectorJSONProvider
from connector.logs import configure_logging, init_request_ids
from sync.runtime import RUNTIME_KEY, Runtime, activate


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the app. gunicorn calls this in each worker after the fork (no ``--preload``),
    and the engine is made on first use, so no connection crosses a fork."""
    if runtime is None:
        runtime = Runtime(settings or load_settings())
    activate(runtime)
    configure_logging(runtime.settings.log_level)

    app = Flask(__name__)
    app.json = ConnectorJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = runtime.settings.max_body_bytes
    app.extensions[RUNTIME_KEY] = runtime

    api = init_api(app)
    from connector import health
    from connector.onec_http import catalog, certificates, coupons, customers, receipts

    api.register_blueprint(health.blp)
    api.register_blueprint(receipts.blp)
    api.register_blueprint(customers.blp)
    api.register_blueprint(catalog.blp)
    api.register_blueprint(coupons.blp)
    api.register_blueprint(certificates.blp)
    from admin import erasure, pd_access_log, sync_log

    api.register_blueprint(sync_log.blp)
    api.register_blueprint(pd_access_log.blp)
    api.register_blueprint(erasure.blp)
    from admin import (
        manage_cards,
        manage_certificates,
        manage_coupons,
        manage_gifts,
        manage_programs,
        manage_settings,
        manage_stores,
    )

    for management in (
        manage_settings,
        manage_stores,
        manage_programs,
        manage_cards,
        manage_coupons,
        manage_certificates,
        manage_gifts,
    ):
        api.register_blueprint(management.blp)

    from connector.soap import discount_server, pos_processing

    app.register_blueprint(discount_server.blp)
    app.register_blueprint(pos_processing.blp)
    from connector.onec_http import exchange

    app.register_blueprint(exchange.blp)
    from admin.pages import init_pages

    init_pages(app)
    if runtime.settings.proxy_hops:
        hops = runtime.settings.proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )

    register_error_handlers(app)
    init_request_ids(app)
    init_sessions(app)
    return app

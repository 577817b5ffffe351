"""The application factory."""

from __future__ import annotations

import logging
from importlib import import_module
from pathlib import Path

from flask import Flask, g, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from registry.audit.checkpoints import CheckpointTimer, checkpoint_if_new, maybe_checkpoint
from registry.audit.service import take_reads
from registry.db import make_engine, make_session_factory
from registry.documents.copies import CopyPolicy, ViewingCopies
from registry.documents.web import SpoolingRequest
from registry.extensions import babel, csrf, login_manager
from registry.i18n import LOCALES
from registry.runtime import Runtime, check_store_lock, current_runtime, load_keyring
from registry.settings import Settings, load_settings
from registry.web.body import receive_body
from registry.web.errors import audit_unavailable, database_down, database_unavailable, refuse_response
from storage import open_store

DOMAINS = ("web", "accounts", "cases", "persons", "documents", "audit", "kinship", "restoration", "matching", "holds")
log = logging.getLogger("registry")


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    Path(settings.instance_path).mkdir(parents=True, exist_ok=True, mode=0o700)
    app = Flask(
        "registry",
        instance_path=settings.instance_path,
        root_path=str(Path(__file__).parent),
        template_folder="web/templates",
        static_folder="web/static",
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        MAX_CONTENT_LENGTH=(settings.max_upload_mb + 1) * 1024 * 1024,
        SESSION_COOKIE_NAME="__Host-registry" if settings.production else "registry_session",
        SESSION_COOKIE_SECURE=settings.production,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=0,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the server-side session
        WTF_CSRF_SSL_STRICT=settings.production,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
    )
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    uploads = str(Path(settings.instance_path) / "uploads")
    copies = ViewingCopies(
        sessions,
        lambda: runtime.store,
        CopyPolicy(uploads, children=settings.converter_children),
        threads=settings.copy_workers,
        sweep_seconds=settings.copy_sweep_seconds,
    )
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        raw_store=open_store(settings.storage_url),
        keyring=load_keyring(settings, create=not settings.production),
        viewing_copies=copies,
    )
    check_store_lock(runtime)
    if settings.audit_checkpoint_minutes:
        runtime.checkpoint_timer = CheckpointTimer(
            lambda: checkpoint_if_new(runtime), interval_seconds=settings.audit_witness_seconds
        )
    app.extensions["registry"] = runtime
    app.request_class = SpoolingRequest
    if settings.trusted_proxies:
        # Behind a reverse proxy the client address (sign-in throttling, the access log) comes from X-Forwarded-For.
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
        )  # type: ignore[method-assign]

    from registry.web import errors, headers, metrics, policy, request_log

    # Counted and logged after everything else has answered (after_request hooks run last-registered first).
    app.extensions["metrics"] = metrics.install(app, runtime, settings.metrics_token)
    request_log.configure(app, settings.log_format)
    app.before_request(policy.assign_request_id)  # before every other hook, Flask-WTF's CSRF check included
    login_manager.init_app(app)
    login_manager.session_protection = None  # sessions are server-side rows, rotated at login
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)

    from registry.api.blueprint import api

    for domain in DOMAINS:
        module = import_module(f"registry.{domain}.views")
        app.register_blueprint(module.bp)
        try:
            import_module(f"registry.{domain}.api")
        except ModuleNotFoundError as exc:
            if exc.name != f"registry.{domain}.api":
                raise
    import_module("registry.api.openapi")
    csrf.exempt(api)  # the API takes bearer tokens only, never cookies
    app.register_blueprint(api)

    app.before_request(receive_body)
    app.before_request(policy.enforce_access)
    # after_request hooks run last-registered first: commit (or refuse), then the headers.
    app.after_request(headers.apply_security_headers)
    app.after_request(_commit_or_refuse)
    app.teardown_appcontext(_close_session)
    errors.register_error_handlers(app)
    app.jinja_env.globals["locales"] = LOCALES
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
    import_module("registry.web.labels").register(app)
    return app


def _select_locale() -> str | None:
    if not has_request_context():
        return None  # command line: the default locale
    user = current_user if current_user and current_user.is_authenticated else None
    if user is not None and user.user.locale in LOCALES:
        return user.user.locale
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES)


def _commit_or_refuse(response):
    """The request decides, once: a refusal (4xx) keeps nothing of its work but its refusal event;
    anything else commits, and reads are logged before data leaves or the response is replaced."""
    session_ = g.get("db")
    if session_ is None:
        return response
    if 400 <= response.status_code < 500:
        return refuse_response(response)
    try:
        session_.commit()
    except SQLAlchemyError as error:
        log.exception("commit failed for request %s", g.get("request_id"))
        if database_down(error):
            return database_unavailable()
        session_.rollback()
        return audit_unavailable()
    _after_commit(session_)
    return response


def _after_commit(session_) -> None:
    take_reads(session_)
    seqs = session_.info.pop("audit_seqs", [])
    if seqs:
        maybe_checkpoint(current_runtime(), seqs)


def _close_session(_exc) -> None:
    session_ = g.pop("db", None)
    if session_ is not None:
        session_.close()

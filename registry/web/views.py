"""Home page, health probes, language choice."""
from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from sqlalchemy import text

from registry.i18n import LOCALES
from registry.runtime import current_runtime
from registry.web.policy import current_actor, public, safe_next

bp = Blueprint("web", __name__, template_folder="templates")


@bp.get("/")
@public
def index():
    actor = current_actor()
    return render_template("index.html", actor=actor)


@bp.get("/healthz")
@public
def healthz():
    """The process is up (no dependency is touched)."""
    return jsonify(status="ok")


@bp.get("/readyz")
@public
def readyz():
    """The database and the object store answer; 503 names the part that does not."""
    runtime = current_runtime()
    failing: dict[str, str] = {}
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ready"
        failing["database"] = type(exc).__name__
    try:
        runtime.raw_store.health()
    except Exception as exc:
        failing["storage"] = type(exc).__name__
    worm = runtime.worm.status if runtime.worm else "unavailable"
    if failing:
        return jsonify(status="unavailable", failing=failing, worm=worm), 503
    return jsonify(status="ready", worm=worm)


@bp.post("/language")
@public
def choose_language():
    chosen = request.form.get("locale", "")
    if chosen in LOCALES:
        session["locale"] = chosen
    return redirect(safe_next(request.form.get("next")) or url_for("web.index"))

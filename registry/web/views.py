"""Home page and each role's work page, health probes, language choice.

``/`` is public, so the gate does not run for it: it shows nothing of anyone and sends signed-in staff on to
their work page, a guarded route like any other (second factor, permission, the NDA first). A work page
shows what waits for the role, read through the domains' services, so every person it names is logged as
read by the same events as on the full lists it links to.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from registry.accounts import duties
from registry.accounts import service as accounts
from registry.accounts.models import RoleChangeStatus
from registry.accounts.permissions import Permission, Role
from registry.audit import reports
from registry.audit.events import Action
from registry.audit.service import record
from registry.audit.views import references
from registry.cases import service as cases
from registry.i18n import LOCALES, _
from registry.kinship import labels as kinship_labels
from registry.kinship import service as kinship
from registry.persons import service as persons
from registry.restoration import labels as restoration_labels
from registry.restoration import service as restorations
from registry.runtime import current_runtime, db
from registry.web.forms import render_form
from registry.web.policy import current_actor, public, requires, safe_next

bp = Blueprint("web", __name__, template_folder="templates")

WORK_ROWS = 15  # rows per list on a work page: the full lists are one link away
# Each role's work page, in the order a member of several roles is sent to them.
WORK_PAGES = {
    Role.CLERK: "web.clerk_work",
    Role.LAWYER: "web.case_work",
    Role.CASEWORKER: "web.case_work",
    Role.AUDITOR: "web.audit_work",
    Role.ADMIN: "web.admin_work",
}
WORK_PAGE_TITLES = {
    "web.clerk_work": _("Registry work"),
    "web.case_work": _("My cases"),
    "web.audit_work": _("Audit work"),
    "web.admin_work": _("Administration"),
}


def work_pages(roles: Iterable[Role]) -> list[str]:
    held = set(roles)
    return list(dict.fromkeys(endpoint for role, endpoint in WORK_PAGES.items() if role in held))


@bp.context_processor
def _work_pages() -> dict:
    """Every work page links to the others of a member of several roles."""
    return {"work_pages": [(e, WORK_PAGE_TITLES[e]) for e in work_pages(current_actor().roles)], "work_rows": WORK_ROWS}


@bp.get("/")
@public
def index():
    """The registry's public face; signed-in staff go on to their work page (or, with no role yet, their account)."""
    if current_user.is_authenticated:
        pages = work_pages(current_user.user.roles)
        return redirect(url_for(pages[0] if pages else "accounts.my_account"))
    return render_template("index.html")


@bp.get("/work/registry")
@requires(Permission.PERSON_WRITE)
def clerk_work():
    """A clerk's day: their open restorations, the overdue ones and those waiting for evidence; the newest
    registrations."""
    actor = current_actor()
    work = restorations.work_list(db(), actor, limit=WORK_ROWS)
    newest = persons.search_persons(db(), actor, "", 1, WORK_ROWS)
    people, users = restorations.context_for(db(), work.mine + work.overdue + work.waiting_for_evidence)
    return render_form(
        "work/clerk.html",
        work=work,
        newest=newest,
        persons=people,
        users=users,
        is_overdue=restorations.is_overdue,
        wanted=restoration_labels.WANTED_LABELS,
        reasons=restoration_labels.REASON_LABELS,
        statuses=restoration_labels.STATUS_LABELS,
    )


@bp.get("/work/cases")
@requires(Permission.CASE_READ)
def case_work():
    """A lawyer's or caseworker's cases; for those who attach kinship evidence, the claims waiting for it."""
    actor = current_actor()
    lists = kinship.kinship_lists(db(), actor, limit=WORK_ROWS) if actor.can(Permission.KINSHIP_WRITE) else None
    return render_form(
        "work/cases.html",
        cases=cases.cases_for(db(), actor),
        lists=lists,
        kinds=kinship_labels.KIND_LABELS,
        statuses=kinship_labels.STATUS_LABELS,
    )


@bp.get("/work/audit")
@requires(Permission.AUDIT_READ)
def audit_work():
    """An auditor's first look: how many anomalies of each kind, the latest emergency accesses, waiting role
    proposals, and a person's access report by registry number."""
    actor = current_actor()
    found = reports.find_anomalies(db(), actor)
    grants = cases.list_emergency_access(db(), limit=WORK_ROWS)
    record(
        db(),
        actor,
        Action.AUDIT_READ,
        target_type="emergency_access",
        person_ids=[grant.person_id for grant, _user in grants],
    )
    return render_form(
        "work/audit.html",
        found=found,
        grants=grants,
        refs=references((), [grant.person_id for grant, _user in grants]),
        pending=len(duties.pending_by_user(db())),
    )


@bp.get("/work/admin")
@requires(Permission.USER_MANAGE)
def admin_work():
    """An administrator's queue: role proposals waiting for a second administrator, accounts whose owner has
    not used their set-up link yet. Staff accounts only: nothing of a registered person."""
    waiting = [p for p in duties.list_role_changes(db()) if p.status == RoleChangeStatus.PENDING]
    not_set_up = duties.awaiting_setup(db())
    return render_form(
        "work/admin.html",
        proposals=waiting,
        me=current_actor().user_id,
        not_set_up=[u for u in accounts.list_users(db()) if u.id in not_set_up],
    )


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

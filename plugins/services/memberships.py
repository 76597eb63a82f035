"""Memberships per service (SPEC RAT-2, RAT-3, RAT-6): the services a request names, those a manager grants,
and a status per (membership, service), written in the core's transactions through its events.

Which structures offer the choice: those with an active service other than FACTURES_PUBLIQUES. Every
structure has FACTURES_PUBLIQUES (SRV-3), so "a structure with services" (guide, RAT-1, RAT-3) can only
mean one with services of its own; then FACTURES_PUBLIQUES is offered too, as one of its active services.
Ticking no service means the whole structure ("Rattacher à la structure", RAT-6).
"""
from __future__ import annotations

from markupsafe import Markup, escape
from sqlalchemy import delete, func, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from wtforms import SelectMultipleField
from wtforms.fields.choices import SelectChoice

from chorus import clock
from chorus.accounts.models import User
from chorus.database import in_ids, insert_returning_ids
from chorus.events import Refused
from chorus.extensions import db
from chorus.memberships.models import Membership, MembershipStatus

from . import services
from .models import MembershipService, Service, ServiceStatus, code_key

WHOLE_STRUCTURE = "Toute la structure"
FIELD = "services"


class ServiceCheckboxes:
    """Checkboxes, one per service, each with its label and its status; a validated one is checked, greyed
    and cannot be changed (RAT-3: it is disabled, so never posted: the rules keep it)."""

    def __call__(self, field, **kwargs):
        described = kwargs.get("aria-describedby") or kwargs.get("aria_describedby")
        items = []
        for i, choice in enumerate(field.iter_choices()):
            attrs = {"type": "checkbox", "name": field.name, "value": choice.value, "id": f"{field.id}-{i}"}
            if choice.selected:
                attrs["checked"] = True
            attrs.update(choice.render_kw or {})
            rendered = " ".join(k if v is True else f'{k}="{escape(v)}"' for k, v in attrs.items() if v)
            items.append(f'<li><label><input {rendered}> {escape(choice.label)}</label></li>')
        describedby = f' aria-describedby="{escape(described)}"' if described else ""
        # A group named like the field: the core's macro writes a <label for> that a list cannot take.
        return Markup(f'<div id="{field.id}" role="group" aria-label="{escape(field.label.text)}"{describedby}>'
                      f'<ul class="checkboxes">{"".join(items)}</ul></div>')


class ServicesField(SelectMultipleField):
    widget = ServiceCheckboxes()


def own_services(structure_id: int, limit: int = 500) -> list[Service]:
    """The services of a structure other than FACTURES_PUBLIQUES (the "Service" criterion of the lists)."""
    return db.session.execute(services.of_structure(structure_id).where(Service.is_default.is_(False))
                              .limit(limit)).scalars().all()


def offered(structure_id: int) -> list[Service]:
    """The services a request or a decision may name: the active ones, if the structure has its own."""
    if not services.has_own_services(structure_id, active_only=True):
        return []
    return services.active_services(structure_id)


def statuses(membership_id: int | None) -> dict[int, str]:
    if not membership_id:
        return {}
    return dict(db.session.execute(select(MembershipService.service_id, MembershipService.status).where(
        MembershipService.membership_id == membership_id)).all())


def _choices(available: list[Service], status_of: dict[int, str]) -> list[SelectChoice]:
    out = []
    for s in available:
        status = status_of.get(s.id)
        label = f"{s.code} — {s.label}" + (f" ({ServiceStatus(status).label})" if status else "")
        locked = status == ServiceStatus.VALIDATED
        out.append(SelectChoice(s.id, label, render_kw={"disabled": True} if locked else {}))
    return out


def form_fields(form: str, context: dict) -> dict | None:
    """The "Services" checkboxes of the request, decision and attachment forms (RAT-1, RAT-3, RAT-6)."""
    if form == "membership_request" and context.get("structure") is not None:
        available = offered(context["structure"].id)
        if available:
            return {FIELD: ServicesField("Services demandés", coerce=int, choices=_choices(available, {}),
                                         description="Cochez les services où vous intervenez ; ne cochez rien "
                                                     "pour demander un rattachement à toute la structure.")}
    if form == "membership_decision":
        m = context["membership"]
        available = offered(m.structure_id)
        if available:
            status_of = statuses(m.id)
            # RAT-3: checked by default, the services asked ("En cours de validation") and those validated.
            default = [s.id for s in available if status_of.get(s.id) in (ServiceStatus.PENDING,
                                                                           ServiceStatus.VALIDATED)]
            return {FIELD: ServicesField("Services attribués", coerce=int, choices=_choices(available, status_of),
                                         default=default,
                                         description="Les services cochés sont ceux de l'utilisateur si la demande "
                                                     "est validée ; aucun service coché : toute la structure.")}
    if form == "membership_attach":
        available = offered(context["structure"].id)
        if available:
            return {FIELD: ServicesField("Services", coerce=int, choices=_choices(available, {}),
                                         description="Aucun service coché : « Rattacher à la structure », "
                                                     "toute la structure.")}
    return None


# ------------------------------------------------------------------ writing, inside the core's transactions


def _chosen(structure_id: int, extra: dict) -> set[int] | None:
    """The service ids a form posted, each checked against the structure's offer (ids the actor could reach);
    None when the form had no services field."""
    if FIELD not in (extra or {}):
        return None
    ids = {int(i) for i in extra[FIELD] or []}
    allowed = {s.id for s in offered(structure_id)}
    if ids - allowed:
        raise Refused({FIELD: "Choisissez parmi les services actifs de la structure."})
    return ids


# A bulk decision announces 1,000 events: most of its memberships name no service. Which memberships of a
# structure have service rows is read once per transaction (one query), so that the others cost nothing.
WITH_ROWS = "services.memberships_with_rows"


def _with_rows(structure_id: int) -> set[int]:
    """The ids of `structure_id`'s memberships that have service rows, as this transaction sees them."""
    cache = db.session.info.setdefault(WITH_ROWS, {})
    if structure_id not in cache:
        cache[structure_id] = set(db.session.execute(
            select(MembershipService.membership_id).join(Membership, MembershipService.membership_id == Membership.id)
            .where(Membership.structure_id == structure_id).distinct()).scalars())
    return cache[structure_id]


@sa_event.listens_for(Session, "after_commit")
@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_rows(session, *args):
    session.info.pop(WITH_ROWS, None)


def _set(membership_id: int, service_ids, status: ServiceStatus, existing: dict | None = None) -> None:
    """`service_ids` of the membership in `status` (`existing`: its statuses, when the caller read them)."""
    now = clock.now()
    existing = statuses(membership_id) if existing is None else existing
    for sid in service_ids:
        if sid in existing:
            db.session.execute(update(MembershipService).where(
                MembershipService.membership_id == membership_id, MembershipService.service_id == sid)
                .values(status=status, updated_at=now))
        else:
            db.session.add(MembershipService(membership_id=membership_id, service_id=sid, status=status,
                                             updated_at=now))
    db.session.flush()
    for rows in db.session.info.get(WITH_ROWS, {}).values():  # whichever structure it is, it has rows now
        rows.add(membership_id)


def _validate_asked(membership_id: int) -> None:
    """The bulk decision (RAT-4): the services asked that are still active are granted, those ended meanwhile
    refused, as the decision screen no longer offers them (SRV-4). A request left with none would widen to the
    whole structure unseen: refused, so that the manager decides it on its own screen."""
    status_of = statuses(membership_id)
    asked = [s for s, st in status_of.items() if st == ServiceStatus.PENDING]
    if not asked:
        return
    active = set(db.session.execute(select(Service.id).where(Service.id.in_(asked), services.active_clause()))
                 .scalars())
    if not active and not any(st == ServiceStatus.VALIDATED for st in status_of.values()):
        user = db.session.get(User, db.session.get(Membership, membership_id).user_id)
        raise Refused(f"La demande de {user.full_name} porte sur des services qui ne sont plus actifs : "
                      "validez-la seule, en choisissant ses services.")
    _set(membership_id, sorted(active), ServiceStatus.VALIDATED, status_of)
    if len(active) < len(asked):
        _set(membership_id, sorted(set(asked) - active), ServiceStatus.REFUSED, status_of)


def _move(membership_id: int, before: tuple, after: ServiceStatus) -> None:
    # synchronize_session=False: no walk through the session's objects for each of a bulk decision's 1,000 rows.
    db.session.execute(update(MembershipService).where(
        MembershipService.membership_id == membership_id, MembershipService.status.in_([str(s) for s in before]))
        .values(status=after, updated_at=clock.now()).execution_options(synchronize_session=False))


def domain_change(event) -> None:
    p = event.payload
    if not event.name.startswith("membership.") or "membership_id" not in p:
        return
    mid, sid = p["membership_id"], p["structure_id"]
    if not (p.get("extra") or {}).get(FIELD) and mid not in _with_rows(sid):
        return  # no service asked, none to move: nothing to write
    if event.name == "membership.requested":
        chosen = _chosen(sid, p["extra"])
        if chosen:
            _set(mid, chosen, ServiceStatus.PENDING)
    elif event.name == "membership.validated":
        chosen = _chosen(sid, p["extra"])
        if chosen is None:  # the bulk decision: each requester gets the services they asked
            _validate_asked(mid)
        else:
            # Validated services stay so (RAT-3: greyed, never posted); those asked and not ticked are refused.
            status_of = statuses(mid)
            _set(mid, chosen, ServiceStatus.VALIDATED)
            _set(mid, [s for s, st in status_of.items() if st == ServiceStatus.PENDING and s not in chosen],
                 ServiceStatus.REFUSED)
    elif event.name in ("membership.refused", "membership.expired"):
        _move(mid, (ServiceStatus.PENDING,), ServiceStatus.REFUSED)
    elif event.name == "membership.attached":
        chosen = _chosen(sid, p["extra"])
        if chosen:
            _set(mid, chosen, ServiceStatus.VALIDATED)
    elif event.name == "membership.removed":  # RAT-7: at structure level; its services go with it
        _move(mid, (ServiceStatus.PENDING, ServiceStatus.VALIDATED), ServiceStatus.DEACTIVATED)
    elif event.name == "membership.cancelled":  # withdrawn: nothing was asked after all
        db.session.execute(delete(MembershipService).where(MembershipService.membership_id == mid,
                                                           MembershipService.status == ServiceStatus.PENDING))


def copy_statuses(structure_id: int, services: dict[int, int], memberships: dict[int, int]) -> None:
    """SPEC SIR-2: the per-service statuses of the memberships a change of identifier copied, on the copied
    services (`services`, `memberships`: {old id: new id}), in its transaction."""
    if not services or not memberships:
        return
    rows = db.session.execute(select(MembershipService.__table__).where(
        MembershipService.service_id.in_(list(services)))).mappings().all()
    copies = [{"membership_id": memberships[r["membership_id"]], "service_id": services[r["service_id"]],
               "status": r["status"], "updated_at": r["updated_at"]} for r in rows if r["membership_id"] in memberships]
    insert_returning_ids(MembershipService.__table__, copies)
    # The per-transaction cache of memberships with rows: the successor's memberships have rows now.
    db.session.info.get(WITH_ROWS, {}).pop(structure_id, None)


# ------------------------------------------------------------------ reading: lists, history, Mon compte


def codes_by_membership(ids: list[int], wanted: tuple) -> dict[int, list[str]]:
    rows = db.session.execute(
        select(MembershipService.membership_id, Service.code).join(Service, MembershipService.service_id == Service.id)
        .where(in_ids(MembershipService.membership_id, ids), MembershipService.status.in_([str(s) for s in wanted]))
        .order_by(Service.is_default.desc(), func.lower(Service.code))).all()
    out: dict[int, list[str]] = {}
    for mid, code in rows:
        out.setdefault(mid, []).append(code)
    return out


def cell(codes: list[str] | None) -> str:
    return ", ".join(codes) if codes else WHOLE_STRUCTURE


def memberships_with_service(value: str, wanted: tuple, structure_id: int | None = None):
    """SELECT of the membership ids with the service whose code is `value` (any case), in status `wanted`."""
    stmt = select(MembershipService.membership_id).join(Service, MembershipService.service_id == Service.id).where(
        Service.code_key == code_key(value), MembershipService.status.in_([str(s) for s in wanted]))
    if structure_id is not None:
        stmt = stmt.where(Service.structure_id == structure_id)
    return stmt


def members_of_services(structure_id: int, unit_ids: list[str]) -> dict[str, set[int]]:
    """{service id (text): the structure's memberships working in it}: validated for that service, or for the whole
    structure (a membership validated for no service: none asked, or every one asked refused while the membership
    was validated with no box ticked, RAT-3: what the lists show as "Toute la structure")."""
    ids = [int(u) for u in unit_ids if u.isdigit()]
    if not ids:
        return {}
    out: dict[str, set[int]] = {str(i): set() for i in ids}
    for service_id, membership_id in db.session.execute(
            select(MembershipService.service_id, MembershipService.membership_id)
            .join(Service, MembershipService.service_id == Service.id)
            .where(Service.structure_id == structure_id, Service.id.in_(ids),
                   MembershipService.status == str(ServiceStatus.VALIDATED))):
        out[str(service_id)].add(membership_id)
    whole = set(db.session.execute(select(Membership.id).where(
        Membership.structure_id == structure_id,
        ~select(MembershipService.id).where(MembershipService.membership_id == Membership.id,
                                            MembershipService.status == str(ServiceStatus.VALIDATED)).exists())
    ).scalars())
    return {unit: members | whole for unit, members in out.items()}


def validated_codes_by_user(structure_id: int, user_ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(select(Membership.user_id, Membership.id).where(
        Membership.structure_id == structure_id, Membership.user_id.in_(user_ids),
        Membership.status == MembershipStatus.VALIDATED)).all()
    codes = codes_by_membership([mid for _, mid in rows], (ServiceStatus.VALIDATED,))
    return {uid: cell(codes.get(mid)) for uid, mid in rows}


def snapshot(membership) -> dict:
    """The services of a decision, as they stand once the decision is written (HIS-3)."""
    if membership.id not in _with_rows(membership.structure_id):
        return {}  # the whole structure: nothing to add
    rows = db.session.execute(
        select(Service.code, Service.label, MembershipService.status)
        .join(MembershipService, MembershipService.service_id == Service.id)
        .where(MembershipService.membership_id == membership.id)
        .order_by(Service.is_default.desc(), func.lower(Service.code))).all()
    if not rows:  # the whole structure: nothing to add
        return {}
    return {"services": [{"code": c, "label": lbl, "status": ServiceStatus(st).label} for c, lbl, st in rows]}


MY_SERVICES_LIMIT = 200


def my_services(user) -> dict:
    """"Mon compte": the person's services, per structure, with their status (RAT-2)."""
    stmt = (select(Membership, Service, MembershipService)
            .join(MembershipService, MembershipService.membership_id == Membership.id)
            .join(Service, MembershipService.service_id == Service.id)
            .where(Membership.user_id == user.id,
                   Membership.status.in_([MembershipStatus.PENDING, MembershipStatus.VALIDATED])))
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.session.execute(stmt.order_by(Membership.structure_id, func.lower(Service.code))
                              .limit(MY_SERVICES_LIMIT)).all()
    return {"rows": rows, "total": total, "limit": MY_SERVICES_LIMIT}

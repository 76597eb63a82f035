"""The spaces plugin's rows of the permission matrix (tests/test_permission_matrix.py loads this file while the
plugin is on). On A: the primary manager holds the four spaces (ESP-2, with A's creation), the member
"Factures reçues" in consultation, the secondary manager "Sollicitations émises" in modification."""
from __future__ import annotations

VALUES = {"req_A": 20, "req_A2": 21, "req_A3": 22, "req_B": 23, "line_A2": 24}


def populate(world) -> dict:
    """Subscriptions and pending requests written directly (no history entry: the core's rows count A's)."""
    from sqlalchemy import select

    from chorus import clock
    from chorus.database import transaction
    from chorus.extensions import db
    from chorus.memberships.models import Membership
    from plugins.spaces.models import Subscription, SubscriptionRequest

    ids = world.ids

    def membership(user_id, structure_id):
        return db.session.execute(select(Membership.id).where(
            Membership.user_id == user_id, Membership.structure_id == structure_id,
            Membership.status == "validated")).scalar_one()

    def subscription(user_id, structure_id, code, right, status="validated", request_id=None):
        now = clock.now()
        line = Subscription(user_id=user_id, structure_id=structure_id, membership_id=membership(user_id, structure_id),
                            request_id=request_id, space_code=code, unit_id="", unit_label="", right=right,
                            status=status, origin="user", created_at=now, updated_at=now)
        db.session.add(line)
        db.session.flush()
        return line.id

    def pending(user_id, structure_id, code):
        request = SubscriptionRequest(user_id=user_id, structure_id=structure_id,
                                      membership_id=membership(user_id, structure_id), status="pending",
                                      origin="user", comment="Pour mon travail", manager_comment="",
                                      decision_reason="", created_at=clock.now())
        db.session.add(request)
        db.session.flush()
        return request.id, subscription(user_id, structure_id, code, "consultation", "pending", request.id)

    with transaction():
        subscription(ids["member"], world.A, "FACTURES_RECUES", "consultation")
        subscription(ids["secondary"], world.A, "SOLLICITATIONS_EMISES", "modification")
        req_a, _ = pending(ids["member"], world.A, "SOLLICITATIONS_RECUES")
        req_a2, line_a2 = pending(ids["technical"], world.A, "SOLLICITATIONS_EMISES")
        req_a3, _ = pending(ids["technical"], world.A, "FACTURES_RECUES")
        primary_b = db.session.execute(select(Membership.user_id).where(
            Membership.id == world.primary_B_membership)).scalar_one()
        req_b, _ = pending(primary_b, world.B, "SOLLICITATIONS_EMISES")
    return {"req_A": req_a, "req_A2": req_a2, "req_A3": req_a3, "req_B": req_b, "line_A2": line_a2}


def _ask(structure):
    return lambda w: {"structure": str(w.values[structure]), "space": "SOLLICITATIONS_EMISES",
                      "right": "consultation", "unit": "", "comment": "Pour suivre nos demandes"}


def _self_service(structure):
    return lambda w: {"structure": str(w.values[structure]), "space": "FACTURES_EMISES", "action": "ajouter"}


def _add_spaces(w):
    return {"units": [""], "droit-FACTURES_EMISES": ["consultation"]}


def rows(m) -> list:
    """`m`: the matrix module (Row, roles, LOGIN, signed_in, manager_page, manager_post)."""
    Row, roles, LOGIN = m.Row, m.roles, m.LOGIN
    P = "plugins.spaces"
    everyone_404 = roles(LOGIN, 404, 404, 404, 404)
    return [Row(*r[:5], **(r[5] if len(r) > 5 else {}), plugin=P) for r in [
        # SPEC ESP-5: each space's page by the subscriptions of A's actors (no subscription: 403).
        ("GET", "/factures-recues/", "spaces.factures_recues", "-", roles(LOGIN, 200, 403, 200, 403)),
        ("GET", "/factures-emises/", "spaces.factures_emises", "-", roles(LOGIN, 403, 403, 200, 403)),
        ("GET", "/sollicitations-emises/", "spaces.sollicitations_emises", "-", roles(LOGIN, 403, 200, 200, 403)),
        ("GET", "/sollicitations-recues/", "spaces.sollicitations_recues", "-", roles(LOGIN, 403, 403, 200, 403)),
        # Mes abonnements aux espaces (ACC-5, ABO-1, ABO-6): one's own structures only.
        ("GET", "/mon-compte/abonnements", "spaces.mine", "-", m.signed_in(200)),
        ("GET", "/mon-compte/abonnements?structure={A}", "spaces.mine", "A", m.signed_in(200)),
        ("POST", "/mon-compte/abonnements", "spaces.mine", "B", everyone_404, {"data": _ask("B")}),
        ("POST", "/mon-compte/abonnements", "spaces.mine", "A", roles(LOGIN, 303, 422, 422, 404),
         {"data": _ask("A")}),
        ("GET", "/mon-compte/abonnements/sans-validation", "spaces.self_service", "-", m.everyone(405)),
        ("POST", "/mon-compte/abonnements/sans-validation", "spaces.self_service", "B", everyone_404,
         {"data": _self_service("B")}),
        ("POST", "/mon-compte/abonnements/sans-validation", "spaces.self_service", "A",
         roles(LOGIN, 303, 303, 303, 404), {"data": _self_service("A")}),
        # The managers (ABO-2..5, MGR-2): requests of their structures only; another's: 404.
        ("GET", "/gestionnaire/abonnements", "spaces.pending", "-", roles(LOGIN, 403, 200, 200, 403)),
        ("GET", "/gestionnaire/abonnements/{req_A}", "spaces.decide_one", "A", roles(LOGIN, 404, 200, 200, 404)),
        ("GET", "/gestionnaire/abonnements/{req_B}", "spaces.decide_one", "B", everyone_404),
        ("GET", "/gestionnaire/abonnements/{req_A3}/refuser", "spaces.refuse_one", "A",
         roles(LOGIN, 404, 200, 200, 404)),
        ("GET", "/gestionnaire/abonnements/{req_B}/refuser", "spaces.refuse_one", "B", everyone_404),
        ("POST", "/gestionnaire/abonnements/{req_B}", "spaces.decide_one", "B", everyone_404,
         {"data": lambda w: {"action": "valider", "quick": "1"}}),
        ("POST", "/gestionnaire/abonnements/{req_B}/refuser", "spaces.refuse_one", "B", everyone_404,
         {"data": lambda w: {"reason": "Non"}}),
        ("POST", "/gestionnaire/abonnements", "spaces.decide_many", "B", roles(LOGIN, 403, 303, 303, 403),
         {"data": lambda w: {"ids": [str(w.values["req_B"])], "action": "valider"}}),
        ("POST", "/gestionnaire/abonnements", "spaces.decide_many", "A", roles(LOGIN, 403, 303, 303, 403),
         {"data": lambda w: {"ids": [str(w.values["req_A"])], "action": "valider"}, "changes": True}),
        ("POST", "/gestionnaire/abonnements/{req_A2}", "spaces.decide_one", "A", roles(LOGIN, 404, 303, 303, 404),
         {"data": lambda w: {"action": "valider", f"droit-{w.values['line_A2']}": "consultation",
                             "comment": "Consultation seulement"}, "changes": True}),
        ("POST", "/gestionnaire/abonnements/{req_A3}/refuser", "spaces.refuse_one", "A",
         roles(LOGIN, 404, 303, 303, 404), {"data": lambda w: {"reason": "Pas dans vos missions"}, "changes": True}),
        # Ajouter des espaces (ESP-3): the structure's managers.
        ("GET", "/structures/{A}/espaces", "spaces.add_spaces", "A", m.manager_page(True)),
        ("GET", "/structures/{B}/espaces", "spaces.add_spaces", "B", m.manager_page(False)),
        ("POST", "/structures/{B}/espaces", "spaces.add_spaces", "B", m.manager_post(False), {"data": _add_spaces}),
        ("POST", "/structures/{A}/espaces", "spaces.add_spaces", "A", m.manager_post(True),
         {"data": _add_spaces, "changes": True}),
    ]]

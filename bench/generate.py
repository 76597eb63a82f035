"""A national-scale data set for the benchmarks, written once into a database built by the migrations.

    .venv/bin/python bench/generate.py sqlite:////work/p5-data/national.sqlite3
    .venv/bin/python bench/generate.py postgresql+psycopg://chorus:chorus@127.0.0.1:54349/bench --scale 0.2

At scale 1: 150,000 structures, 500,000 users, 1,000,000 memberships of which 20,000 pending,
2,000,000 history rows; realistic French names (accents included) and valid SIRETs. Whatever the
scale, structure 1 ("Mairie de Bordeaux") has 5,000 members and 1,000 pending requests. Accounts
the benchmark logs in with (password PASSWORD below):
- gestionnaire@bench.example: primary manager of structure 1 and of structures 2..50;
- client1..8@bench.example: secondary managers of structure 1, primary managers of 51..58;
- masse@bench.example: primary manager of structure 59, where the runner adds the requests it validates.
Rows are written in bulk (executemany on SQLite, COPY on PostgreSQL), never through the services.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chorus import create_app, migrations  # noqa: E402
from chorus.extensions import db  # noqa: E402
from chorus.structures.identifiers import make_siret  # noqa: E402

PASSWORD = "benchmark-chorus-2026"
MANAGER = "gestionnaire@bench.example"
BULK_MANAGER = "masse@bench.example"  # validates the runner's bulk requests: MANAGER's searches stay put
CLIENTS = 8
BIG, BIG_MEMBERS, BIG_PENDING = 1, 5000, 1000
BULK_STRUCTURE = 59  # the runner adds its 1,000 requests to validate here
RESERVED_STRUCTURES = 59

LAST_NAMES = """Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel Lefèvre Leroy Roux
David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau Vincent Müller Lefebvre Faure André
Mercier Blanc Guérin Boyer Garnier Chevalier François Legrand Gauthier Garcia Perrin Robin Clément Morin Nicolas
Henry Roussel Mathieu Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noël Meyer Dufour Meunier Brun
Blanchard Giraud Joly Rivière Lucas Brunet Gaillard Barbier Arnaud Martínez Gérard Roche Renard Schmitt Roy Leroux
Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas Lacroix Olivier Philippe Bourgeois Pierre Benoît
Rey Leclerc Payet Rolland Leclercq Guillaume Lecomte Lopez Jean Dupuy Guillot Hubert Berger Carpentier Sánchez
Dupuis Moulin Louis Deschamps Huet Vasseur Perez Boucher Fleury Royer Klein Jacquet Adam Paris Poirier Marty Aubry
Guyot Carré Charles Renault Charpentier Ménard Maillard Baron Bertin Bailly Hervé Schneider Fernandez Le Gall
Collet Léger Bouvier Julien Prévost Millet Perrot Daniel Le Roux Cousin Germain Breton Besson Langlois Rémy Pelletier
Lévêque Perrier Leblanc Barré Lebrun Marchal Weber Mallet Hamon Boulanger Jacob Monnier Michaud Rodríguez Guichard
Gillet Étienne Grondin Poulain Tessier Chevallier Collin Chauvin Da Silva Bouchet Gay Lemaître Bénard Maréchal
Humbert Reynaud Antoine Hoarau Perret Barthélemy Cordier Pichon Lejeune Gilbert Lamy Delaunay Pasquier Carlier
Laporte Œuvrard Cœur Lætitia""".split()
FIRST_NAMES = """Marie Jean Pierre Michel André Philippe René Louis Alain Jacques Bernard Marcel Daniel Roger Robert
Paul Claude Christian Henri Georges Nicolas François Patrick Gérard Christophe Joseph Julien Nathalie Isabelle
Sylvie Catherine Françoise Monique Christine Valérie Sandrine Véronique Sophie Céline Chloé Léa Zoé Inès Anaïs Noémie
Héloïse Maël Loïc Jérôme Frédéric Stéphane Sébastien Cédric Thérèse Geneviève Hélène Élodie Émilie Aurélie Benoît
Joël Gaëlle Raphaël Mathéo Léon Éloïse Agnès""".split()
CITIES = """Paris Marseille Lyon Toulouse Nice Nantes Montpellier Strasbourg Bordeaux Lille Rennes Reims Toulon
Saint-Étienne Le Havre Grenoble Dijon Angers Nîmes Villeurbanne Clermont-Ferrand Le Mans Aix-en-
Provence Brest Tours Amiens Limoges Annecy Perpignan Boulogne-Billancourt Metz Besançon Orléans
Saint-Denis Argenteuil Rouen Mulhouse Montreuil Caen Nancy Saint-Paul Tourcoing Roubaix Nanterre
Vitry-sur-Seine Avignon Créteil Poitiers Dunkerque Aubervilliers Versailles Aulnay-sous-Bois
Asnières-sur-Seine Colombes Saint-Pierre Courbevoie Cherbourg-en-Cotentin Le Tampon Rueil-Malmaison
Champigny-sur-Marne Béziers Pau La Rochelle Saint-Maur-des-Fossés Calais Cannes Antibes Drancy
Mérignac Saint-Nazaire Colmar Issy-les-Moulineaux Noisy-le-Grand Évry-Courcouronnes Vénissieux Cergy
Levallois- Perret Valence Bourges Pessac Cayenne Ivry-sur-Seine Quimper La Seyne-sur-Mer Antony
Villeneuve-d'Ascq Troyes Clichy Montauban Neuilly-sur-Seine Pantin Niort Chambéry Sarcelles Le
Blanc-Mesnil Lorient Beauvais Maisons-Alfort Meaux Narbonne Chelles Hyères Villejuif Fréjus Vannes
Bondy Évreux Arles Clamart Sartrouville Annemasse Épinay-sur-Seine Sète Bayonne Albi Vincennes
Châteauroux Alès Angoulême Montélimar Lannion Ploërmel Guérande Pontivy Saint-Malo""".split()
PUBLIC_KINDS = [("Mairie de", "collectivite"), ("Commune de", "collectivite"),
                ("Syndicat intercommunal de", "collectivite"), ("Communauté de communes de", "collectivite"),
                ("Centre hospitalier de", "epn"), ("Collège Jean-Moulin de", "eple"), ("Lycée Victor-Hugo de", "eple"),
                ("Préfecture de", "etat"), ("Établissement public foncier de", "autre"),
                ("École élémentaire de", "collectivite")]
PRIVATE_KINDS = ["Boulangerie", "Menuiserie", "SARL", "SAS", "Garage", "Pharmacie", "Cabinet", "Électricité",
                 "Plomberie", "Imprimerie", "Librairie", "Transports", "Bâtiment", "Traiteur", "Société"]


def utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=None)  # stored naive UTC, as chorus.database.UTCDateTime does


class Writer:
    """Bulk rows into one table: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, raw, dialect: str):
        self.raw, self.dialect = raw, dialect

    def write(self, table: str, columns: list[str], rows) -> int:
        n = 0
        cursor = self.raw.cursor()
        if self.dialect == "postgresql":
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
        else:
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            batch = []
            for row in rows:
                batch.append(tuple(self._sqlite(v) for v in row))
                if len(batch) == 20000:
                    cursor.executemany(sql, batch)
                    n += len(batch)
                    batch = []
            cursor.executemany(sql, batch)
            n += len(batch)
        cursor.close()
        return n

    @staticmethod
    def _sqlite(value):
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(value, date):
            return value.isoformat()
        return value


STRUCTURE_COLUMNS = ["id", "kind", "category", "identifier_type", "identifier", "designation", "designation_folded",
                     "status", "address", "address_complement_1", "address_complement_2", "postal_code", "city",
                     "country_code", "phone", "fax", "email", "edi_receive_lifecycle", "edi_emitter",
                     "edi_connection_active", "edi_can_receive", "payment_status_not_reported",
                     "service_code_required", "engagement_required", "engagement_or_service_required", "moa",
                     "billing_mandate", "pacage_number", "social_regime", "vat_number", "connection_info",
                     "created_at", "updated_at"]
USER_COLUMNS = ["id", "last_name", "first_name", "last_name_folded", "first_name_folded", "login_email",
                "contact_email", "phone", "status", "kind", "origin", "is_pigp", "is_admin", "password_hash",
                "created_at", "activated_at", "deactivated_at"]
MEMBERSHIP_COLUMNS = ["user_id", "structure_id", "role", "status", "comment", "decision_reason", "start_date",
                      "created_at", "decided_at", "decided_by_id"]
HISTORY_COLUMNS = ["structure_id", "at", "actor_id", "action", "comment", "summary", "subject_user_id", "detail"]


def generate(url: str, scale: float, seed: int = 2026) -> dict:
    from chorus.folding import fold

    rnd = random.Random(seed)
    n_structures, n_users = int(150_000 * scale), int(500_000 * scale)
    n_memberships, n_pending, n_history = int(1_000_000 * scale), int(20_000 * scale), int(2_000_000 * scale)
    now = datetime.now(UTC).replace(microsecond=0)
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url, "MAIL_DIR": "/tmp/chorus-bench-mail"})
    counts = {}
    with app.app_context():
        migrations.upgrade()
        from chorus.accounts.passwords import hash_password

        password_hash = hash_password(PASSWORD)
        dialect = db.engine.dialect.name
        raw = db.engine.raw_connection()
        if dialect == "sqlite":
            raw.driver_connection.execute("BEGIN")
        writer = Writer(raw.driver_connection if dialect == "postgresql" else raw, dialect)

        def past(days: int) -> datetime:
            return utc(now - timedelta(seconds=rnd.randrange(1, days * 86400)))

        # ---------------------------------------------------------- users
        def users():
            for uid in range(1, n_users + 1):
                if uid == 1:
                    last, first, email = "Gestionnaire", "Benoît", MANAGER
                elif uid <= 1 + CLIENTS:
                    last, first, email = f"Client{uid - 1}", "Éloïse", f"client{uid - 1}@bench.example"
                elif uid == 2 + CLIENTS:
                    last, first, email = "Masse", "Agnès", BULK_MANAGER
                else:
                    last, first = rnd.choice(LAST_NAMES), rnd.choice(FIRST_NAMES)
                    email = f"{fold(first).replace(' ', '')}.{fold(last).replace(' ', '')}.{uid}@exemple.fr"
                created = past(1500)
                status = "active" if uid <= 2 + CLIENTS or rnd.random() < 0.9 else rnd.choice(["pending",
                                                                                               "deactivated"])
                yield (uid, last, first, fold(last), fold(first), email, email, "", status, "person", "self",
                       False, False, password_hash if uid <= 2 + CLIENTS else None, created,
                       created if status == "active" else None, created if status == "deactivated" else None)

        t = time.perf_counter()
        counts["user_account"] = writer.write("user_account", USER_COLUMNS, users())
        print(f"  users: {counts['user_account']:,} in {time.perf_counter() - t:.0f} s", flush=True)

        # ---------------------------------------------------------- structures
        def designation(sid: int) -> tuple[str, str, str | None, str]:
            city = rnd.choice(CITIES)
            if sid == BIG:
                return "Mairie de Bordeaux", "public", "collectivite", "Bordeaux"
            if sid == BULK_STRUCTURE:
                return "Banc d'essai des validations en masse", "private", None, city
            if rnd.random() < 0.35:
                prefix, category = rnd.choice(PUBLIC_KINDS)
                return f"{prefix} {city}" + ("" if rnd.random() < 0.5 else f" ({sid})"), "public", category, city
            return f"{rnd.choice(PRIVATE_KINDS)} {rnd.choice(LAST_NAMES)} {city}", "private", None, city

        def structures():
            for sid in range(1, n_structures + 1):
                name, kind, category, city = designation(sid)
                created = past(1500)
                yield (sid, kind, category, "SIRET", make_siret(f"{10_000_000 + sid * 613 % 89_999_999:08d}", "0001"),
                       name, fold(name), "active" if sid <= RESERVED_STRUCTURES or rnd.random() < 0.97 else "inactive",
                       f"{rnd.randrange(1, 200)} rue {rnd.choice(LAST_NAMES)}", "", "",
                       f"{rnd.randrange(1000, 98000):05d}", city, "FR", "", "", "", False, False, False,
                       kind == "public", False, False, False, False, "none", False, "", "", "", "", created, created)

        t = time.perf_counter()
        counts["structure"] = writer.write("structure", STRUCTURE_COLUMNS, structures())
        print(f"  structures: {counts['structure']:,} in {time.perf_counter() - t:.0f} s", flush=True)

        # ---------------------------------------------------------- memberships
        open_pairs: set[tuple[int, int]] = set()
        regular = range(3 + CLIENTS + BIG_MEMBERS + BIG_PENDING, n_users + 1)  # users with no bench role

        def membership(uid, sid, role, status, created):
            decided = status != "pending"
            return (uid, sid, role, status, "", "" if status != "refused" else "Inconnu du service",
                    created.date() if status == "validated" else None, created,
                    created + timedelta(days=1) if decided else None, None)

        def memberships():
            n = 0
            for sid in range(1, n_structures + 1):  # one primary manager each
                if sid <= 50:
                    uid = 1
                elif sid == BULK_STRUCTURE:
                    uid = 2 + CLIENTS
                elif sid <= 50 + CLIENTS:
                    uid = 1 + (sid - 50)
                else:
                    uid = rnd.choice(regular)
                open_pairs.add((uid, sid))
                yield membership(uid, sid, "primary", "validated", past(1500))
                n += 1
            for c in range(CLIENTS):
                open_pairs.add((2 + c, BIG))
                yield membership(2 + c, BIG, "secondary", "validated", past(1000))
                n += 1
            first = 3 + CLIENTS
            for uid in range(first, first + BIG_MEMBERS):
                open_pairs.add((uid, BIG))
                yield membership(uid, BIG, "secondary" if uid % 500 == 0 else "member", "validated", past(1000))
            for uid in range(first + BIG_MEMBERS, first + BIG_MEMBERS + BIG_PENDING):
                open_pairs.add((uid, BIG))
                yield membership(uid, BIG, "member", "pending", past(25))
            n += BIG_MEMBERS + BIG_PENDING
            pending_left = max(n_pending - BIG_PENDING, 0)
            while n < n_memberships:
                uid, sid = rnd.choice(regular), rnd.randrange(BULK_STRUCTURE + 1, n_structures + 1)
                if (uid, sid) in open_pairs:
                    continue
                if pending_left:
                    status, pending_left = "pending", pending_left - 1
                else:
                    status = rnd.choices(["validated", "refused", "removed", "cancelled"], [85, 7, 5, 3])[0]
                if status in ("validated", "pending"):
                    open_pairs.add((uid, sid))
                role = "secondary" if status == "validated" and rnd.random() < 0.05 else "member"
                yield membership(uid, sid, role, status, past(25 if status == "pending" else 1200))
                n += 1

        t = time.perf_counter()
        counts["membership"] = writer.write("membership", MEMBERSHIP_COLUMNS, memberships())
        print(f"  memberships: {counts['membership']:,} in {time.perf_counter() - t:.0f} s", flush=True)
        open_pairs.clear()

        # ---------------------------------------------------------- history
        actions = [("membership.validated", "Validée", "Demande de rattachement de {} validée (utilisateur simple)"),
                   ("membership.refused", "Refusée", "Demande de rattachement de {} refusée : Inconnu du service"),
                   ("membership.removed", "Supprimée", "Rattachement de {} supprimé"),
                   ("membership.attached", "Validée", "{} rattaché à la structure (utilisateur simple)"),
                   ("structure.updated", "", "Modification de la structure : ville")]
        weights = [45, 8, 5, 7, 35]

        def history():
            big_share = 20_000
            for i in range(n_history):
                sid = BIG if i < big_share else rnd.randrange(1, n_structures + 1)
                action, comment, summary = rnd.choices(actions, weights)[0]
                person = f"{rnd.choice(FIRST_NAMES)} {rnd.choice(LAST_NAMES)}"
                detail = ({"changes": [{"field": "city", "label": "Ville", "before": "Vannes", "after": "Lorient"}]}
                          if action == "structure.updated" else {"reason": ""})
                yield (sid, past(1200), 1 if sid == BIG else None, action, comment, summary.format(person),
                       rnd.choice(regular) if action.startswith("membership") else None, json.dumps(detail))

        t = time.perf_counter()
        counts["history_entry"] = writer.write("history_entry", HISTORY_COLUMNS, history())
        print(f"  history: {counts['history_entry']:,} in {time.perf_counter() - t:.0f} s", flush=True)
        raw.commit()
        finish(raw, dialect, ("user_account", "structure", "membership", "history_entry"))
        db.engine.dispose()
    return counts


def finish(raw, dialect: str, tables) -> None:
    """After rows written with their ids: the sequences of `tables` continue after them (PostgreSQL), the
    planner's statistics made; `raw` (a DBAPI connection) is closed."""
    if dialect == "postgresql":
        with raw.cursor() as cursor:
            for table in tables:
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT coalesce(max(id), 1) FROM {table}))")
        raw.commit()
        raw.driver_connection.autocommit = True
        raw.cursor().execute("VACUUM ANALYZE")
    else:
        raw.driver_connection.execute("ANALYZE")
        raw.commit()
    raw.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="an empty database: sqlite:////path/file.sqlite3 or postgresql+psycopg://...")
    parser.add_argument("--scale", type=float, default=1.0, help="1 = national (150,000 structures...)")
    args = parser.parse_args()
    start = time.perf_counter()
    counts = generate(args.url, args.scale)
    print(f"{counts} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

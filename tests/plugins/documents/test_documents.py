"""Documents of the structure record (SPEC DOC-1..4): adding, listing, downloading, deleting, and the uploads
QUALITY.md lists (sizes, types by content, markup, zip bombs, hostile names)."""
from __future__ import annotations

import io
import zipfile
from urllib.parse import unquote

import pytest
from documents_samples import MB4, docx, ods, pdf, png, upload, zip_bomb, zipped
from sqlalchemy import select

from chorus.extensions import db
from chorus.history.models import HistoryEntry
from helpers import disabled_plugins, fresh, page
from plugins.documents.models import Document, DocumentChunk

HTMX = {"HX-Request": "true"}


def documents() -> list[Document]:
    fresh()
    return db.session.execute(select(Document).order_by(Document.id)).scalars().all()


def stored(document_id) -> bytes:
    fresh()
    return b"".join(db.session.execute(select(DocumentChunk.data).where(DocumentChunk.document_id == document_id)
                                       .order_by(DocumentChunk.seq)).scalars())


def add(world, data=None, name="contrat.pdf", **kw):
    response = upload(world.manager, world.base, pdf() if data is None else data, name, **kw)
    assert response.status_code == 303, page(response)
    return documents()[-1]


# ------------------------------------------------------------------ adding (DOC-2)


def test_a_manager_adds_a_document_and_the_record_lists_it(world):
    # SPEC DOC-2: choose a file, a designation, a type from a list, "Ajouter".
    form = page(world.manager.get(world.base))
    assert "Gestion des pièces jointes" in form and "Parcourir" in form and "Ajouter" in form
    for label in ("Contrat", "Procédure", "Pièce justificative d'une facture", "Mandat de facturation",
                  "RIB / coordonnées bancaires", "Autre"):
        assert f">{label}</option>" in form
    content = pdf(50_000)
    response = upload(world.manager, world.base, content, "Contrat été 2026.pdf", designation="Contrat cantine")
    assert response.status_code == 303
    assert "Pièce jointe « Contrat cantine » ajoutée" in page(world.manager.get(response.headers["Location"]))
    [document] = documents()
    assert (document.file_name, document.media_type, document.size) == ("Contrat été 2026.pdf", "application/pdf",
                                                                         50_000)
    assert stored(document.id) == content
    record = page(world.member.get(f"/structures/{world.structure.id}"))
    assert "Pièces jointes" in record and "Contrat cantine" in record and "Contrat été 2026.pdf" in record
    # SPEC HIS-1: the managers' action is in the history.
    entry = db.session.execute(select(HistoryEntry).where(HistoryEntry.action == "document.added")).scalar_one()
    assert entry.actor_id == world.manager_user.id and "Contrat cantine" in entry.summary
    assert "Ajout d'une pièce jointe" in page(world.manager.get(f"/structures/{world.structure.id}/historique"))


def test_the_form_answers_in_place_with_htmx_and_without(world):
    for headers in ({}, HTMX):
        response = upload(world.manager, world.base, pdf(), "a.pdf", designation="", type_code="", headers=headers)
        assert response.status_code == 422
        html = page(response)
        assert "Le champ « Désignation » est obligatoire." in html and "Le champ « Type » est obligatoire." in html
        assert ("<html" in html) == (not headers)
    assert documents() == []


def test_no_file_chosen_and_unknown_type_are_refused_by_field(world):
    response = world.manager.post(world.base, data={"designation": "Sans fichier", "type_code": "contrat"},
                                  content_type="multipart/form-data")
    assert response.status_code == 422 and "Choisissez un fichier." in page(response)
    response = upload(world.manager, world.base, pdf(), "a.pdf", type_code="inconnu")
    assert response.status_code == 422
    assert documents() == []


def test_the_types_of_other_plugins_are_offered_and_accepted(make_app, accounts):
    # SPEC DOC-2 through the core hook register_document_types.
    from chorus.hookspecs import hookimpl
    from helpers import make_structure

    class Finess:
        @hookimpl
        def register_document_types(self):
            return [("convention", "Convention de mandat")]

    application = make_app(EXTRA_PLUGINS=[Finess()])
    with application.app_context():
        owner = accounts.create()
        structure = make_structure(owner)
        client = application.test_client()
        accounts.login(client)
        base = f"/structures/{structure.id}/pieces-jointes"
        assert ">Convention de mandat</option>" in page(client.get(base))
        assert upload(client, base, pdf(), "c.pdf", type_code="convention").status_code == 303
        assert "Convention de mandat" in page(client.get(base))


# ------------------------------------------------------------------ sizes (DOC-2: 4 MB)


def test_four_megabytes_exactly_are_accepted(world):
    document = add(world, pdf(MB4), "gros.pdf")
    assert document.size == MB4 and len(stored(document.id)) == MB4


@pytest.mark.parametrize("headers", [{}, HTMX])
def test_one_byte_more_is_refused_before_the_view_with_a_french_message_on_the_form(world, headers):
    response = upload(world.manager, world.base, pdf(MB4 + 1), "gros.pdf", headers=headers)
    assert response.status_code == 413
    html = page(response)
    assert "Le fichier dépasse la taille maximale de 4 Mo" in html
    assert 'id="fichier"' in html and "Ajouter" in html  # still on the form
    assert ("<html" in html) == (not headers)
    assert documents() == []


def test_a_body_far_over_the_limit_is_refused_from_its_length_alone(world):
    response = upload(world.manager, world.base, pdf(4 * MB4), "enorme.pdf")
    assert response.status_code == 413 and "4 Mo" in page(response)
    assert documents() == []


def test_an_empty_file_is_refused(world):
    response = upload(world.manager, world.base, b"", "vide.txt")
    assert response.status_code == 422 and "Le fichier est vide." in page(response)
    assert documents() == []


# ------------------------------------------------------------------ types by content (DOC-4)


@pytest.mark.parametrize("data, name, media_type", [
    (pdf(), "a.pdf", "application/pdf"),
    (png(), "a.png", "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 100, "photo.jpeg", "image/jpeg"),
    (b"GIF89a" + b"\x00" * 100, "a.gif", "image/gif"),
    (docx(), "lettre.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (ods(), "budget.ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("nom;montant\nÉcole;12,50\n".encode("cp1252"), "export.csv", "text/csv"),
    ("Compte rendu de réunion\n".encode(), "notes.txt", "text/plain"),
    (b"PKI : renouveler les certificats\n", "pki.txt", "text/plain"),  # "PK" alone is no archive
    (b"<?xml version='1.0'?><Facture/>", "facture.xml", "application/xml"),
    (zipped({"a.pdf": pdf(), "b/c.txt": b"texte"}), "lot.zip", "application/zip"),
])
def test_office_formats_are_accepted(world, data, name, media_type):
    document = add(world, data, name)
    assert document.media_type == media_type and stored(document.id) == data


@pytest.mark.parametrize("data, name, message", [
    (png(), "facture.pdf", "ne correspond pas à son extension (.pdf)"),
    (pdf(), "photo.png", "ne correspond pas à son extension (.png)"),
    (b"MZ\x90\x00" + b"\x00" * 200, "programme.pdf", "n'est pas d'un type accepté"),
    (b"MZ\x90\x00" + b"\x00" * 200, "programme.exe", "Ce type de fichier n'est pas accepté"),
    (docx(), "lettre.xlsx", "ne correspond pas à son extension (.xlsx)"),
    (b"<html><body><script>alert(1)</script></body></html>", "page.txt", "HTML"),
    (b"<!DOCTYPE html><p>x</p>", "page.html", "n'est pas accepté"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "logo.xml", "SVG"),
    (b"<?xml version='1.0'?>\n<svg onload='alert(1)'/>", "image.svg", "n'est pas accepté"),
    (b"nom;valeur\n=1+1;<script>x</script>\n", "donnees.csv", "script"),
    (b'<x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>', "espace.xml", "script"),
    (b'<s:svg xmlns:s="urn:x"><s:script>alert(1)</s:script></s:svg>', "prefixe.xml", "script"),
    (b'<h:img xmlns:h="http://www.w3.org/1999/xhtml" src="x"/>', "xhtml.xml", "script"),
    (b'<doc><img src="x" onerror  ="alert(1)"/></doc>', "espaces.xml", "script"),
    (b"<doc><a href='JavaScript:alert(1)'>x</a></doc>", "lien.xml", "script"),
    (zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>", "word/vbaProject.bin": b"x"}),
     "macro.docx", "macros"),
    (zipped({"interne.zip": zipped({"a.txt": b"a"})}), "imbrique.zip", "autre archive"),
    (zipped({"donnees.bin": zipped({"a.txt": b"a"})}), "cache.zip", "autre archive"),  # by content, not name
    (zipped({"../../etc/cron.d/x": b"a"}), "traversee.zip", "chemin interdit"),
    (zipped({"/etc/passwd": b"a"}), "absolu.zip", "chemin interdit"),
    (b"PK\x03\x04 pas vraiment une archive" + b"\x00" * 50, "faux.zip", "endommagée"),
    (b"\x00\x01\x02binaire", "texte.txt", "pas un fichier texte"),
])
def test_contents_outside_the_allow_list_are_refused(world, data, name, message):
    response = upload(world.manager, world.base, data, name)
    assert response.status_code == 422, name
    assert message in page(response), page(response)
    assert documents() == []


def test_a_zip_bomb_is_refused_while_it_is_inflated(world):
    bomb = zip_bomb(101)
    assert len(bomb) < MB4  # small enough to pass the size limit: only unpacking shows what it is
    response = upload(world.manager, world.base, bomb, "bombe.zip")
    assert response.status_code == 422 and "se décompresse en plus de 100 Mo" in page(response)
    assert documents() == []


def test_a_zip_lying_about_its_sizes_is_refused(world):
    # The central directory claims 1 byte; the entry inflates to 101 MB. Never trusted: the inflated bytes are
    # checked against the claim (CRC and size), and the archive is refused as damaged.
    data = bytearray(zip_bomb(101))
    import struct

    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 1)  # uncompressed size in the central directory
    response = upload(world.manager, world.base, bytes(data), "menteuse.zip")
    assert response.status_code == 422 and "endommagée" in page(response)
    assert documents() == []


# ------------------------------------------------------------------ names (DOC-4)


@pytest.mark.parametrize("raw, expected", [
    ("../../x.pdf", "x.pdf"),
    ("CON.pdf", "CON_.pdf"),
    ("a" * 300 + ".pdf", "a" * 176 + ".pdf"),
    ("fact\u202eFDP.pdf", "factFDP.pdf"),  # RTL override: would show "factpdf.PDF"
    ("  .pdf", "document.pdf"),
    ("Relevé d'identité bancaire.pdf", "Relevé d'identité bancaire.pdf"),
])
def test_names_are_cleaned_kept_apart_and_given_back_encoded(world, raw, expected):
    document = add(world, pdf(), raw)
    assert document.file_name == expected
    response = world.member.get(f"{world.base}/{document.id}")
    assert response.status_code == 200 and response.data == pdf()
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ") and "\r" not in disposition and "\n" not in disposition
    assert disposition.isascii()  # the name travels percent-encoded (RFC 5987), never raw
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == expected


def test_control_characters_never_reach_a_stored_name(world):
    from plugins.documents.content import clean_file_name

    assert clean_file_name("devis\r\nSet-Cookie: x.pdf") == "devisSet-Cookie_ x.pdf"
    assert clean_file_name("fac\x00ture\x1b.pdf") == "facture.pdf"
    # Sent raw in the part's header, CR LF break the part: no file arrives, nothing is stored.
    response = upload(world.manager, world.base, pdf(), "devis\r\nSet-Cookie: x.pdf")
    assert response.status_code == 422 and documents() == []


def test_a_nul_in_the_name_is_dropped(world):
    # Werkzeug's parser may keep or cut at NUL: either way nothing with NUL is stored.
    response = upload(world.manager, world.base, pdf(), "fac\x00ture.pdf")
    assert response.status_code in (303, 422)
    assert all("\x00" not in d.file_name for d in documents())


# ------------------------------------------------------------------ downloads (DOC-3, DOC-4)


def test_a_download_is_an_attachment_that_nothing_can_run(world):
    document = add(world, b"<?xml version='1.0'?><Facture/>", "facture.xml")
    response = world.member.get(f"{world.base}/{document.id}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml"  # found from the content, no charset guessed
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == "attachment; filename=\"facture.xml\"; " \
                                                      "filename*=UTF-8''facture.xml"
    assert response.headers["Content-Length"] == str(document.size)


def test_several_documents_download_together_as_one_zip_equal_to_the_files(world):
    files = {"devis.pdf": pdf(300_000), "plan.png": png(700_000), "notes.txt": "Réunion du 3 mars\n".encode()}
    ids = [add(world, data, name).id for name, data in files.items()]
    ids.append(add(world, pdf(1234), "devis.pdf").id)  # the same name twice
    response = world.member.post(f"{world.base}/archive", data={"ids": [str(i) for i in ids]})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment; ")
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    got = {info.filename: archive.read(info) for info in archive.infolist()}
    # Newest first, as listed; the older of two "devis.pdf" is renamed.
    assert got == {**files, "devis.pdf": pdf(1234), "devis (2).pdf": files["devis.pdf"]}


def test_a_zip_holds_only_the_structures_documents(world, accounts):
    mine = add(world, pdf(), "mien.pdf")
    other_client = world.stranger
    theirs = upload(other_client, world.other_base, png(), "autre.png")
    assert theirs.status_code == 303
    other_id = documents()[-1].id
    response = world.member.post(f"{world.base}/archive", data={"ids": [str(mine.id), str(other_id)]})
    assert zipfile.ZipFile(io.BytesIO(response.data)).namelist() == ["mien.pdf"]
    assert world.member.get(f"{world.base}/{other_id}").status_code == 404  # B's document through A's address
    nothing = world.member.post(f"{world.base}/archive", data={"ids": [str(other_id)]})
    assert nothing.status_code == 303
    assert "Cochez au moins une pièce jointe." in page(world.member.get(nothing.headers["Location"]))


# ------------------------------------------------------------------ deleting (DOC-3, DOC-4)


def test_deleting_asks_for_a_confirmation_then_the_document_is_gone_for_everyone(world):
    kept = add(world, pdf(), "garde.pdf", designation="À garder").id
    first = add(world, pdf(), "un.pdf", designation="Premier").id
    second = add(world, png(), "deux.png", designation="Second").id
    # One, from its row: a confirmation page first, nothing deleted yet.
    confirm = world.manager.get(f"{world.base}/supprimer?ids={first}")
    assert confirm.status_code == 200 and "Confirmer la suppression" in page(confirm) and "Premier" in page(confirm)
    assert len(documents()) == 3
    # Several checked: the same confirmation, then the deletion.
    asked = world.manager.post(f"{world.base}/supprimer", data={"ids": [str(first), str(second)]})
    assert asked.status_code == 200 and "Premier" in page(asked) and "Second" in page(asked)
    assert len(documents()) == 3
    done = world.manager.post(f"{world.base}/supprimer", data={"ids": [str(first), str(second)],
                                                               "confirme": "oui"})
    assert done.status_code == 303
    assert "2 pièces jointes supprimées." in page(world.manager.get(done.headers["Location"]))
    assert [d.id for d in documents()] == [kept]
    assert stored(first) == b"" and stored(second) == b""
    assert world.member.get(f"{world.base}/{first}").status_code == 404  # SPEC DOC-4: gone for everyone
    entries = db.session.execute(select(HistoryEntry.summary).where(HistoryEntry.action == "document.deleted")
                                 ).scalars().all()
    assert sorted(entries) == ["Pièce jointe « Premier » supprimée (un.pdf).",
                               "Pièce jointe « Second » supprimée (deux.png)."]


def test_another_structures_ids_are_not_deleted(world):
    upload(world.stranger, world.other_base, pdf(), "autre.pdf")
    theirs = documents()[-1]
    response = world.manager.post(f"{world.base}/supprimer", data={"ids": [str(theirs.id)], "confirme": "oui"})
    assert response.status_code == 303
    assert "n'existe" in page(world.manager.get(response.headers["Location"]))
    assert [d.id for d in documents()] == [theirs.id]


# ------------------------------------------------------------------ who may do what (DOC-4)


def test_members_list_and_download_but_neither_add_nor_delete(world):
    document = add(world, pdf(), "a.pdf", designation="Procédure achats")
    listing = page(world.member.get(world.base))
    assert "Procédure achats" in listing and "Télécharger" in listing
    assert "Ajouter" not in listing and "Supprimer" not in listing
    assert upload(world.member, world.base, pdf(), "b.pdf").status_code == 403
    assert world.member.post(f"{world.base}/supprimer", data={"ids": [str(document.id)],
                                                              "confirme": "oui"}).status_code == 403
    assert len(documents()) == 1


def test_administrators_see_the_list_but_not_the_contents(world):
    # Decision: an administrator sees every record read-only (core rule); the files are the structure's users'.
    document = add(world, pdf(), "rib.pdf", designation="RIB de la commune", type_code="rib")
    listing = page(world.admin.get(world.base))
    assert "RIB de la commune" in listing and "réservé aux utilisateurs rattachés" in listing
    assert "Télécharger" not in listing
    assert world.admin.get(f"{world.base}/{document.id}").status_code == 403
    assert world.admin.post(f"{world.base}/archive", data={"ids": [str(document.id)]}).status_code == 403


def test_strangers_do_not_learn_the_structure_exists(world):
    document = add(world, pdf(), "a.pdf")
    assert world.stranger.get(world.base).status_code == 404
    assert world.stranger.get(f"{world.base}/{document.id}").status_code == 404
    assert upload(world.stranger, world.base, pdf(), "b.pdf").status_code == 404
    assert world.stranger.post(f"{world.base}/archive", data={"ids": [str(document.id)]}).status_code == 404
    assert "Pièces jointes" not in page(world.stranger.get(f"/structures/{world.structure.id}"))


# ------------------------------------------------------------------ pages and fragments


def test_every_page_is_also_an_htmx_fragment(world):
    document = add(world, pdf(), "a.pdf")
    for url in (world.base, f"{world.base}/supprimer?ids={document.id}"):
        full, fragment = world.manager.get(url), world.manager.get(url, headers=HTMX)
        assert full.status_code == fragment.status_code == 200
        assert "<html" in page(full) and "<html" not in page(fragment) and "<title>" in page(fragment)


def test_the_list_is_paginated(world):
    for i in range(23):
        add(world, pdf(), f"f{i:02d}.pdf", designation=f"Pièce {i:02d}")
    first = page(world.member.get(world.base))
    assert "23 pièces jointes" in first and "Pièce 22" in first and "Pièce 02" not in first
    second = page(world.member.get(f"{world.base}?page=2"))
    assert "Pièce 02" in second and "Pièce 22" not in second
    record = page(world.member.get(f"/structures/{world.structure.id}"))
    assert "les 5 plus récentes" in record and "Toutes les pièces jointes" in record


def test_switched_off_nothing_of_it_shows(make_app, accounts):
    from helpers import make_structure

    application = make_app(DISABLED_PLUGINS=disabled_plugins("plugins.documents"))
    with application.app_context():
        structure = make_structure(accounts.create())
        client = application.test_client()
        accounts.login(client)
        record = page(client.get(f"/structures/{structure.id}"))
        assert "Fiche structure" in record and "Pièces jointes" not in record
        assert client.get(f"/structures/{structure.id}/pieces-jointes").status_code == 404


def test_the_demo_commune_has_documents_once(app):
    from chorus.demo import load_demo

    demo = load_demo()
    names = sorted(d.file_name for d in documents() if d.structure_id == demo["structure:commune"].id)
    assert names == ["fournisseurs.csv", "procedure-achats.txt"]
    assert load_demo()["created"] is False and len(documents()) == 2  # idempotent

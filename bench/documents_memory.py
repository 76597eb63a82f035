"""Peak memory of documents going in and out (SPEC DOC-2, DOC-3): `.venv/bin/python bench/documents_memory.py`.

Measured with tracemalloc (Python allocations) around one request of the Flask test client, on a fresh SQLite
database (or `--pg URL`): a 4 MB upload (body parsed to a spooled temporary file, type checked, written in
256 KiB chunks) and a ZIP of 20 documents of 4 MB streamed to the client and thrown away as it arrives. Each
figure is also given as a ratio to the bytes it moves: bounded memory means a small ratio that does not grow
with the files. Nothing here is asserted; tests never time or weigh anything.
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "plugins" / "documents")]

from documents_samples import MB4, pdf  # noqa: E402
from sqlalchemy import select  # noqa: E402
from werkzeug.datastructures import FileStorage  # noqa: E402
from werkzeug.test import encode_multipart  # noqa: E402

from chorus import create_app, migrations  # noqa: E402
from chorus.extensions import db  # noqa: E402
from helpers import Accounts, CSRFClient, make_structure  # noqa: E402

MB = 1024 * 1024


def measure(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(database_url: str, count: int) -> None:
    tmp = tempfile.mkdtemp()
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{tmp}/b.db",
                      "MAIL_DIR": tmp})
    app.test_client_class = CSRFClient
    with app.app_context():
        migrations.upgrade()
        accounts = Accounts()
        owner = accounts.create("bench@documents.example")
        structure = make_structure(owner, "Banc d'essai des pièces jointes")
        client = app.test_client()
        accounts.login(client, "bench@documents.example")
        base = f"/structures/{structure.id}/pieces-jointes"

        def body(i):
            part = FileStorage(io.BytesIO(pdf(MB4)), filename=f"piece-{i:02d}.pdf")
            boundary, data = encode_multipart({"fichier": part, "designation": f"Pièce {i}", "type_code": "contrat",
                                               "csrf_token": client.csrf_token()})
            return io.BytesIO(data), len(data), f"multipart/form-data; boundary={boundary}"

        peaks = []
        for i in range(count):
            stream, length, content_type = body(i)  # made before measuring: the client's bytes are not ours
            response, peak = measure(lambda s=stream, n=length, c=content_type: client.post(
                base, input_stream=s, content_type=c, headers={"Content-Length": str(n)}, csrf=False))
            assert response.status_code == 303, response.get_data(as_text=True)[:500]
            peaks.append(peak)
        from plugins.documents.models import Document

        db.session.rollback()  # see what the requests committed

        ids = db.session.execute(select(Document.id).where(Document.structure_id == structure.id)).scalars().all()

        def download_all():
            response = client.post(f"{base}/archive", data={"ids": [str(i) for i in ids]}, buffered=False)
            assert response.status_code == 200, response.status_code
            total = sum(len(piece) for piece in response.response)
            response.close()
            return total

        sent, zip_peak = measure(download_all)
        one_peak = max(peaks)
        print(f"{'operation':<44}{'bytes moved':>14}{'peak (MiB)':>12}{'peak / bytes':>14}")
        label_upload = f"upload of one 4 MiB file (worst of {count})"
        label_zip = f"ZIP of {len(ids)} documents of 4 MiB, streamed"
        print(f"{label_upload:<44}{MB4:>14}{one_peak / MB:>12.2f}"
              f"{one_peak / MB4:>14.3f}")
        print(f"{label_zip:<44}{sent:>14}{zip_peak / MB:>12.2f}"
              f"{zip_peak / sent:>14.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="", help="a PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument("--documents", type=int, default=20)
    args = parser.parse_args()
    run(args.pg, args.documents)

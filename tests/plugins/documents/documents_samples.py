"""Files of every kind the uploads meet, made in memory (tests and bench/documents_memory.py)."""
from __future__ import annotations

import io
import zipfile

MB4 = 4 * 1024 * 1024


def pdf(size: int = 2000, marker: bytes = b"") -> bytes:
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + marker
    return head + b"0" * (size - len(head) - 6) + b"%%EOF\n"


def png(size: int = 500) -> bytes:
    head = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    return head + b"\x00" * (size - len(head))


def zipped(entries: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def docx() -> bytes:
    return zipped({"[Content_Types].xml": b"<?xml version='1.0'?><Types/>", "word/document.xml": b"<w:document/>"})


def ods() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", b"application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        archive.writestr("content.xml", b"<office:document-content/>")
    return buffer.getvalue()


def zip_bomb(unpacked_mb: int = 101) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros.txt", "w") as member:
            block = b"\x00" * (1024 * 1024)
            for _ in range(unpacked_mb):
                member.write(block)
    return buffer.getvalue()


def upload(client, base, data: bytes, name: str, *, designation="Contrat de maintenance", type_code="contrat",
           headers=None):
    """POST the add form as a browser does (multipart, the file part named "fichier"); the body is built in memory
    (the test client would spool a large one to a temporary file it never closes)."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    part = FileStorage(io.BytesIO(data), filename=name, content_type="application/octet-stream")
    boundary, body = encode_multipart({"fichier": part, "designation": designation,
                                       "type_code": type_code, "csrf_token": client.csrf_token()})
    return client.post(base, data=body, content_type=f"multipart/form-data; boundary={boundary}",
                       headers=headers or {})

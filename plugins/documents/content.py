"""What a file really is, by its content, against the allow-list of office formats (SPEC DOC-4), and clean names.

`inspect(stream, file_name)` reads a seekable binary stream in bounded steps and returns the media type found,
or raises `Unacceptable` with a French message. The first bytes are matched by `puremagic`; ZIP containers are
opened to tell an office document (OOXML, OpenDocument) from a plain archive and to bound what they unpack to;
text is decoded and refused when it holds markup a browser would run (HTML, SVG, script).
"""
from __future__ import annotations

import codecs
import posixpath
import re
import unicodedata
import zipfile
from dataclasses import dataclass

import puremagic
from pathvalidate import sanitize_filename

READ_STEP = 64 * 1024
MAX_NAME_LENGTH = 180  # characters, extension included; well under the 255 bytes of most file systems
ZIP_MAX_ENTRIES = 1000
ZIP_MAX_UNPACKED = 100 * 1024 * 1024  # what an archive may unpack to, all entries together (zip bombs)

# Media type -> the extensions a file of that type may carry.
ALLOWED = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/gif": (".gif",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
    "text/plain": (".txt",),
    "text/csv": (".csv",),
    "application/xml": (".xml",),
    "application/zip": (".zip",),
}
EXTENSIONS = sorted({e for exts in ALLOWED.values() for e in exts})
ALLOWED_LABEL = "PDF, PNG, JPEG, GIF, DOCX, XLSX, ODT, ODS, TXT, CSV, XML ou ZIP"

BINARY_MAGIC = {"application/pdf", "image/png", "image/jpeg", "image/gif"}
OOXML = {"word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
ODF = {"application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet"}
# Markup a browser would render or run, refused in any text file (searched in lower case): these elements with or
# without a namespace prefix (<x:script xmlns:x="...xhtml">), the XHTML and SVG namespaces themselves (an .xml file
# opened in a browser renders them), event handlers (spaces allowed before their `=`) and javascript: URLs.
ACTIVE_MARKUP = re.compile(
    r"<\s*/?\s*(?:[\w.-]+:)?(?:script|svg|html|iframe|object|embed|body|frameset)\b|<!doctype\s+html|<\?xml-stylesheet"
    r"|javascript:|\bon(?:load|error)\s*=|http://www\.w3\.org/(?:1999/xhtml|2000/svg)")
ARCHIVE_EXTENSIONS = (".zip", ".jar", ".7z", ".rar", ".gz", ".tgz", ".bz2", ".xz", ".tar", ".cab", ".iso", ".zst",
                      ".lz", ".lzma", ".z", ".arj", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".apk")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")  # what text never holds (tab, LF, FF, CR allowed)
ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08", b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"Rar!",
                 b"BZh", b"\xfd7zXZ\x00", b"MSCF", b"\x28\xb5\x2f\xfd")


class Unacceptable(Exception):
    """The file is refused; the message is French and says why."""


@dataclass(frozen=True)
class Inspection:
    media_type: str
    size: int


def extension_of(name: str) -> str:
    return posixpath.splitext(name)[1].lower()


def clean_file_name(raw: str | None) -> str:
    """A name safe to show and to give back in Content-Disposition: the last path segment, NFC, without control,
    format (RTL override, zero width) or unassigned characters, without the characters Windows forbids nor its
    device names (CON, NUL...), no leading dot, at most MAX_NAME_LENGTH characters with its extension kept."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(" " if unicodedata.category(c) in ("Zs", "Zl", "Zp") else c for c in name
                   if unicodedata.category(c) not in ("Cc", "Cf", "Cn", "Co", "Cs"))
    name = " ".join(name.split())
    name = name.strip(" ").rstrip(".")
    if name.startswith(".") and name.count(".") == 1 and len(name) > 1:
        name = "document" + name  # ".pdf": a name that is only an extension
    name = name.lstrip(". ")
    stem, ext = posixpath.splitext(name)
    if not stem:
        stem, ext = (ext.lstrip(".") or "document"), ""
    if len(ext) > 20:
        stem, ext = stem + ext, ""
    stem = stem[:MAX_NAME_LENGTH - len(ext)]
    name = sanitize_filename(stem + ext, platform="universal", replacement_text="_", max_len=255).strip(" ")
    stem, ext = posixpath.splitext(name)
    stem = stem.rstrip(" .") or "document"
    return sanitize_filename(stem + ext, platform="universal", replacement_text="_")


def _read(stream, n: int) -> bytes:
    return stream.read(n)


def inspect(stream, file_name: str) -> Inspection:
    """The media type of the content of `stream` (seekable, at any position), checked against `file_name`."""
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    if size == 0:
        raise Unacceptable("Le fichier est vide.")
    ext = extension_of(file_name)
    if ext not in EXTENSIONS:
        raise Unacceptable(f"Ce type de fichier n'est pas accepté : choisissez un fichier {ALLOWED_LABEL}.")
    head = stream.read(8192)
    stream.seek(0)
    try:
        found = {m.mime_type for m in puremagic.magic_string(head)}
    except puremagic.PureError:
        found = set()
    if "image/svg+xml" in found or "text/html" in found:
        raise Unacceptable("Les pages HTML et les images SVG ne sont pas acceptées : elles peuvent contenir du "
                           "code exécutable.")
    if head[:4] in ZIP_MAGIC:
        media_type = _inspect_zip(stream, ext)
    elif found & BINARY_MAGIC:
        media_type = next(m for m in ("application/pdf", "image/png", "image/jpeg", "image/gif") if m in found)
    else:
        media_type = _inspect_text(stream, ext)
    if ext not in ALLOWED[media_type]:
        raise Unacceptable(f"Le contenu du fichier ne correspond pas à son extension ({ext}) : c'est un fichier "
                           f"{ALLOWED[media_type][0][1:].upper()}.")
    stream.seek(0)
    return Inspection(media_type, size)


def _inspect_text(stream, ext: str) -> str:
    """Text in UTF-8 (with or without BOM) or Windows-1252 (French spreadsheets' CSV), with no control character but
    tab, line ends and form feed, and no active markup; XML when it says so."""
    if ext not in (".txt", ".csv", ".xml"):
        raise Unacceptable(f"Ce fichier n'est pas d'un type accepté : choisissez un fichier {ALLOWED_LABEL}.")
    for encoding in ("utf-8-sig", "cp1252"):
        stream.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        tail, first = "", None
        try:
            while True:
                block = stream.read(READ_STEP)
                text = decoder.decode(block, final=not block)
                if first is None:
                    first = text.lstrip()[:200]
                window = (tail + text).lower()
                if CONTROL.search(text):
                    raise Unacceptable("Ce fichier n'est pas un fichier texte : son contenu ne correspond pas à son "
                                       f"extension ({ext}).")
                if ACTIVE_MARKUP.search(window):
                    raise Unacceptable("Ce fichier contient du HTML, du SVG ou du script : il n'est pas accepté.")
                tail = window[-32:]
                if not block:
                    break
        except UnicodeDecodeError:
            continue
        if ext == ".xml":
            if not (first or "").startswith("<"):
                raise Unacceptable("Le contenu du fichier ne correspond pas à son extension (.xml) : ce n'est pas "
                                   "du XML.")
            return "application/xml"
        return "text/csv" if ext == ".csv" else "text/plain"
    raise Unacceptable(f"Ce fichier n'est pas un fichier texte : son contenu ne correspond pas à son extension "
                       f"({ext}).")


def _inspect_zip(stream, ext: str) -> str:
    """An office document (OOXML, OpenDocument) or a plain archive; either way bounded in entries and in what it
    unpacks to (counted while inflating, not taken from the headers), with no absolute or "..": names. A plain
    archive may not hold another archive; an office document may not hold macros."""
    try:
        archive = zipfile.ZipFile(stream)
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise Unacceptable("Cette archive est endommagée ou n'est pas une archive ZIP.")
    if not entries:
        raise Unacceptable("Cette archive est vide.")
    if len(entries) > ZIP_MAX_ENTRIES:
        raise Unacceptable(f"Cette archive contient plus de {ZIP_MAX_ENTRIES} fichiers.")
    names = {e.filename for e in entries}
    if "[Content_Types].xml" in names and any(n in names for n in OOXML):
        media_type = next(OOXML[n] for n in OOXML if n in names)
        office = True
    elif "mimetype" in names:
        declared = archive.read("mimetype")[:100].decode("ascii", "replace").strip()
        if declared not in ODF:
            raise Unacceptable(f"Ce document n'est pas d'un type accepté : choisissez un fichier {ALLOWED_LABEL}.")
        media_type, office = declared, True
    else:
        media_type, office = "application/zip", False
    unpacked = 0
    for entry in entries:
        name = entry.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/") or ":" in name.split("/")[0]:
            raise Unacceptable("Cette archive contient un chemin interdit (« .. » ou chemin absolu).")
        if entry.flag_bits & 0x1:
            raise Unacceptable("Les archives protégées par un mot de passe ne sont pas acceptées.")
        lower = name.lower()
        if office and lower.endswith("vbaproject.bin"):
            raise Unacceptable("Les documents contenant des macros ne sont pas acceptés.")
        if not office and lower.endswith(ARCHIVE_EXTENSIONS):
            raise Unacceptable("Une archive ne peut pas contenir d'autre archive.")
        if entry.is_dir():
            continue
        try:
            with archive.open(entry) as member:
                first = True
                while True:
                    block = member.read(READ_STEP)
                    if not block:
                        break
                    if first and not office and block.startswith(ARCHIVE_MAGIC):
                        raise Unacceptable("Une archive ne peut pas contenir d'autre archive.")
                    first = False
                    unpacked += len(block)
                    if unpacked > ZIP_MAX_UNPACKED:
                        raise Unacceptable("Cette archive se décompresse en plus de "
                                           f"{ZIP_MAX_UNPACKED // (1024 * 1024)} Mo : elle n'est pas acceptée.")
        except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, RuntimeError, ValueError):
            raise Unacceptable("Cette archive est endommagée ou utilise une compression non prise en charge.")
    return media_type

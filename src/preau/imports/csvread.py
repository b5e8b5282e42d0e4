"""Reading CSV files for the importers (BE1D, generic CSV): encoding and delimiter told from the file, rows
streamed with the line number they start on (the report's "enregistrement").

Encoding: a UTF-8 or UTF-16 byte order mark decides; otherwise each line is decoded as UTF-8, and the first line
that is not valid UTF-8 switches the file to Windows-1252 (the superset of Latin-1 that Excel and ONDE write) —
provided no earlier line needed UTF-8. A line that neither encoding reads stops the file there, reported in French.
Delimiter: the most frequent of `;`, `,` and tab in the header line (outside quotes); `;` when none.

The file is read line by line (a line is at most MAX_LINE_BYTES), never whole: memory stays flat.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

from .engine import FileUnreadable

MAX_LINE_BYTES = 64 * 1024
DELIMITERS = (";", ",", "\t")
DELIMITER_NAMES = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "cp1252": "Windows-1252 (Latin-1)",
                  "ascii": "ASCII"}
# Control characters other than tab, CR and LF: a text export never has them, a binary file nearly always does.
BINARY_RE = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
SEP_RE = re.compile(r"^sep=([;,\t])\s*$", re.IGNORECASE)


class CsvUnreadable(FileUnreadable):
    """The file cannot be read as CSV (from its start, or from some line on); `reason` is in French."""


def normalize(text: str) -> str:
    """A header folded for matching: lowercase, without accents, punctuation as spaces ("Prénom(s)" → "prenoms",
    "Date_naissance" → "date naissance", "N°" → "n")."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    text = re.sub(r"[()°º]", "", text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


@dataclass
class _Decoder:
    """Decodes a file's lines, settling on UTF-8 or Windows-1252 at the first line that is not ASCII."""

    encoding: str | None = None  # None until a non-ASCII line settles it

    def decode(self, raw: bytes, line: int) -> str:
        if self.encoding is None and not raw.isascii():
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.encoding = "cp1252"
            else:
                self.encoding = "utf-8"
                return text
        try:
            return raw.decode(self.encoding or "ascii")
        except UnicodeDecodeError as exc:
            raise CsvUnreadable(_(
                "Ligne %(line)d : caractères illisibles en %(encoding)s (octet 0x%(byte)02X, position %(pos)d). Les "
                "lignes précédentes ont été lues, les suivantes non ; réenregistrez le fichier en UTF-8.") % {
                "line": line, "encoding": ENCODING_NAMES.get(self.encoding or "ascii", self.encoding),
                "byte": raw[exc.start], "pos": exc.start + 1}) from None


def _physical_lines(path: Path, decoder: _Decoder) -> Iterator[tuple[int, str]]:
    """(line number from 1, decoded line with its end of line) for each line of the file."""
    with open(path, "rb") as raw:
        start = raw.read(4)
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            decoder.encoding = "utf-16"
            raw.seek(0)
            text = io.TextIOWrapper(raw, encoding="utf-16", newline="")
            number = 0
            try:
                while line := text.readline(MAX_LINE_BYTES + 1):
                    number += 1
                    _check_line(line, number, len(line) > MAX_LINE_BYTES)
                    yield number, line
            except UnicodeDecodeError as exc:
                raise CsvUnreadable(_("Ligne %(line)d : caractères illisibles en UTF-16. Les lignes précédentes ont "
                                      "été lues, les suivantes non.") % {"line": number + 1}) from exc
            return
        if start.startswith(codecs.BOM_UTF8):
            decoder.encoding = "utf-8"
            raw.seek(len(codecs.BOM_UTF8))
        else:
            raw.seek(0)
        number = 0
        while line := raw.readline(MAX_LINE_BYTES + 1):
            number += 1
            _check_line(line, number, len(line) > MAX_LINE_BYTES)
            yield number, decoder.decode(line, number)


def _check_line(line: str | bytes, number: int, too_long: bool) -> None:
    if too_long:
        raise CsvUnreadable(_("Ligne %(line)d trop longue (plus de %(max)d octets) : ce n'est pas un fichier CSV "
                              "d'annuaire. Les lignes précédentes ont été lues, les suivantes non.")
                            % {"line": number, "max": MAX_LINE_BYTES})
    if (b"\x00" in line) if isinstance(line, bytes) else ("\x00" in line):
        raise CsvUnreadable(_("Ligne %(line)d : octet nul, le fichier n'est pas un fichier texte. Les lignes "
                              "précédentes ont été lues, les suivantes non.") % {"line": number})


def _delimiter(line: str) -> str:
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ";"


class CsvFile:
    """One CSV file read as a header and a stream of rows. Use as a context manager, or just iterate `rows()`.

    `header`: the first line's cells, stripped. `rows()`: (line number, cells) for each non-blank row after the
    header, cells stripped; raises CsvUnreadable when the file stops being readable.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._check_start()
        self._decoder = _Decoder()
        self._lines = _physical_lines(self.path, self._decoder)
        self._line = 0
        first = self._next_line()
        if first is not None and (match := SEP_RE.match(first)):  # Excel's "sep=;" first line
            self.delimiter = match.group(1)
            first = self._next_line()
        else:
            self.delimiter = _delimiter(first or "")
        if first is None or not first.strip():
            self.close()
            raise CsvUnreadable(_("Fichier vide, ou première ligne vide : la première ligne doit être celle des "
                                  "en-têtes de colonnes."))
        self.header = [cell.strip() for cell in next(csv.reader([first], delimiter=self.delimiter))]
        while self.header and not self.header[-1]:  # a trailing delimiter (Excel, ONDE) adds an empty column
            self.header.pop()

    def _check_start(self) -> None:
        try:
            with open(self.path, "rb") as raw:
                sample = raw.read(8192)
        except OSError as exc:
            raise CsvUnreadable(_("Fichier introuvable ou illisible (%(error)s).") % {
                "error": exc.strerror or exc}) from None
        if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return
        if not sample.strip(codecs.BOM_UTF8 + b" \r\n\t"):
            raise CsvUnreadable(_("Fichier vide."))
        if BINARY_RE.search(sample):
            raise CsvUnreadable(_("Fichier binaire, pas un fichier texte CSV (un classeur Excel ou un PDF ?) : "
                                  "enregistrez-le au format CSV."))

    def _next_line(self) -> str | None:
        try:
            self._line, line = next(self._lines)
        except StopIteration:
            return None
        return line

    @property
    def encoding(self) -> str:
        """The encoding settled so far ("ascii" while every line read was ASCII)."""
        return self._decoder.encoding or "ascii"

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        starts: list[int] = []

        def lines() -> Iterator[str]:
            while (line := self._next_line()) is not None:
                starts.append(self._line)
                yield line

        reader = csv.reader(lines(), delimiter=self.delimiter, strict=False)
        try:
            for cells in reader:
                number = starts[0] if starts else self._line
                starts.clear()
                if any(cell.strip() for cell in cells):
                    yield number, [cell.strip() for cell in cells]
        except csv.Error as exc:
            error = (_("valeur trop longue : un guillemet n'est-il pas refermé ?") if "field larger" in str(exc)
                     else str(exc))
            raise CsvUnreadable(_("Ligne %(line)d : CSV mal formé (%(error)s). Les lignes précédentes ont été "
                                  "lues, les suivantes non.") % {"line": starts[0] if starts else self._line,
                                                                 "error": error}) from None
        finally:
            self.close()

    def close(self) -> None:
        self._lines.close()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_header(path: str | Path) -> list[str]:
    """The column headers of a CSV file (first line), trailing empty columns dropped. Raises CsvUnreadable (with
    a French message) on a missing, empty, binary or undecodable file."""
    with CsvFile(path) as file:
        return file.header

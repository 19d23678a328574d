"""Reading the files people bring: CSV (any usual delimiter, Excel's BOM), JSONL and Parquet, each mistake one line.

A project's sources (where its examples come from) read their files through here, and so do `predict --file`,
the report and `collect`.
"""

import csv
import io
import json
from pathlib import Path

from .errors import UserError

FORMATS = (".csv", ".jsonl", ".parquet")

# Spreadsheets export long cells; csv's default limit (131,072 characters) would refuse a long text outright.
csv.field_size_limit(2**31 - 1)
DELIMITERS = (",", ";", "\t")  # Excel writes ';' where ',' is the decimal mark; a .csv may also hold tabs


def decode(path: Path, encoding: str = "utf-8", other: str = "set data.encoding to its encoding, e.g. cp1252") -> str:
    """The file's text; a UTF-8 byte-order mark (Excel's "CSV UTF-8") is dropped; a wrong encoding names the line.

    `other` is the second way out the message offers (the first: re-save the file as UTF-8).
    """
    data = path.read_bytes()
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        return data.decode(codec)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise UserError(
            f"{path} line {line} is not {encoding} text (byte 0x{data[err.start]:02x}): re-save the file as UTF-8 "
            f"(Excel: CSV UTF-8), or {other}."
        ) from None


def sniff_delimiter(header: str) -> str:
    """The delimiter that splits the header line into the most columns (',' on a tie)."""
    return max(DELIMITERS, key=lambda d: (len(next(csv.reader([header], delimiter=d), [])), d == ","))


def read_table(path: Path, encoding: str = "utf-8") -> list[dict]:
    """Read a CSV (any of DELIMITERS, optional BOM), JSONL or Parquet file into a list of row dicts."""
    if not path.is_file():
        raise UserError(f"data file {path} does not exist: check data.path in your config.")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path).to_pylist()
        except (OSError, ValueError) as err:
            raise UserError(f"{path} is not a readable parquet file ({err}): fix or re-export it.") from None
    if suffix not in FORMATS:
        raise UserError(f"{path} has an unsupported format: use one of {', '.join(FORMATS)}.")
    text = decode(path, encoding)
    if suffix == ".jsonl":
        rows = []
        for number, line in enumerate(text.split("\n"), 1):  # not splitlines(): U+2028 may sit inside a text
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise UserError(f"{path} line {number} is not JSON ({err.msg}): fix or remove that line.") from None
            if not isinstance(row, dict):
                raise UserError(f"{path} line {number} is not a JSON object: write one object per line.")
            rows.append(row)
        return rows
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text.split("\n", 1)[0]))
    try:
        return list(reader)
    except csv.Error as err:
        raise UserError(f"{path} line {reader.line_num} is not valid CSV ({err}): fix or re-export it.") from None


def read_collected_jsonl(path: Path) -> tuple[list[dict], int]:
    """The rows of one JSONL file that have string id, text and label, and the number of unreadable lines."""
    rows, bad = [], 0
    # errors="replace": a kill can cut a multi-byte character; that line then fails to parse and is skipped
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            if isinstance(row, dict) and all(isinstance(row.get(k), str) for k in ("id", "text", "label")):
                rows.append(row)
            else:
                bad += 1
    return rows, bad

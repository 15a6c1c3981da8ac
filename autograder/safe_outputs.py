"""Student data the grader reads or shows, made safe (ARCHITECTURE.md, "The trust boundary").

Reading: ``read_student_file`` opens a file the submission side controls (a submitted notebook, a
file in the submissions folder) without following a symlink and without blocking on a FIFO, accepts
a regular file only and reads at most a cap; ``parse_notebook_json`` refuses a notebook whose JSON
holds more values than any real notebook (junk metadata costs the grader GiB in nbformat).

Showing: ``sanitize_notebook`` makes the autograded notebook safe to render, so that formgrader and
nbgrader's feedback HTML never run student script: rich outputs other than PNG/JPEG pictures
(text/html, SVG, JavaScript, Markdown, LaTeX, JSON, widgets, ...) become escaped ``text/plain`` with a
note; raw HTML in Markdown and raw cells is escaped (code spans stay as they are); cell tags, ids,
attachments and output metadata are reduced to values that cannot break out of an attribute.
``CSP`` is the Content-Security-Policy put into every page the instructor opens.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

from .messages import text

# Pages the instructor opens run no script at all, embed no plugin or frame.
CSP = "script-src 'none'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'"
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'

MAX_JSON_VALUES = 250_000  # a real notebook has a few thousand; 13 MiB of junk metadata has millions
MAX_TEXT_CHARS = 20_000  # of a rich output shown as text instead

# --- reading files the submission side controls ----------------------------------------------

class RefusedFile(Exception):
    """Not read: ``reason`` is 'missing', 'not_regular' (symlink, FIFO, device, folder) or 'too_large'."""

    def __init__(self, reason: str, size: int = 0, limit: int = 0):
        super().__init__(reason)
        self.reason, self.size, self.limit = reason, size, limit


def open_regular(path, flags: int = os.O_RDONLY) -> int:
    """A descriptor of ``path`` if it is a regular file (no symlink followed, no FIFO waited on)."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise RefusedFile("missing") from None
    except OSError as error:  # ELOOP: a symlink; ENXIO: a FIFO/socket without peer
        raise RefusedFile("not_regular") from error
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise RefusedFile("not_regular")
    return fd


def read_student_file(path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``, else ``RefusedFile`` (nothing read)."""
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise RefusedFile("too_large", size, max_bytes)
        chunks, total = [], 0
        while True:  # (the file may grow while it is read: the cap holds for what is read)
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise RefusedFile("too_large", total, max_bytes)
        return b"".join(chunks)
    finally:
        os.close(fd)


def count_json_values(value, limit: int) -> int:
    """Values (containers and scalars) in parsed JSON, counting stops past ``limit``."""
    count, stack = 0, [value]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def parse_notebook_json(data: bytes, max_values: int = MAX_JSON_VALUES) -> dict:
    """The notebook's JSON (a dict), or ``RefusedFile('too_large')`` when it holds more than
    ``max_values`` values; ``ValueError`` when it is no JSON object.

    The values are estimated before parsing from the separators outside strings (a regular
    expression over the bytes, no objects built): junk is refused at the cost of two passes over
    the file instead of building millions of Python objects."""
    separators = sum(data.count(c) for c in (b",", b"[", b"{"))
    if separators > max_values:  # (text in strings may hold them too: subtract those)
        for match in _JSON_STRING.finditer(data):
            start, end = match.span()
            if end - start > 2:
                separators -= sum(data.count(c, start, end) for c in (b",", b"[", b"{"))
    if separators > max_values:
        raise RefusedFile("too_large", separators, max_values)
    document = json.loads(data)
    if not isinstance(document, dict):
        raise ValueError("kein JSON-Objekt / not a JSON object")
    values = count_json_values(document, max_values)
    if values > max_values:
        raise RefusedFile("too_large", values, max_values)
    return document


# --- making a notebook safe to render ----------------------------------------------------------

SAFE_IMAGES = ("image/png", "image/jpeg")
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')  # a JSON string, escapes included
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_CODE = re.compile(r"(^```[^`\n]*\n.*?^ {0,3}`{3,}[ \t]*$|^~~~[^\n]*\n.*?^ {0,3}~{3,}[ \t]*$"  # fenced blocks
                   r"|(?<![\\`])(`+)[^`\n]+\2(?!`))", re.S | re.M)  # `spans` (on one line)
_TAG = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_MERE_REPR = re.compile(r"^<[\w.]+ object( at 0x[0-9a-fA-F]+)?>$")
_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def escape_markdown_html(source: str) -> str:
    """Raw HTML in Markdown shown as text: '<' that starts a tag becomes '&lt;' outside code
    (fenced blocks and `spans` render their content escaped anyway and stay untouched)."""
    parts, last = [], 0
    for match in _CODE.finditer(source):
        parts += [_TAG_START.sub("&lt;", source[last:match.start()]), match.group(0)]
        last = match.end()
    return "".join(parts) + _TAG_START.sub("&lt;", source[last:])


def _as_text(value) -> str:
    if isinstance(value, list):
        value = "".join(str(v) for v in value)
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, default=str)[:MAX_TEXT_CHARS + 1]
    return value


def _clip(value: str, language: str) -> str:
    if len(value) <= MAX_TEXT_CHARS:
        return value
    return value[:MAX_TEXT_CHARS] + text("outputs.cut", language, chars=len(value))


def _safe_image_metadata(metadata) -> dict:
    kept = {}
    for mimetype in SAFE_IMAGES:
        entry = metadata.get(mimetype) if isinstance(metadata, dict) else None
        if isinstance(entry, dict):
            size = {k: entry[k] for k in ("width", "height")
                    if isinstance(entry.get(k), (int, float)) and not isinstance(entry.get(k), bool)}
            if size:
                kept[mimetype] = size
    return kept


def sanitize_output(output, language: str = "de"):
    """One output as safe to render, or None when nothing of it can be kept."""
    import nbformat

    if not isinstance(output, dict):
        return None
    kind = output.get("output_type")
    if kind == "stream":
        return nbformat.v4.new_output("stream", name="stderr" if output.get("name") == "stderr" else "stdout",
                                      text=_clip(_as_text(output.get("text", "")), language))
    if kind == "error":
        traceback = output.get("traceback")
        return nbformat.v4.new_output("error", ename=_clip(_as_text(output.get("ename", "")), language)[:200],
                                      evalue=_clip(_as_text(output.get("evalue", "")), language),
                                      traceback=[_clip(_as_text(line), language) for line in traceback[:200]]
                                      if isinstance(traceback, list) else [])
    if kind not in ("display_data", "execute_result"):
        return None
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    clean: dict = {}
    for mimetype in SAFE_IMAGES:
        value = data.get(mimetype)
        if isinstance(value, list):
            value = "".join(v for v in value if isinstance(v, str))
        if isinstance(value, str) and _BASE64.match(value):
            clean[mimetype] = value
    others = sorted(str(key) for key in data if key not in SAFE_IMAGES and key != "text/plain")
    plain = _as_text(data["text/plain"]) if "text/plain" in data else None
    if others and (plain is None or _MERE_REPR.match(plain.strip())):
        # e.g. display(HTML(...)): its text/plain only names the object; show the source as text
        first = "text/html" if "text/html" in others else others[0]
        plain = text("outputs.as_text", language, mimetype=first) + "\n" + _as_text(data[first])
        others.remove(first)
    if plain is not None:
        clean["text/plain"] = _clip(plain, language)
    if others:
        clean["text/plain"] = clean.get("text/plain", "") + "\n" + text("outputs.removed", language,
                                                                        mimetypes=", ".join(others)[:200])
    if not clean:
        return None
    if kind == "execute_result":
        count = output.get("execution_count")
        return nbformat.v4.new_output("execute_result", data=clean, metadata=_safe_image_metadata(output.get("metadata")),
                                      execution_count=count if isinstance(count, int) and not isinstance(count, bool)
                                      else None)
    return nbformat.v4.new_output("display_data", data=clean, metadata=_safe_image_metadata(output.get("metadata")))


def _safe_attachments(attachments) -> dict:
    kept = {}
    if isinstance(attachments, dict):
        for name, bundle in attachments.items():
            if not (isinstance(name, str) and _TAG.match(name) and isinstance(bundle, dict)):
                continue
            images = {m: v for m, v in bundle.items() if m in SAFE_IMAGES and isinstance(v, str) and _BASE64.match(v)}
            if images:
                kept[name] = images
    return kept


def sanitize_notebook(nb, language: str = "de"):
    """``nb`` (changed in place and returned) safe to render as HTML; see the module's docstring."""
    import uuid

    metadata = nb.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("widgets", None)  # nbconvert would embed the state and load the widget manager
    for cell in nb.get("cells", []):
        cell_metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        cell["metadata"] = cell_metadata
        tags = cell_metadata.get("tags")
        if tags is not None:
            cell_metadata["tags"] = [t for t in tags if isinstance(t, str) and _TAG.match(t)] \
                if isinstance(tags, list) else []
        if "id" in cell and not (isinstance(cell["id"], str) and _CELL_ID.match(cell["id"])):
            cell["id"] = uuid.uuid4().hex[:8]
        source = _as_text(cell.get("source", ""))
        kind = cell.get("cell_type")
        if kind == "markdown":
            cell["source"] = escape_markdown_html(source)
            if "attachments" in cell:
                cell["attachments"] = _safe_attachments(cell["attachments"])
        elif kind == "raw":
            cell["source"] = _TAG_START.sub("&lt;", source)
            cell_metadata.pop("raw_mimetype", None)
            cell_metadata.pop("format", None)
            cell.pop("attachments", None)
        elif kind == "code":
            outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
            cell["outputs"] = [clean for clean in (sanitize_output(o, language) for o in outputs) if clean is not None]
    return nb


def add_csp(page: str) -> str:
    """``page`` (HTML) with the Content-Security-Policy meta tag first in its head (once)."""
    if CSP_META in page:
        return page
    match = re.search(r"<head\b[^>]*>", page, re.I)
    if match:
        return page[:match.end()] + CSP_META + page[match.end():]
    return CSP_META + page


def add_csp_to_file(path: Path) -> None:
    path = Path(path)
    fd = open_regular(path)  # (nbgrader wrote it; still: no link followed)
    with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as handle:
        page = handle.read()
    secured = add_csp(page)
    if secured != page:
        scratch = path.with_name(f".{path.name}.csp-tmp")
        scratch.write_text(secured, encoding="utf-8")
        os.replace(scratch, path)

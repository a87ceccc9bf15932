"""Reading articles: seed text, Markdown, JSON/JSONL, HTML, URLs, stdin, directories, and every bad input."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from summarizer.errors import InputError
from summarizer.load import MAX_BYTES, Document, expand, load, load_one, parse_plain, parse_text, read_path

SEED_000 = "000_b0e4f62f26070745.txt"
SEED_001 = "001_5f4370996e979ae7.txt"

ARTICLE_PARAGRAPHS = [
    "Militants attacked the Ghweran prison in the Syrian city of Hasakah on Thursday night, "
    "according to the Syrian Democratic Forces.",
    "The attack began with a car bomb near the main gate, and fighting continued into the next "
    "morning in the surrounding neighborhoods.",
    "A spokesperson said that several inmates had escaped and that security forces had imposed a "
    "cordon around the area.",
]
MENU_ITEMS = ["Home", "World", "Sport", "Subscribe to our newsletter today"]
FOOTER = "Copyright 2022 Example News. All rights reserved."
SIDEBAR = "Celebrity chef opens new restaurant"

PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Prison attack in Hasakah | Example News</title>
<meta property="og:site_name" content="Example News">
</head>
<body>
<header><nav class="menu"><ul>
{"".join(f'<li><a href="/{i}">{item}</a></li>' for i, item in enumerate(MENU_ITEMS))}
</ul></nav></header>
<main>
<article>
<h1>Prison attack in Hasakah</h1>
{"".join(f"<p>{p}</p>" for p in ARTICLE_PARAGRAPHS)}
</article>
</main>
<aside class="sidebar"><h3>Most read</h3><ul><li><a href="/a">{SIDEBAR}</a></li></ul></aside>
<footer><p>{FOOTER}</p><p>Privacy policy | Cookie settings | Contact us</p></footer>
</body></html>
"""


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def one_error(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        call()
    return str(info.value)


# -- the seed format ---------------------------------------------------------------------------
def test_seed_with_repeated_title_and_date(seeds_dir: Path) -> None:
    path = seeds_dir / SEED_000
    raw = path.read_text(encoding="utf-8")
    lines = raw.split("\n")
    title = lines[0]
    nonblank = [line for line in lines if line.strip()]
    assert nonblank[1] == title  # the title is repeated
    date_line = nonblank[2]
    [doc] = read_path(path)
    assert doc.title == title
    assert doc.published == date_line.strip()
    assert doc.origin == str(path)
    assert doc.text == raw.split(date_line, 1)[1].strip()
    assert title not in doc.text.split("\n", 1)[0]
    assert date_line not in doc.text
    assert doc.text.startswith("Shafaq News/")


def test_seed_without_repeated_title_or_date(seeds_dir: Path) -> None:
    path = seeds_dir / SEED_001
    raw = path.read_text(encoding="utf-8")
    title, rest = raw.split("\n", 1)
    [doc] = read_path(path)
    assert doc.title == title
    assert doc.published is None
    assert doc.text == rest.strip()


def test_parse_plain_single_paragraph_is_the_body() -> None:
    doc = parse_plain("Just one line of text that is the whole article.", "x.txt")
    assert doc.text == "Just one line of text that is the whole article."


def test_title_without_body_is_an_error() -> None:
    message = one_error(lambda: parse_plain("A title\n\nA title\n2022-01-01\n", "t.txt"))
    assert message.startswith("t.txt: ")
    assert "no body" in message


def test_sha256_identifies_title_and_text() -> None:
    a = Document(title="T", text="Body.", origin="a")
    b = Document(title="T", text="Body.", origin="b", url="https://x")
    c = Document(title="T", text="Body!", origin="a")
    assert a.sha256 == b.sha256
    assert a.sha256 != c.sha256


# -- Markdown ----------------------------------------------------------------------------------
def test_markdown_with_front_matter_and_heading(tmp_path: Path) -> None:
    text = (
        "---\nurl: https://example.org/story\npublished: 2022-01-21\nsource: Example News\n---\n"
        "# Prison attack in Hasakah\n\nMilitants attacked the prison.\n\nSeveral inmates escaped.\n"
    )
    [doc] = read_path(write(tmp_path / "story.md", text))
    assert doc.title == "Prison attack in Hasakah"
    assert doc.url == "https://example.org/story"
    assert doc.published == "2022-01-21"
    assert doc.source == "Example News"
    assert doc.text == "Militants attacked the prison.\n\nSeveral inmates escaped."
    assert "---" not in doc.text and "#" not in doc.text


def test_markdown_front_matter_title_wins(tmp_path: Path) -> None:
    text = "---\ntitle: From front matter\n---\nMilitants attacked the prison.\n"
    [doc] = read_path(write(tmp_path / "story.md", text))
    assert doc.title == "From front matter"
    assert doc.text == "Militants attacked the prison."


def test_markdown_heading_detected_without_suffix() -> None:
    [doc] = parse_text("# Heading title\n\nBody text here.\n", "<stdin>")
    assert (doc.title, doc.text) == ("Heading title", "Body text here.")


def test_markdown_bad_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.md", "---\ntitle: [unclosed\n---\nBody.\n")
    message = one_error(lambda: read_path(path))
    assert message.startswith(f"{path}: ")
    assert "front matter" in message


# -- JSON --------------------------------------------------------------------------------------
def test_json_object(tmp_path: Path) -> None:
    record = {
        "title": "T",
        "text": "Body one.\r\nBody two.",
        "url": "https://example.org/a",
        "published": "2022-01-21",
        "source": "S",
    }
    path = write(tmp_path / "a.json", json.dumps(record))
    [doc] = read_path(path)
    assert (doc.title, doc.text, doc.url, doc.published, doc.source) == (
        "T",
        "Body one.\nBody two.",
        "https://example.org/a",
        "2022-01-21",
        "S",
    )
    assert doc.origin == str(path)


def test_json_list(tmp_path: Path) -> None:
    records = [{"title": "A", "text": "Body A."}, {"title": "B", "body": "Body B."}, {"content": "First line\nmore"}]
    path = write(tmp_path / "list.json", json.dumps(records))
    docs = read_path(path)
    assert [d.title for d in docs] == ["A", "B", "First line"]
    assert [d.text for d in docs] == ["Body A.", "Body B.", "First line\nmore"]
    assert [d.origin for d in docs] == [f"{path}[0]", f"{path}[1]", f"{path}[2]"]


def test_jsonl_one_document_per_line(tmp_path: Path) -> None:
    lines = [json.dumps({"title": "A", "text": "Body A."}), "", json.dumps({"title": "B", "text": "Body B."})]
    path = write(tmp_path / "docs.jsonl", "\n".join(lines) + "\n")
    docs = read_path(path)
    assert [d.title for d in docs] == ["A", "B"]
    assert [d.origin for d in docs] == [f"{path}:1", f"{path}:3"]


def test_jsonl_bad_line_is_named(tmp_path: Path) -> None:
    lines = [json.dumps({"title": "A", "text": "Body A."}), "{not json", json.dumps({"title": "C", "text": "C."})]
    path = write(tmp_path / "docs.jsonl", "\n".join(lines))
    message = one_error(lambda: read_path(path))
    assert message.startswith(f"{path}:2: ")
    assert "invalid JSON" in message


def test_jsonl_record_without_text_is_named(tmp_path: Path) -> None:
    lines = [json.dumps({"title": "A", "text": "Body A."}), json.dumps({"title": "B"})]
    path = write(tmp_path / "docs.ndjson", "\n".join(lines))
    message = one_error(lambda: read_path(path))
    assert message == f"{path}:2: record has no 'text'"


def test_json_without_suffix_falls_back_to_jsonl() -> None:
    text = json.dumps({"title": "A", "text": "a"}) + "\n" + json.dumps({"title": "B", "text": "b"})
    docs = parse_text(text, "<stdin>")
    assert [d.title for d in docs] == ["A", "B"]


def test_json_not_an_object(tmp_path: Path) -> None:
    path = write(tmp_path / "n.json", "42")
    message = one_error(lambda: read_path(path))
    assert message.startswith(f"{path}: ")
    assert "JSON object" in message


def test_invalid_json_names_the_position(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.json", '{"title": "A", "text": }')
    message = one_error(lambda: read_path(path))
    assert message.startswith(f"{path}: invalid JSON at line 1 column ")


# -- HTML --------------------------------------------------------------------------------------
def test_html_page_extracts_the_article_not_the_menu(tmp_path: Path) -> None:
    [doc] = read_path(write(tmp_path / "page.html", PAGE))
    for paragraph in ARTICLE_PARAGRAPHS:
        assert paragraph in doc.text
    for boilerplate in [*MENU_ITEMS, FOOTER, SIDEBAR, "Privacy policy", "Most read"]:
        assert boilerplate not in doc.text, boilerplate
    assert "<" not in doc.text
    assert "Prison attack in Hasakah" in doc.title
    assert doc.source == "Example News"


def test_html_detected_without_suffix() -> None:
    [doc] = parse_text(PAGE, "<stdin>")
    assert ARTICLE_PARAGRAPHS[0] in doc.text


def test_html_without_article_text(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.html", "<!DOCTYPE html><html><head><title>x</title></head><body></body></html>")
    message = one_error(lambda: read_path(path))
    assert message == f"{path}: no article text found in the HTML"


# -- URLs --------------------------------------------------------------------------------------
@pytest.fixture
def site() -> Iterator[str]:
    routes: dict[str, tuple[int, str, bytes]] = {
        "/news/prison-attack.html": (200, "text/html; charset=utf-8", PAGE.encode()),
        "/api/story": (200, "application/json", json.dumps({"title": "J", "text": "JSON body."}).encode()),
        "/big": (200, "text/plain", b"Title\n\n" + b"word " * 4000),
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            status, content_type, body = routes.get(self.path, (404, "text/html", b"<h1>Not found</h1>"))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_url_fetches_and_extracts_the_article(site: str) -> None:
    url = f"{site}/news/prison-attack.html"
    [doc] = load_one(url)
    for paragraph in ARTICLE_PARAGRAPHS:
        assert paragraph in doc.text
    assert not any(item in doc.text for item in MENU_ITEMS)
    assert doc.url == url
    assert doc.origin == url


def test_url_json(site: str) -> None:
    url = f"{site}/api/story"
    [doc] = load_one(url)
    assert (doc.title, doc.text, doc.url) == ("J", "JSON body.", url)


def test_url_404(site: str) -> None:
    url = f"{site}/missing"
    message = one_error(lambda: load_one(url))
    assert message == f"{url}: HTTP 404"


def test_url_over_the_limit(site: str) -> None:
    url = f"{site}/big"
    message = one_error(lambda: load_one(url, max_bytes=1000))
    assert message.startswith(f"{url}: ")
    assert "1,000-byte limit" in message


def test_url_unreachable() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/nothing-listens-here"
    message = one_error(lambda: load_one(url))
    assert message.startswith(f"{url}: could not fetch")


# -- bad files ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("empty.txt", b"", "empty input"),
        ("blank.txt", b"  \n\t\n \r\n", "empty input"),
        ("binary.txt", b"Title\n\nabc\x00\x01\x02def", "binary data (NUL bytes)"),
        ("control.txt", b"Title\n\n" + bytes(range(1, 9)) * 40, "binary data (control characters)"),
        ("latin1.txt", "Title\n\nCafé owners said so.\n".encode("latin-1"), "not valid UTF-8"),
    ],
)
def test_bad_file_gives_one_clear_error(tmp_path: Path, name: str, data: bytes, problem: str) -> None:
    path = write(tmp_path / name, data)
    message = one_error(lambda: load([str(path)]))
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert problem in message


def test_latin1_error_says_where_and_how_to_fix(tmp_path: Path) -> None:
    data = "Title\n\nCafé owners said so.\n".encode("latin-1")
    path = write(tmp_path / "latin1.txt", data)
    message = one_error(lambda: read_path(path))
    offset = data.index(b"\xe9")
    assert f"byte 0xe9 at offset {offset}" in message
    assert "iconv" in message


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.txt", "\ufeffTitle\n\nBody text.\n".encode())
    [doc] = read_path(path)
    assert (doc.title, doc.text) == ("Title", "Body text.")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_with_a_byte_order_mark_are_decoded(tmp_path: Path, codec: str) -> None:
    path = write(tmp_path / "bom.txt", "\ufeffTitre\r\n\r\nCorps déjà écrit.\r\n".encode(codec))
    [doc] = read_path(path)
    assert (doc.title, doc.text) == ("Titre", "Corps déjà écrit.")


def test_text_broken_after_its_byte_order_mark_names_the_encoding(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.txt", "\ufeffTitle\n\nBody".encode("utf-16-le") + b"\x00\xd8")
    assert (
        one_error(lambda: read_path(path))
        == f"{path}: not valid UTF-16 after its byte-order mark (byte 0x00 at offset 24)"
    )


def test_a_utf16_mark_followed_only_by_whitespace_is_empty(tmp_path: Path) -> None:
    path = write(tmp_path / "blank.txt", "\ufeff \n\t\n".encode("utf-16-le"))
    assert one_error(lambda: read_path(path)) == f"{path}: empty input (only whitespace)"


def test_deeply_nested_json_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    assert one_error(lambda: read_path(path)) == f"{path}: JSON nested too deeply to read"
    assert one_error(lambda: parse_text('{"a":' * 50_000 + "1" + "}" * 50_000, "<stdin>")) == (
        "<stdin>: JSON nested too deeply to read"
    )


def test_a_pretty_printed_json_mistake_is_reported_at_its_line_not_as_json_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.json", '{\n  "title": "A",\n  "text": "Body",\n}\n')
    assert one_error(lambda: read_path(path)) == (
        f"{path}: invalid JSON at line 4 column 1: Expecting property name enclosed in double quotes"
    )


def test_crlf_is_normalised(tmp_path: Path) -> None:
    path = write(tmp_path / "crlf.txt", b"Title\r\n\r\nBody one.\r\nBody two.\r\n")
    [doc] = read_path(path)
    assert (doc.title, doc.text) == ("Title", "Body one.\nBody two.")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    assert one_error(lambda: load_one(str(path))) == f"{path}: no such file or directory"


def test_file_over_max_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "Title\n\n" + "word " * 100)
    size = path.stat().st_size
    message = one_error(lambda: load([str(path)], max_bytes=100))
    assert message.startswith(f"{path}: ")
    assert f"{size:,} bytes" in message
    assert "100-byte limit" in message
    assert "--max-bytes" in message


def test_default_limit_is_generous(tmp_path: Path) -> None:
    path = write(tmp_path / "ok.txt", "Title\n\n" + "A sentence here. " * 1000)
    assert path.stat().st_size < MAX_BYTES
    assert len(read_path(path)) == 1


def test_several_bad_inputs_are_all_reported(tmp_path: Path) -> None:
    good = write(tmp_path / "good.txt", "Title\n\nBody text.")
    empty = write(tmp_path / "empty.txt", b"")
    binary = write(tmp_path / "binary.txt", b"\x00\x01")
    latin = write(tmp_path / "latin.txt", "Title\n\nCafé.".encode("latin-1"))
    missing = tmp_path / "missing.txt"
    message = one_error(lambda: load([str(empty), str(good), str(binary), str(missing), str(latin)]))
    lines = message.split("\n")
    assert len(lines) == 4
    assert [line.split(": ", 1)[0] for line in lines] == [str(empty), str(binary), str(missing), str(latin)]
    assert str(good) not in message


def test_no_sources_at_all() -> None:
    assert "no input" in one_error(lambda: load([]))


# -- directories -------------------------------------------------------------------------------
def test_directory_expands_to_sorted_article_files(tmp_path: Path) -> None:
    root = tmp_path / "inbox"
    write(root / "b.txt", "B title\n\nB body.")
    write(root / "a.md", "# A title\n\nA body.")
    write(root / "sub" / "c.json", json.dumps({"title": "C title", "text": "C body."}))
    write(root / "notes.pdf", b"%PDF-1.4")
    write(root / "image.png", b"\x89PNG")
    expected = [str(root / "a.md"), str(root / "b.txt"), str(root / "sub" / "c.json")]
    assert list(expand([str(root)])) == expected
    docs = load([str(root)])
    assert [d.title for d in docs] == ["A title", "B title", "C title"]
    assert [d.origin for d in docs] == expected


def test_seed_directory(seeds_dir: Path) -> None:
    docs = load([str(seeds_dir)])
    files = sorted(seeds_dir.glob("*.txt"))
    assert [d.origin for d in docs] == [str(p) for p in files]
    assert [d.title for d in docs] == [p.read_text(encoding="utf-8").split("\n", 1)[0] for p in files]


def test_directory_without_article_files(tmp_path: Path) -> None:
    root = tmp_path / "pictures"
    write(root / "a.png", b"\x89PNG")
    message = one_error(lambda: load([str(root)]))
    assert message.startswith(f"{root}: directory holds no article files")
    assert ".txt" in message


# -- stdin -------------------------------------------------------------------------------------
def test_stdin_plain_text() -> None:
    [doc] = load_one("-", stdin=io.BytesIO(b"Stdin title\n\nStdin body text."))
    assert (doc.title, doc.text, doc.origin) == ("Stdin title", "Stdin body text.", "<stdin>")


def test_stdin_json() -> None:
    [doc] = load_one("-", stdin=io.BytesIO(json.dumps({"title": "J", "text": "Body."}).encode()))
    assert (doc.title, doc.text) == ("J", "Body.")


def test_stdin_empty() -> None:
    assert one_error(lambda: load_one("-", stdin=io.BytesIO(b""))) == "<stdin>: empty input"


def test_stdin_over_the_limit() -> None:
    message = one_error(lambda: load_one("-", stdin=io.BytesIO(b"x" * 500), max_bytes=100))
    assert message.startswith("<stdin>: ")
    assert "100-byte limit" in message

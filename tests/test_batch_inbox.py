import io
import json
from pathlib import Path

import pytest

from summarizer.batch import inbox
from summarizer.errors import InputError


def write_jsonl(path: Path, records: list[object]) -> None:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n", encoding="utf-8")


def test_a_directory_yields_every_article_file_in_order(seeds_dir: Path) -> None:
    items = list(inbox.read([str(seeds_dir)]))
    assert [Path(i.origin).name for i in items] == sorted(p.name for p in seeds_dir.iterdir())
    assert all(i.document is not None and i.error is None for i in items)


def test_a_glob_selects_matching_files(tmp_path: Path, seeds_dir: Path) -> None:
    items = list(inbox.read([str(seeds_dir / "00[01]_*.txt")]))
    assert [Path(i.origin).name[:3] for i in items] == ["000", "001"]


def test_a_glob_that_matches_nothing_and_a_missing_path_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no article files match"):
        inbox.read([str(tmp_path / "*.txt")])
    with pytest.raises(InputError, match="no such file"):
        inbox.read([str(tmp_path / "missing")])


def test_a_jsonl_stream_keeps_good_lines_around_a_bad_one(tmp_path: Path) -> None:
    stream = tmp_path / "feed.jsonl"
    write_jsonl(stream, [{"title": "One", "text": "First body."}, "{not json", {"title": "Two"}, {"text": "Third."}])
    items = list(inbox.read([str(stream)]))
    assert [i.origin for i in items] == [f"{stream}:1", f"{stream}:2", f"{stream}:3", f"{stream}:4"]
    assert items[0].document is not None and items[0].document.title == "One"
    assert items[1].error is not None and "invalid JSON" in items[1].error
    assert items[2].error is not None and "no 'text'" in items[2].error
    assert items[3].document is not None and items[3].document.text == "Third."


def test_a_stream_may_be_larger_than_the_per_article_limit(tmp_path: Path) -> None:
    stream = tmp_path / "big.jsonl"
    write_jsonl(stream, [{"title": f"T{i}", "text": "x " * 200} for i in range(50)])
    assert stream.stat().st_size > 10_000
    items = list(inbox.read([str(stream)], max_bytes=1_000))
    assert len(items) == 50 and all(i.document is not None for i in items)


def test_standard_input_is_read_as_a_jsonl_stream() -> None:
    data = b'{"title": "A", "text": "Alpha."}\n\n{"title": "B", "text": "Beta."}\n'
    items = list(inbox.read(["-"], stdin=io.BytesIO(data)))
    assert [i.origin for i in items] == ["<stdin>:1", "<stdin>:3"]
    assert [i.document.title for i in items if i.document] == ["A", "B"]


def test_an_unreadable_file_is_an_item_with_its_error_not_an_exception(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "good.txt").write_text("Title\n\nBody text.")
    items = list(inbox.read([str(tmp_path)]))
    assert [(Path(i.origin).name, i.error is None) for i in items] == [("empty.txt", False), ("good.txt", True)]


def test_a_json_file_holding_json_lines_keeps_good_lines_around_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    write_jsonl(
        path, [{"title": "One", "text": "First."}, '{"title": ', "[" * 50_000 + "]" * 50_000, {"text": "Four."}]
    )
    items = list(inbox.read([str(path)]))
    assert [(i.origin, i.error) for i in items] == [
        (f"{path}:1", None),
        (f"{path}:2", f"{path}:2: invalid JSON: Expecting value (column 11)"),
        (f"{path}:3", f"{path}:3: JSON nested too deeply to read"),
        (f"{path}:4", None),
    ]


def test_a_json_file_holding_one_document_or_a_list_is_read_whole(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps([{"title": "A", "text": "Alpha."}, {"title": "B", "text": "Beta."}]))
    (tmp_path / "b.json").write_text('{\n  "title": "C",\n  "text": "Gamma."\n}\n')
    items = list(inbox.read([str(tmp_path)]))
    assert [(Path(i.origin).name, i.document.title if i.document else None) for i in items] == [
        ("a.json[0]", "A"),
        ("a.json[1]", "B"),
        ("b.json", "C"),
    ]


def test_a_deeply_nested_stream_line_is_an_item_error() -> None:
    data = b'{"title": "A", "text": "Alpha."}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n"
    items = list(inbox.read(["-"], stdin=io.BytesIO(data)))
    assert [(i.origin, i.error) for i in items] == [
        ("<stdin>:1", None),
        ("<stdin>:2", "<stdin>:2: JSON nested too deeply to read"),
    ]


def test_a_stream_line_names_its_column_without_its_line_end() -> None:
    items = list(inbox.read(["-"], stdin=io.BytesIO(b'{"title": "broken\r\n')))
    assert [i.error for i in items] == ["<stdin>:1: invalid JSON: Unterminated string starting at (column 11)"]


def test_a_json_lines_file_named_json_with_a_broken_first_line_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    write_jsonl(path, ['{"title": "One", "text"', {"title": "Two", "text": "Second."}])
    items = list(inbox.read([str(path)]))
    assert [(i.origin, i.document.title if i.document else i.error) for i in items] == [
        (f"{path}:1", f"{path}:1: invalid JSON: Expecting ':' delimiter (column 24)"),
        (f"{path}:2", "Two"),
    ]

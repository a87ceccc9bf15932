"""Reading results back out of a store (``summarizer.batch.export``), including briefs stored by older versions."""

import json
from pathlib import Path

from summarizer.batch.store import Store
from summarizer.brief import BriefParts
from summarizer.cli import main
from tests.test_batch_cli import TINY_INBOX

OLD_BRIEF = (
    '{"overview": [{"text": "Torrilril announced 64 million for deldels hit by the flood.", "citations": '
    '[{"article_id": "a1", "sentence_id": "s1", "start": 0, "end": 60, "text": "Torrilril announced 64 million for '
    'deldels hit by the flood."}], "facts": ["a1.f1"], "origin": "model"}, {"text": "Dastor Delkaka said the Zenrilmi '
    'Council would review the flood rilmons in Torrilril.", "citations": [{"article_id": "a2", "sentence_id": "s1", '
    '"start": 0, "end": 85, "text": "Dastor Delkaka said the Zenrilmi Council would review the flood rilmons in '
    'Torrilril."}], "facts": ["a2.f1"], "origin": "model"}], "consensus": [], "discrepancies": [], "timeline": [], '
    '"dropped": [], "stats": {"calls": 1, "reasks": 0, "prompt_tokens": 100, "completion_tokens": 50, '
    '"seconds": 0.003, "cached": false}, "error": null}'
)
"""A brief's ``result`` as the batch stored it before BriefParts was a pydantic model (hand-written JSON)."""


def test_a_brief_stored_as_hand_written_json_still_loads() -> None:
    parts = BriefParts.model_validate_json(OLD_BRIEF)
    assert [c.citations[0].text for c in parts.overview] == [c.text for c in parts.overview]
    assert [c.facts for c in parts.overview] == [["a1.f1"], ["a2.f1"]]
    assert (parts.stats.calls, parts.stats.prompt_tokens, parts.error) == (1, 100, None)
    assert json.loads(parts.model_dump_json()) == json.loads(OLD_BRIEF)  # the same record written back


def test_the_analysis_and_the_reviews_are_not_stored() -> None:
    parts = BriefParts(analysis=object(), reviews={"d1": ("confirm", None)}, error="no usable brief")
    stored = json.loads(parts.model_dump_json())
    assert set(stored) == {"overview", "consensus", "discrepancies", "timeline", "dropped", "stats", "error"}
    again = BriefParts.model_validate_json(parts.model_dump_json())
    assert (again.analysis, again.reviews, again.error) == (None, {}, "no usable brief")


def test_a_store_whose_briefs_were_written_by_the_old_code_exports_alike(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    box = tmp_path / "inbox"
    box.mkdir()
    for name, text in TINY_INBOX.items():
        (box / name).write_text(text, encoding="utf-8")
    store = tmp_path / "b.db"
    assert main(["batch", str(box), "--store", str(store), "--engine", "extractive", "--workers", "1", "-q"]) == 0
    capsys.readouterr()
    assert main(["batch", "export", "--store", str(store)]) == 0
    exported = capsys.readouterr().out
    # What the old code wrote: json.dumps of each section's items dumped one by one, the stats and the error.
    with Store(store) as s, s.transaction() as db:
        for brief_id, result in db.execute("SELECT id, result FROM briefs WHERE result IS NOT NULL").fetchall():
            old = json.dumps(json.loads(result))
            assert old != result and set(json.loads(old)) == set(json.loads(OLD_BRIEF))
            db.execute("UPDATE briefs SET result = ? WHERE id = ?", (old, brief_id))
    assert main(["batch", "export", "--store", str(store)]) == 0
    assert capsys.readouterr().out == exported and '"brief": {' in exported

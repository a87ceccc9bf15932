"""Versioned prompt sets: loading, strict validation, strict rendering, and the digest."""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path

import pytest

from summarizer.errors import ConfigurationError, TemplateError
from summarizer.templates import DEFAULT_VERSION, TEMPLATE_NAMES, Template, load_prompts

FILES = ("manifest.yaml", *(f"{name}.yaml" for name in TEMPLATE_NAMES))


def bundled_bytes(name: str, version: str = DEFAULT_VERSION) -> bytes:
    return (resources.files("summarizer.prompts") / version / name).read_bytes()


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A folder copy of the bundled default prompt set."""
    folder = tmp_path / "prompts-copy"
    folder.mkdir()
    for name in FILES:
        (folder / name).write_bytes(bundled_bytes(name))
    return folder


def test_the_default_prompts_are_v2_and_load_with_a_digest() -> None:
    prompts = load_prompts()
    assert prompts.version == "v2"
    assert prompts.origin == "bundled prompts v2"
    expected = hashlib.sha256(b"".join(bundled_bytes(name) for name in FILES)).hexdigest()
    assert prompts.digest == expected
    assert prompts.label == f"v2@{expected[:8]}"
    assert prompts.summarize.system.strip() and prompts.summarize.user.strip()
    assert prompts.brief.system.strip() and prompts.brief.user.strip()
    assert load_prompts("v2").digest == prompts.digest
    assert "candidates" in prompts.brief.variables() and "candidates" not in load_prompts("v1").brief.variables()


def test_bundled_templates_declare_their_variables() -> None:
    prompts = load_prompts()
    summarize_text = bundled_bytes("summarize.yaml").decode()
    brief_text = bundled_bytes("brief.yaml").decode()
    for var in prompts.summarize.variables():
        assert f"${var}" in summarize_text or f"${{{var}}}" in summarize_text
    assert {"sentences", "title"} <= prompts.summarize.variables()
    assert {"articles", "facts"} <= prompts.brief.variables()
    assert all(f"${v}" in brief_text for v in ("articles", "facts"))


def test_folder_copy_loads_with_the_same_digest(copy: Path) -> None:
    bundled = load_prompts()
    prompts = load_prompts(copy)
    assert prompts.origin == str(copy)
    assert prompts.digest == bundled.digest
    assert prompts.summarize == bundled.summarize
    assert prompts.brief == bundled.brief
    assert load_prompts(str(copy)).digest == bundled.digest


def test_one_character_changes_the_digest(copy: Path) -> None:
    before = load_prompts(copy).digest
    path = copy / "summarize.yaml"
    text = path.read_text(encoding="utf-8")
    index = text.index("JSON")
    path.write_text(text[:index] + "j" + text[index + 1 :], encoding="utf-8")
    after = load_prompts(copy)
    assert after.digest != before
    assert "jSON" in after.summarize.system


@pytest.mark.parametrize("name", FILES)
def test_any_file_counts_in_the_digest(copy: Path, name: str) -> None:
    before = load_prompts(copy).digest
    with (copy / name).open("a", encoding="utf-8") as f:
        f.write("\n# a comment changes the bytes\n")
    assert load_prompts(copy).digest != before


def test_unknown_key_is_an_error(copy: Path) -> None:
    path = copy / "summarize.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\ntemperature: 0.7\n", encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_prompts(copy)
    assert str(copy) in str(info.value)
    assert "temperature" in str(info.value)


def test_unknown_manifest_key_is_an_error(copy: Path) -> None:
    path = copy / "manifest.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nauthor: someone\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="author"):
        load_prompts(copy)


def test_missing_required_key_is_an_error(copy: Path) -> None:
    (copy / "brief.yaml").write_text("description: no system or user\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="system"):
        load_prompts(copy)


def test_missing_file_is_an_error(copy: Path) -> None:
    (copy / "brief.yaml").unlink()
    with pytest.raises(TemplateError, match=r"missing brief\.yaml"):
        load_prompts(copy)


def test_invalid_yaml_is_an_error(copy: Path) -> None:
    (copy / "summarize.yaml").write_text("system: [unclosed\nuser: x\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="invalid YAML"):
        load_prompts(copy)


def test_non_mapping_yaml_is_an_error(copy: Path) -> None:
    (copy / "summarize.yaml").write_text("- a\n- list\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="expected a mapping"):
        load_prompts(copy)


def test_unknown_version() -> None:
    with pytest.raises(TemplateError) as info:
        load_prompts("v999")
    assert "'v999'" in str(info.value)
    assert "v1" in str(info.value)


def test_template_error_is_a_configuration_error() -> None:
    assert issubclass(TemplateError, ConfigurationError)


# -- rendering ---------------------------------------------------------------------------------
def test_missing_variable_at_render() -> None:
    prompts = load_prompts()
    with pytest.raises(TemplateError) as info:
        prompts.summarize.messages(title="Only the title")
    missing = sorted(prompts.summarize.variables() - {"title"})
    assert missing
    for var in missing:
        assert var in str(info.value)


def test_render_substitutes_every_variable() -> None:
    template = Template(system="You summarise $kind.", user="Title: ${title}\n$sentences\n")
    messages = template.messages(kind="news", title="T", sentences="[s1] One.")
    assert messages == [
        {"role": "system", "content": "You summarise news."},
        {"role": "user", "content": "Title: T\n[s1] One."},
    ]


def test_values_are_not_expanded_again() -> None:
    # Article text is data: a "$variable" inside it must reach the model verbatim.
    template = Template(system="S", user="Title: $title\n$sentences")
    messages = template.messages(title="$sentences and ${title}", sentences="[s1] costs $5.")
    assert messages[1]["content"] == "Title: $sentences and ${title}\n[s1] costs $5."


def test_dollar_escape() -> None:
    template = Template(system="Prices in $$.", user="$x")
    assert template.variables() == {"x"}
    assert template.messages(x="1")[0]["content"] == "Prices in $."


def test_invalid_placeholder_is_a_template_error() -> None:
    template = Template(system="It costs $5 today.", user="$x")
    with pytest.raises(TemplateError):
        template.messages(x="1")


def test_bundled_templates_render() -> None:
    prompts = load_prompts()
    values = {name: f"<{name}>" for name in prompts.summarize.variables()}
    messages = prompts.summarize.messages(**values)
    assert [m["role"] for m in messages] == ["system", "user"]
    for value in values.values():
        assert value in messages[0]["content"] + messages[1]["content"]
    for message in messages:
        assert not re.search(r"\$\{?[A-Za-z_]", message["content"]), "an unsubstituted variable"

"""Load and render versioned prompt templates.

A prompt set is a folder (``prompts/v1``) with ``manifest.yaml``, ``summarize.yaml`` and
``brief.yaml``. Templates are validated by pydantic (unknown keys are errors) and rendered
with ``string.Template``: a ``$variable`` that is not supplied is an error up front, never a
silent blank. The set's ``digest`` (a hash of every file) identifies the exact prompt text in
caches, stores and eval reports.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from summarizer.errors import TemplateError

DEFAULT_VERSION = "v2"
TEMPLATE_NAMES = ("summarize", "brief")


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    system: str
    user: str

    def variables(self) -> set[str]:
        found: set[str] = set()
        for text in (self.system, self.user):
            for match in string.Template.pattern.finditer(text):
                name = match.group("named") or match.group("braced")
                if name:
                    found.add(name)
        return found

    def messages(self, **values: Any) -> list[dict[str, str]]:
        missing = self.variables() - values.keys()
        if missing:
            raise TemplateError(f"prompt needs {', '.join(sorted(missing))}, which the caller did not supply")
        try:
            return [
                {"role": "system", "content": string.Template(self.system).substitute(values).strip()},
                {"role": "user", "content": string.Template(self.user).substitute(values).strip()},
            ]
        except (KeyError, ValueError) as exc:
            raise TemplateError(f"prompt template error: {exc}") from None


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    description: str = ""


@dataclass(frozen=True)
class PromptSet:
    version: str
    digest: str
    summarize: Template
    brief: Template
    origin: str

    @property
    def label(self) -> str:
        """``v1@1a2b3c4d``: the version name and the first digits of the digest."""
        return f"{self.version}@{self.digest[:8]}"


def _read(directory: Any, name: str, origin: str) -> tuple[bytes, dict[str, Any]]:
    item = directory / f"{name}.yaml"
    try:
        raw = item.read_bytes()
    except (FileNotFoundError, OSError):
        raise TemplateError(f"{origin}: missing {name}.yaml") from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{origin}/{name}.yaml: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TemplateError(f"{origin}/{name}.yaml: expected a mapping")
    return raw, data


def load_prompts(spec: str | Path | None = None) -> PromptSet:
    """A prompt set: a bundled version name (``v1``) or a folder path."""
    spec = spec or DEFAULT_VERSION
    path = Path(spec)
    if path.is_dir():
        directory: Any = path
        origin = str(path)
    else:
        directory = resources.files("summarizer.prompts") / str(spec)
        origin = f"bundled prompts {spec}"
        if not directory.is_dir():
            available = sorted(p.name for p in resources.files("summarizer.prompts").iterdir() if p.is_dir())
            available = [a for a in available if not a.startswith("_")]
            raise TemplateError(
                f"no prompt set {spec!r}: bundled versions are {', '.join(available)}, or give a folder"
            )
    digest = hashlib.sha256()
    raw, manifest_data = _read(directory, "manifest", origin)
    digest.update(raw)
    templates: dict[str, Template] = {}
    try:
        manifest = Manifest.model_validate(manifest_data)
        for name in TEMPLATE_NAMES:
            raw, data = _read(directory, name, origin)
            digest.update(raw)
            templates[name] = Template.model_validate(data)
    except ValidationError as exc:
        raise TemplateError(f"{origin}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None
    return PromptSet(
        version=manifest.version,
        digest=digest.hexdigest(),
        summarize=templates["summarize"],
        brief=templates["brief"],
        origin=origin,
    )

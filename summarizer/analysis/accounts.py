"""Discrepancies of account: outcomes and framings that cannot both hold, what was pleaded to, and who said or did
it (the same words or act credited to different people).

Each detector prefers no finding to a wrong one: a false discrepancy costs an analyst more than a missed one.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from summarizer.analysis.model import Finding, Side
from summarizer.analysis.names import name_key, variants
from summarizer.analysis.sentences import SentenceInfo, event_kinds, shared_names, shared_stem_pairs
from summarizer.analysis.text import DATE_WORDS, STOPWORDS, containment, stems
from summarizer.claims import names

OUTCOME_CONTEXT = 0.15


FRAMING_CONTEXT = 0.05
"""Loaded framing words about one named subject need little else in common."""


ATTRIBUTION_CONTEXT = 0.6


ATTRIBUTION_SHARED = 5


_OUTCOMES: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = (
    (
        "whether the attempt succeeded",
        re.compile(r"\b(?:thwarted|foiled|prevented|repelled|stopped|failed)\b", re.I),
        re.compile(r"\b(?:escaped|managed to escape|broke out|succeeded)\b", re.I),
    ),
    (
        "the plea",
        re.compile(r"\bpleaded guilty\b", re.I),
        re.compile(r"\bpleaded not guilty\b", re.I),
    ),
    (
        "whether he or she resigns",
        re.compile(r"\b(?:resigned|resigns|is resigning|will resign|stepped down)\b", re.I),
        re.compile(r"\b(?:will not resign|won't resign|refused to resign|not resigning|no plans to resign)\b", re.I),
    ),
    (
        "the condition reported",
        re.compile(r"\bcritical condition\b", re.I),
        re.compile(r"\b(?:stable|good|fair|serious but stable) condition\b", re.I),
    ),
)


# Framings of one result that cannot both be right: a win or a climb-down, a show of strength or a rebuke.


_FRAMING = "how sources frame"


_OUTCOMES += (
    (
        f"{_FRAMING} the result (a win or a climb-down)",
        re.compile(r"\b(?:victory|triumph|(?:a|big|clear) win|no way a concession|not a concession)\b", re.I),
        re.compile(r"\b(?:surrender(?:ed)?|caved?|capitulat(?:ed|ion)|climb-?down|backed down|retreat(?:ed)?)\b", re.I),
    ),
    (
        f"{_FRAMING} the vote (strength or a rebuke)",
        re.compile(r"\b(?:strong support|decisive(?:ly)?|resounding|commanding)\b", re.I),
        re.compile(r"\b(?:rebuke|repudiation|dissent|discontent|revolt|defections?)\b", re.I),
    ),
    (
        f"{_FRAMING} the tactics (routine or excessive)",
        re.compile(r"\b(?:routine|standard practice|standard procedure|typical(?:ly)?|ordinary)\b", re.I),
        re.compile(r"\b(?:unnecessary|excessive|vindictive|heavy-handed|overkill|gestapo)\b", re.I),
    ),
    (
        "whether it was admitted",
        re.compile(r"\b(?:admitted|acknowledged|confirmed)\b", re.I),
        re.compile(r"\b(?:deny|denied|denies|changed (?:his|her) story|backed away|walked back)\b", re.I),
    ),
)


_DONE_OR_PENDING = (
    ("pleaded guilty", "plead guilty"),
    ("resigned", "resign"),
    ("testified", "testify"),
    ("was sentenced", "be sentenced"),
    ("was arrested", "be arrested"),
    ("was indicted", "be indicted"),
)


# One report says it happened, another that it is still to come: "pleaded guilty" vs "is expected to plead guilty".
# Only across articles: within one, "He pleaded guilty; his wife is expected to plead" is two people.


_PENDING_TOPIC = "whether it has happened"


_OUTCOMES += tuple(
    (
        f"{_PENDING_TOPIC} ({done} or still expected)",
        re.compile(rf"\b{done}\b", re.I),
        re.compile(rf"\b(?:is|are|was|were)\s+(?:expected|set|scheduled|due|slated|likely)\s+to\s+{pending}\b", re.I),
    )
    for done, pending in _DONE_OR_PENDING
)


_ATTRIBUTION_TRIM = re.compile(r"\b(?:according to|cited by|told|said|says)\b[^,.;]*", re.I)


_AGENT = r"(?P<who>(?:[A-Za-z][\w'’-]*\s+){0,3}?[A-Za-z][\w'’-]*)"


# After "by" or "of" the doer runs on (greedy) to the end of its phrase: "by ISIS sleeper cells, who ...".


_PHRASE_END = "who|which|that|from|in|near|on|at|to|since|after|before|for|with|and|as"


_AGENT_AFTER = rf"(?P<who>[A-Za-z][\w'’-]*(?:\s+(?!(?:{_PHRASE_END})\b)[A-Za-z][\w'’-]*){{0,3}})"


_DID = "led|carried out|launched|staged|mounted"


_ATTACKS = "attack|assault|explosion|raid|bomb|bombing|shooting"


_ACTIONS: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...] = (
    (
        "ordered",
        (
            re.compile(rf"{_AGENT}\s+(?:ordered|directed)\b"),
            re.compile(rf"\b(?:on|at|under) the (?:orders?|direction|instructions?) of (?:the\s+)?{_AGENT_AFTER}"),
        ),
    ),
    (
        "attacked",
        (
            re.compile(rf"{_AGENT}\s+(?:{_DID})\s+(?:an?\s+)?(?:\w+\s+)?(?:attack|assault|raid)"),
            re.compile(rf"\b(?:{_ATTACKS})\b[^,.;]{{0,40}}?\b(?:conducted|{_DID}) by {_AGENT_AFTER}"),
            re.compile(rf"{_AGENT}\s+who\s+attacked\b"),
        ),
    ),
)


AGENT_CONTEXT = 0.2


_ACTION_WORDS = {
    "ordered": re.compile(r"\b(?:ordered|directed|orders?|direction|instructions?)\b"),
    "attacked": re.compile(rf"\b(?:{_DID}|attacked|conducted)\b"),
}


def _head(who: str) -> str:
    words = [w for w in who.split() if w.lower() not in STOPWORDS]
    return name_key(words[-1]) if words else ""


def agent_findings(sentences: Sequence[SentenceInfo]) -> list[Finding]:
    """The same act credited to different doers: "detainees led the attack" vs "cells who attacked from outside"."""
    found = []
    for act, patterns in _ACTIONS:
        doers: list[tuple[SentenceInfo, str]] = []
        gate = _ACTION_WORDS[act]
        for info in sentences:
            if not gate.search(info.text):
                continue  # the doer patterns scan every position; most sentences have no such verb at all
            for pattern in patterns:
                match = pattern.search(info.text)
                if match and _head(match.group("who")):
                    doers.append((info, match.group("who").strip()))
                    break
        best: tuple[float, SentenceInfo, str, SentenceInfo, str] | None = None
        for (a, who_a), (b, who_b) in itertools.combinations(doers, 2):
            if a.article_id == b.article_id or _head(who_a) == _head(who_b) or variants(_head(who_a), _head(who_b)):
                continue
            if stems(who_a) <= stems(who_b) or stems(who_b) <= stems(who_a):
                continue  # "ISIS" and "ISIS sleeper cells": the same doer, named more or less fully
            score = containment(a.stems - stems(who_a), b.stems - stems(who_b))
            if score >= AGENT_CONTEXT and shared_names(a, b) and (best is None or score > best[0]):
                best = (score, a, who_a, b, who_b)
        if best is None:
            continue
        _, a, who_a, b, who_b = best
        sides = (Side(value=who_a, refs=(a.ref,), words=who_a), Side(value=who_b, refs=(b.ref,), words=who_b))
        found.append(Finding("attribution", f"Who {act}: {who_a} vs {who_b}", sides, None, f"agent:{act}"))
    return found


_CHARGES = (
    "fraud|conspiracy|perjury|obstruction|bribery|extortion|embezzlement|money laundering|tax evasion|"
    "false statements|lying|witness tampering|contempt|theft|misuse"
)


_PLEA = re.compile(
    r"\b(?:pleaded guilty|plea was|pleaded not guilty|was convicted|was charged)\b(?P<what>.{0,80})", re.I
)


_CHARGE = re.compile(rf"\b(?:{_CHARGES})\b", re.I)


def charge_findings(sentences: Sequence[SentenceInfo]) -> list[Finding]:
    """One person's plea or charge named differently: "one felony fraud count" vs "a conspiracy charge"."""
    pleas: list[tuple[SentenceInfo, frozenset[str], frozenset[str]]] = []
    for info in sentences:
        for match in _PLEA.finditer(info.text):
            before = frozenset(name_key(n) for n in names(info.text[: match.start()]) if n.lower() not in DATE_WORDS)
            words = frozenset(w.lower() for w in _CHARGE.findall(match.group("what").split(";")[0]))
            if before and words:
                pleas.append((info, before, words))
    found = []
    seen: set[frozenset[str]] = set()
    for (a, who_a, wa), (b, who_b, wb) in itertools.combinations(pleas, 2):
        if a.article_id == b.article_id or wa & wb or not who_a & who_b:
            continue
        if any(w in b.text.lower() for w in wa) or any(w in a.text.lower() for w in wb):
            continue  # each names the other's charge too: two charges, not two versions of one
        key = frozenset(who_a & who_b)
        if key in seen:
            continue
        seen.add(key)
        one, other = " and ".join(sorted(wa)), " and ".join(sorted(wb))
        sides = (
            Side(value=one, refs=(a.ref,), words=sorted(wa)[0]),
            Side(value=other, refs=(b.ref,), words=sorted(wb)[0]),
        )
        topic = f"What the plea or charge was: {one} vs {other}"
        found.append(Finding("outcome", topic, sides, None, f"charge:{'/'.join(sorted(key))}"))
    return found


_NEGATED = re.compile(r"\b(?:not|never|no|won't|wouldn't|didn't|don't|refused to)\s+(?:\w+\s+)?$", re.I)


def _affirmed(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The first match of ``pattern`` in ``text`` that is not negated ("will not cave" is no climb-down)."""
    for match in pattern.finditer(text):
        if not _NEGATED.search(text[max(match.start() - 24, 0) : match.start()]):
            return match
    return None


_OUTCOME_KEYS = (
    "thwart", "foil", "prevent", "repel", "stopped", "failed", "escap", "broke out", "succeed", "plead", "resign",
    "stepped down", "condition", "victor", "triumph", "win", "concession", "surrender", "cave", "capitulat",
    "climb", "backed down", "retreat", "support", "decisive", "resounding", "commanding", "rebuke", "repudiat",
    "dissent", "discontent", "revolt", "defection", "routine", "standard", "typical", "ordinary", "unnecessary",
    "excessive", "vindictive", "heavy-handed", "overkill", "gestapo", "admit", "acknowledg", "confirm", "deny",
    "denie", "changed h", "backed away", "walked back", "testif", "sentenced", "arrested", "indicted",
)  # fmt: skip
"""Lower-case pieces of every outcome pattern's words: a sentence with none of them is skipped at once."""


_OUTCOME_GATE = re.compile("|".join(map(re.escape, _OUTCOME_KEYS)))


def outcome_findings(sentences: Sequence[SentenceInfo]) -> list[Finding]:
    """Two versions of one outcome that cannot both be right, each side citing up to two of its best sentences."""
    found = []
    worded = [s for s in sentences if _OUTCOME_GATE.search(s.text.lower())]
    for topic, yes, no in _OUTCOMES:
        hits_yes = [(s, m) for s in worded if (m := _affirmed(yes, s.text))]
        hits_no = [(s, m) for s in worded if (m := _affirmed(no, s.text))]
        pairs: list[tuple[float, SentenceInfo, SentenceInfo, str, str]] = []
        for (a, ma), (b, mb) in itertools.product(hits_yes, hits_no):
            if a.ref == b.ref or _affirmed(yes, b.text) or _affirmed(no, a.text):
                continue  # a sentence that says both is weighing them, not taking a side
            if topic.startswith(_PENDING_TOPIC) and a.article_id == b.article_id:
                continue
            score = containment(a.stems, b.stems)
            framing = topic.startswith(_FRAMING)
            if framing and shared_names(a, b) and score >= FRAMING_CONTEXT:
                pass  # words this loaded, about the same named subject, are enough
            elif score < OUTCOME_CONTEXT or not (shared_names(a, b) or event_kinds(a) & event_kinds(b)):
                continue
            pairs.append((score, a, b, ma.group(0), mb.group(0)))
        if not pairs:
            continue
        pairs.sort(key=lambda p: (-p[0], str(p[1].ref), str(p[2].ref)))
        _, a, b, wa, wb = pairs[0]
        refs_a = list(dict.fromkeys(p[1].ref for p in pairs))[:2]
        refs_b = list(dict.fromkeys(p[2].ref for p in pairs))[:2]
        sides = (Side(value=wa, refs=tuple(refs_a), words=wa), Side(value=wb, refs=tuple(refs_b), words=wb))
        note = f"{a.article_id} contradicts itself" if a.article_id == b.article_id else None
        if topic.startswith(_PENDING_TOPIC) and (b.published or "") <= (a.published or ""):
            note = f"{b.article_id} may have been written before it happened"
        found.append(Finding("outcome", f"Outcome, {topic}: {wa} vs {wb}", sides, note, f"outcome:{topic}"))
    return found


def attribution_findings(sentences: Sequence[SentenceInfo]) -> list[Finding]:
    """The same words credited to two different, named speakers."""
    quoted = [s for s in sentences if s.speaker and _named(s.speaker)]  # not "the ex-congressman", "the indictment"
    found = []
    for a, b, _ in shared_stem_pairs(quoted, ATTRIBUTION_SHARED):
        assert a.speaker is not None and b.speaker is not None
        who_a, who_b = stems(a.speaker), stems(b.speaker)
        if not who_a or not who_b or who_a & who_b:
            continue
        if any(variants(name_key(x), name_key(y)) for x in a.speaker.split() for y in b.speaker.split()):
            continue
        said_a, said_b = a.stems - who_a - who_b, b.stems - who_a - who_b
        if len(said_a & said_b) < ATTRIBUTION_SHARED or containment(said_a, said_b) < ATTRIBUTION_CONTEXT:
            continue
        sides = (
            Side(value=a.speaker, refs=(a.ref,), words=a.speaker),
            Side(value=b.speaker, refs=(b.ref,), words=b.speaker),
        )
        topic = f"Who said it: {a.speaker} vs {b.speaker}"
        found.append(Finding("attribution", topic, sides, None, f"attribution:{a.ref}:{b.ref}"))
    return found


def _named(who: str) -> bool:
    return any(any(ch.isupper() for ch in word) for word in who.split())

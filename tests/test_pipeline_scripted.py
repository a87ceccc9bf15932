"""The pipeline against a scripted model: in process (``tests.doubles.client``) for validation, re-asks,
grounding and the pipeline's flow; over HTTP (``tests.doubles.server``) through the real openai client for
what HTTP does (retries, 429, 500, timeouts, garbled bodies) and for the requests as sent.

Requests are shaped, answers parsed and re-asks phrased by instructor's mode handlers (see summarizer.ask).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import logging
from dataclasses import replace
from pathlib import Path

import instructor
import pytest
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from summarizer.schemas import Brief

from summarizer.ask import Settings, _request
from summarizer.claims import unsupported
from summarizer.errors import ModelOutputError, ProviderError
from summarizer.load import Document, load
from summarizer.pipeline import Job, brief_articles, summarize_all
from summarizer.providers import Provider, resolve
from summarizer.segment import Article, prepare
from summarizer.summarize import summarize_article
from summarizer.templates import load_prompts
from tests.doubles.answers import all_text, brief_answer, copying_answer, is_brief_request, sentences
from tests.doubles.client import Call, ScriptedClient, ScriptedProvider, run_closing
from tests.doubles.server import Reply, ScriptedServer

SEED = Path(__file__).resolve().parent.parent / "examples" / "hasakah"
TOLL = "001_5f4370996e979ae7.txt"  # the article with the SOHR death toll of 322


@pytest.fixture
def article() -> Article:
    return prepare(load([str(SEED / TOLL)]))[0]


def provider_for(server: ScriptedServer, **kwargs: object) -> Provider:
    return replace(resolve(base_url=server.base_url, model="scripted-model"), **kwargs)  # type: ignore[arg-type]


def summarize(article: Article, provider: Provider, settings: Settings | None = None):  # type: ignore[no-untyped-def]
    return run_closing(
        provider.async_client(),
        lambda client: summarize_article(
            article,
            client=client,
            model=provider.model,
            prompts=load_prompts(),
            settings=settings or Settings(max_attempts=3),
        ),
    )


def summarize_with(article: Article, client: ScriptedClient, settings: Settings | None = None):  # type: ignore[no-untyped-def]
    """``article`` summarised against the in-process double."""
    return run_closing(
        client,
        lambda c: summarize_article(
            article, client=c, model="scripted-model", prompts=load_prompts(), settings=settings or Settings()
        ),
    )


def answer_with_fact(article: Article, statement: str, cites: list[str]) -> dict[str, object]:
    toll = next(s for s in article.citable if "322" in s.text)
    return {
        "headline": article.title,
        "summary": [{"text": toll.text, "cites": [toll.id]}],
        "facts": [{"kind": "quantity", "statement": statement, "value": None, "speaker": None, "cites": cites}],
        "entities": [{"name": "SOHR", "type": "organization", "aliases": []}],
    }


def toll_id(article: Article) -> str:
    return next(s.id for s in article.citable if "322" in s.text)


def test_hallucinated_number_is_reasked_and_the_corrected_answer_ships(article: Article) -> None:
    sid = toll_id(article)
    client = ScriptedClient(
        answer_with_fact(article, "The death toll reached 900.", [sid]),
        answer_with_fact(article, "The death toll reached 322.", [sid]),
    )
    result = summarize_with(article, client)

    assert [f.text for f in result.facts] == ["The death toll reached 322."]
    assert result.dropped == []
    assert (result.stats.calls, result.stats.reasks) == (2, 1)
    assert [c.response_model for c in client.calls] == ["ArticleExtraction"] * 2
    # The re-ask told the model exactly what was wrong, and where the right figure is.
    reask = all_text(client.calls[1].body)
    assert "'900'" in reask and sid in reask
    citation = result.facts[0].citations[0]
    assert article.text[citation.start : citation.end] == citation.text


def test_out_of_range_sentence_id_is_reasked(article: Article) -> None:
    sid = toll_id(article)
    client = ScriptedClient(
        answer_with_fact(article, "The death toll reached 322.", ["s999"]),
        answer_with_fact(article, "The death toll reached 322.", [sid]),
    )
    result = summarize_with(article, client)
    assert "'s999'" in all_text(client.calls[1].body)
    assert [c.sentence_id for c in result.facts[0].citations] == [sid]
    assert result.stats.reasks == 1


def test_uncited_claim_is_reasked(article: Article) -> None:
    sid = toll_id(article)
    client = ScriptedClient(
        answer_with_fact(article, "The death toll reached 322.", []),
        answer_with_fact(article, "The death toll reached 322.", [sid]),
    )
    result = summarize_with(article, client)
    assert "cites" in all_text(client.calls[1].body)
    assert len(result.facts) == 1 and result.stats.calls == 2


def test_claim_that_keeps_failing_is_dropped_and_reported_not_fatal(article: Article) -> None:
    bad = answer_with_fact(article, "Iraq reported 900 deaths in Baghdad.", [toll_id(article)])
    client = ScriptedClient(bad, bad, bad)
    result = summarize_with(article, client, Settings(max_attempts=3))

    assert result.status == "ok"
    assert result.stats.calls == 3
    assert result.facts == []
    assert len(result.summary) == 1  # the grounded parts of the answer are kept
    (dropped,) = result.dropped
    assert dropped.claim == "Iraq reported 900 deaths in Baghdad." and "'900'" in dropped.reason
    assert dropped.where == f"{article.id}.facts[0]"


def test_token_budget_stops_reasking(article: Article) -> None:
    bad = answer_with_fact(article, "Iraq reported 900 deaths.", [toll_id(article)])
    client = ScriptedClient(*[bad] * 5, usage=(900, 200))
    result = summarize_with(article, client, Settings(max_attempts=5, token_budget=2000))
    assert result.stats.calls == 2 and client.pending == 3  # 1,100 tokens each: the budget of 2,000 is spent after two
    assert result.dropped and result.status == "ok"


def test_malformed_tool_arguments_are_reasked(article: Article) -> None:
    client = ScriptedClient(
        '{"headline": "x", "summary": [{"text": "unterminated', default=lambda call: copying_answer(call.body)
    )
    result = summarize_with(article, client)
    assert result.stats.calls == 2 and len(result.summary) == 2


def test_article_text_is_never_rendered_as_a_template() -> None:
    # instructor renders messages as Jinja templates when given a validation context; we must not.
    text = (
        "The council met on Monday. A resident painted {{ 7*7 }} and {{ grounding }} on the town hall. "
        "Police found {% for x in range(3) %}spam{% endfor %} and a stray {% in the note. "
        "The mayor said 12 windows were broken."
    )
    (article,) = prepare([Document(title="Graffiti {{ copy_text }}", text=text, origin="hostile.txt")])
    client = ScriptedClient(default=lambda call: copying_answer(call.body))
    result = summarize_with(article, client)
    sent = all_text(client.calls[0].body)
    for literal in (
        "{{ 7*7 }}",
        "{{ grounding }}",
        "{% for x in range(3) %}spam{% endfor %}",
        "stray {%",
        "{{ copy_text }}",
    ):
        assert literal in sent
    assert "49" not in sent
    assert result.status == "ok" and result.summary


def test_an_answer_cut_off_at_max_tokens_is_reasked(scripted: ScriptedServer, article: Article) -> None:
    good = answer_with_fact(article, "The death toll reached 322.", [toll_id(article)])
    scripted.enqueue(Reply.tool(good, finish="length"), Reply.tool(good))
    result = summarize(article, provider_for(scripted))
    assert (result.stats.calls, result.stats.reasks) == (2, 1)
    assert "max_tokens" in all_text(scripted.requests[1]) or "incomplete" in all_text(scripted.requests[1]).lower()
    assert [f.text for f in result.facts] == ["The death toll reached 322."]


def test_a_server_error_during_a_re_ask_keeps_the_first_answer(scripted: ScriptedServer, article: Article) -> None:
    sid = toll_id(article)
    scripted.enqueue(
        Reply.tool(answer_with_fact(article, "The death toll reached 900.", [sid])),
        Reply.error(500),
        Reply.error(500),  # the re-ask fails twice: once, and once more on the openai client's own retry
    )
    result = summarize(article, provider_for(scripted, max_retries=1))
    assert len(scripted.requests) == 3
    assert result.status == "ok" and len(result.summary) == 1  # the grounded part of the first answer ships
    assert result.facts == [] and "'900'" in result.dropped[0].reason


@pytest.mark.parametrize(("status", "says"), [(401, "API key"), (403, "refused the request"), (404, "not found")])
def test_a_refusal_during_a_re_ask_is_raised_not_salvaged(
    scripted: ScriptedServer, article: Article, status: int, says: str
) -> None:
    scripted.enqueue(
        Reply.tool(answer_with_fact(article, "The death toll reached 900.", [toll_id(article)])),
        Reply.error(status),
    )
    with pytest.raises(ProviderError, match=f"{says}.*HTTP {status}"):
        summarize(article, provider_for(scripted))
    assert len(scripted.requests) == 2


def test_rate_limit_429_is_retried_after_retry_after(scripted: ScriptedServer, article: Article) -> None:
    scripted.enqueue(
        Reply.error(429, retry_after=0.3), Reply.tool(answer_with_fact(article, "322 died.", [toll_id(article)]))
    )
    result = summarize(article, provider_for(scripted))
    assert len(result.facts) == 1
    assert len(scripted.requests) == 2
    assert scripted.times[1] - scripted.times[0] >= 0.3  # the client waited as the server asked


def test_server_error_500_is_retried(scripted: ScriptedServer, article: Article) -> None:
    scripted.enqueue(Reply.error(500), Reply.tool(answer_with_fact(article, "322 died.", [toll_id(article)])))
    assert len(summarize(article, provider_for(scripted)).facts) == 1


def test_malformed_http_body_then_success(scripted: ScriptedServer, article: Article) -> None:
    scripted.enqueue(Reply.malformed(), Reply.tool(answer_with_fact(article, "322 died.", [toll_id(article)])))
    result = summarize(article, provider_for(scripted))
    # Either the client retried the broken body or instructor re-asked; the answer must survive.
    assert len(result.facts) == 1


def test_timeout_becomes_a_provider_error(scripted: ScriptedServer, article: Article) -> None:
    scripted.enqueue(Reply.hang(3))
    provider = provider_for(scripted, timeout=0.5, max_retries=0)
    with pytest.raises(ProviderError, match="cannot reach"):
        summarize(article, provider)


def test_unreachable_server_fails_the_run_with_one_error(article: Article) -> None:
    provider = replace(resolve(base_url="http://127.0.0.1:9/v1", model="m"), max_retries=0, timeout=2)
    job = Job(provider=provider)
    with pytest.raises(ProviderError, match="cannot reach"):
        run_closing(provider.async_client(), lambda client: summarize_all([article], job, client))


def test_one_failing_article_does_not_fail_the_others(seeds_dir: Path) -> None:
    articles = prepare(load([str(seeds_dir)]))

    def respond(call: Call) -> object:
        if "Ghweran" in call.user_text:  # only the second seed names the neighbourhood this way
            return ProviderError("the model server kept failing: HTTP 500", kind="server_error", status=500)
        return copying_answer(call.body)

    provider = ScriptedProvider(client=ScriptedClient(default=respond))  # type: ignore[arg-type]
    summaries = run_closing(provider.client, lambda c: summarize_all(articles, Job(provider=provider), c))
    status = {s.article_id: s.status for s in summaries}
    assert status == {"a1": "ok", "a2": "failed", "a3": "ok"}
    assert "500" in (summaries[1].error or "")


def test_a_server_failure_during_a_re_ask_keeps_the_first_answer_and_a_refusal_does_not(article: Article) -> None:
    sid = toll_id(article)
    wrong = answer_with_fact(article, "The death toll reached 900.", [sid])
    failing = ProviderError("the model server kept failing: HTTP 503", kind="server_error", status=503)
    result = summarize_with(article, ScriptedClient(wrong, failing))
    assert result.status == "ok" and len(result.summary) == 1 and "'900'" in result.dropped[0].reason
    refused = ProviderError("the model server refused the API key (HTTP 401)", kind="auth", status=401)
    with pytest.raises(ProviderError) as info:
        summarize_with(article, ScriptedClient(wrong, refused))
    assert info.value is refused


def test_a_model_whose_answers_never_parse_fails_a_brief_with_a_model_output_error(seeds_dir: Path) -> None:
    articles = prepare(load([str(seeds_dir)]))
    client = ScriptedClient(default=lambda call: "Sorry, I can only answer in prose.")
    job = Job(provider=ScriptedProvider(client=client), settings=Settings(max_attempts=2))
    with pytest.raises(ModelOutputError, match=r"'scripted-model' gave no usable answer for any of the 3 articles"):
        asyncio.run(brief_articles(articles, job, require_answer=True))
    assert len(client.calls) == 3 * 2  # each article asked and re-asked; no brief asked of nothing
    # An eval, say, scores such a run instead: the brief comes back with every article failed.
    brief = asyncio.run(brief_articles(articles, job))
    assert [s.status for s in brief.summaries] == ["failed"] * 3


def test_one_unusable_answer_fails_only_its_article(seeds_dir: Path) -> None:
    articles = prepare(load([str(seeds_dir)]))

    def respond(call: Call) -> object:
        if call.response_model == "BriefExtraction":
            return brief_answer(call.body)
        return "not JSON" if "Ghweran" in call.user_text else copying_answer(call.body)

    job = Job(provider=ScriptedProvider(client=ScriptedClient(default=respond)))
    brief = asyncio.run(brief_articles(articles, job, require_answer=True))
    assert [s.status for s in brief.summaries] == ["ok", "failed", "ok"] and brief.overview
    assert brief.run.provider == "scripted"


def full_responder(request: dict) -> Reply:  # type: ignore[type-arg]
    return Reply.tool(brief_answer(request) if is_brief_request(request) else copying_answer(request))


def test_full_brief_end_to_end_every_citation_resolves(seeds_dir: Path) -> None:
    articles = prepare(load([str(seeds_dir)]))
    with ScriptedServer(default=full_responder) as server:
        brief = asyncio.run(brief_articles(articles, Job(provider=provider_for(server))))
    brief = Brief.model_validate_json(brief.model_dump_json())  # schema-valid round trip
    texts = {a.id: a.text for a in brief.articles}
    claims = [*brief.overview, *(c for s in brief.summaries for c in [*s.summary, *s.facts])]
    assert claims and brief.overview
    for claim in claims:
        for c in claim.citations:
            assert texts[c.article_id][c.start : c.end] == c.text
        assert not unsupported(claim.text, "\n".join(c.text for c in claim.citations))
    # The brief prompt carried facts, not the article texts.
    brief_request = next(r for r in server.requests if is_brief_request(r))
    assert not sentences(brief_request)
    assert brief.stats.calls == len(server.requests) == 4


def test_a_brief_closes_its_connections(seeds_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The analyst's terminal shows no "Unclosed client session" from asyncio after a brief."""
    articles = prepare(load([str(seeds_dir)]))
    with ScriptedServer(default=full_responder) as server, caplog.at_level(logging.ERROR, logger="asyncio"):
        asyncio.run(brief_articles(articles, Job(provider=provider_for(server))))
        gc.collect()  # aiohttp reports a session left open when it is collected
    assert server.requests
    assert not [r for r in caplog.records if "Unclosed" in r.getMessage()]


@pytest.mark.parametrize(
    ("mode", "expect"),
    [
        ("tools", lambda r: r.get("tool_choice", {}).get("type") == "function" and "response_format" not in r),
        ("json_schema", lambda r: r.get("response_format", {}).get("type") == "json_schema"),
        ("json", lambda r: r.get("response_format", {}).get("type") == "json_object"),
        ("md_json", lambda r: "tools" not in r and "response_format" not in r),
    ],
)
def test_each_instructor_mode_round_trips(mode: str, expect, article: Article) -> None:  # type: ignore[no-untyped-def]
    def respond(request: dict) -> Reply:  # type: ignore[type-arg]
        answer = copying_answer(request)
        if request.get("tools"):
            return Reply.tool(answer)
        import json

        text = json.dumps(answer)
        return Reply.content(f"```json\n{text}\n```" if mode == "md_json" else text)

    with ScriptedServer(default=respond) as server:
        provider = resolve(base_url=server.base_url, model="m", mode=mode)
        result = summarize(article, provider)
    assert expect(server.requests[0]), server.requests[0].keys()
    assert len(result.summary) == 2


def _probe() -> type[BaseModel]:
    """A new documented model (instructor keeps what it built for one it has seen)."""

    class Probe(BaseModel):
        """A probe with documented fields."""

        model_config = ConfigDict(use_attribute_docstrings=True)
        who: str
        """The person named."""

        @model_validator(mode="after")
        def _not_nobody(self) -> Probe:
            if self.who == "nobody":
                raise ValueError("name someone")
            return self

    return Probe


@pytest.mark.parametrize("mode", ["tools", "json_schema", "json", "md_json"])
def test_instructor_wraps_a_documented_model_without_looking_for_its_source(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In tools mode instructor subclasses the response model; with attribute docstrings still on, pydantic
    # would search every loaded module for that subclass's source. The descriptions and validators are
    # inherited. (The other modes use the model as it is: this checks the request and validation stay the same.)
    probe = _probe()
    assert probe.model_fields["who"].description == "The person named."
    looked: list[object] = []
    real = inspect.getmodule
    monkeypatch.setattr(inspect, "getmodule", lambda *a, **k: looked.append(a) or real(*a, **k))
    prepared, request = _request(probe, instructor.Mode[mode.upper()], [{"role": "user", "content": "who?"}])
    assert looked == []
    sent = json.dumps(request)
    assert "The person named." in sent and "A probe with documented fields." in sent
    assert prepared.model_validate({"who": "Ali"}).who == "Ali"  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="name someone"):
        prepared.model_validate({"who": "nobody"})


@pytest.mark.parametrize("mode", ["tools", "json_schema"])
def test_each_request_gets_its_own_sentence_ids_and_the_kept_shape_never_changes(mode: str) -> None:
    # A request's shape is built once per template and kept; each request shares its unchanging parts
    # (fill_shared). A re-ask, or a second request, must not see what another request put in.
    from instructor.v2 import Provider as InstructorProvider
    from instructor.v2 import mode_registry
    from openai.types.chat import ChatCompletion
    from summarizer.schemas import ArticleExtraction
    from summarizer.schemas.llm import scoped

    from summarizer.ask import _request_shape

    chosen = instructor.Mode[mode.upper()]
    first, second = scoped(ArticleExtraction, ["s1", "s2"]), scoped(ArticleExtraction, ["s7"])
    _, shape = _request_shape(first.template, chosen)
    before = json.dumps(shape, sort_keys=True)
    _, one = _request(first, chosen, [{"role": "user", "content": "a"}])
    _, two = _request(second, chosen, [{"role": "user", "content": "b"}])
    assert one == {**first.fill(shape), "messages": [{"role": "user", "content": "a"}]}
    assert '"s7"' in json.dumps(two) and '"s1"' not in json.dumps(two) and '"s7"' not in json.dumps(one)
    handlers = mode_registry.get_handlers(InstructorProvider.OPENAI, chosen)
    failed = ChatCompletion.model_validate(
        {
            "id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": "{}",
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "ArticleExtraction", "arguments": "{}"}}
                ],
            }}],
        }
    )  # fmt: skip
    again = handlers.reask_handler(kwargs=one, response=failed, exception=ValueError("cite s9"))
    assert "cite s9" in json.dumps(again["messages"][1:])
    # Even handed to a re-ask as it is (instructor appends to the request's messages list in place).
    handlers.reask_handler(kwargs=first.fill_shared(shape), response=failed, exception=ValueError("cite s9"))
    assert json.dumps(shape, sort_keys=True) == before
    _, three = _request(second, chosen, [{"role": "user", "content": "c"}])
    assert {k: v for k, v in three.items() if k != "messages"} == {k: v for k, v in two.items() if k != "messages"}


def test_openai_provider_sends_the_key_and_never_logs_it(
    scripted: ScriptedServer, article: Article, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-test-DO-NOT-LOG-1234567890"
    scripted.enqueue(Reply.tool(answer_with_fact(article, "322 died.", [toll_id(article)])))
    provider = resolve(provider="openai", base_url=scripted.base_url, api_key=secret, model="gpt-4o-mini")
    assert provider.kind == "openai" and secret not in repr(provider)
    with caplog.at_level(logging.DEBUG):
        summarize(article, provider)
    assert scripted.requests[0]["_authorized"]
    assert secret not in caplog.text


def test_temperature_seed_and_max_tokens_are_sent(scripted: ScriptedServer, article: Article) -> None:
    scripted.enqueue(Reply.tool(answer_with_fact(article, "322 died.", [toll_id(article)])))
    summarize(article, provider_for(scripted), Settings(temperature=0.0, seed=7, max_tokens=321))
    request = scripted.requests[0]
    assert (request["temperature"], request["seed"], request["max_tokens"]) == (0.0, 7, 321)


def test_copy_mode_asks_for_ids_and_fills_in_the_cited_sentence(article: Article) -> None:
    sid = toll_id(article)
    client = ScriptedClient(
        {
            "headline": article.title,
            "summary": [{"cites": [sid]}],
            "facts": [{"cites": [sid], "kind": "quantity", "value": "322", "speaker": None}],
            "entities": [],
        }
    )
    result = summarize_with(article, client, Settings(copy_mode=True))
    schema = client.calls[0].body["tools"][0]["function"]["parameters"]
    alternatives = schema["$defs"]["CitedSentence"]["anyOf"]
    assert {alt["properties"]["cites"]["items"]["const"] for alt in alternatives} == {s.id for s in article.citable}
    assert all("text" not in alt["properties"] for alt in alternatives)  # the model never writes the text
    toll = article.sentence(sid)
    assert toll is not None
    assert [c.text for c in result.summary] == [toll.text]
    assert [(f.text, f.value) for f in result.facts] == [(toll.text, "322")]


def test_copy_mode_value_not_in_the_cited_sentence_is_still_caught(article: Article) -> None:
    sid = toll_id(article)
    answer = {"headline": article.title, "summary": [{"cites": [sid]}], "entities": []}
    wrong = {**answer, "facts": [{"cites": [sid], "kind": "quantity", "value": "900", "speaker": None}]}
    result = summarize_with(article, ScriptedClient(wrong, wrong), Settings(copy_mode=True, max_attempts=2))
    assert result.facts == [] and "'900'" in result.dropped[0].reason
    assert len(result.summary) == 1


@pytest.mark.parametrize(
    ("mode", "asked_for"),
    [
        (instructor.Mode.TOOLS, "ArticleExtraction"),
        (instructor.Mode.JSON_SCHEMA, "ArticleExtraction"),
        (instructor.Mode.JSON, None),
    ],
)
def test_the_in_process_model_answers_in_the_mode_it_is_asked_in(
    article: Article, mode: instructor.Mode, asked_for: str | None
) -> None:
    client = ScriptedClient(default=lambda call: copying_answer(call.body), mode=mode)
    result = summarize_with(article, client)
    assert len(result.summary) == 2 and result.stats.calls == 1
    assert client.calls[0].response_model == asked_for and client.closed
    with pytest.raises(AssertionError, match="exhausted"):
        summarize_with(article, ScriptedClient())

"""probe21: the fallback text chain gets `temperature`, which Google tells callers to remove for Gemini 3.

When the default text model (openai/gpt-6-luna, no `temperature`) is gone, the chain becomes the
template's fallbacks, google/gemini-3.8-flash then anthropic/claude-haiku-4.5, and the catalog
says both take `temperature`, so every story/meme/content/ideas request (0.8 to 1.0) now sends
it, with `provider.require_parameters` for the structured ones. The catalog's `parameters_source`
for google/gemini-3.8-flash (a Vercel AI Gateway page) says nothing about parameters. Public
sources: Google's Gemini 3 migration guidance, "Remove these parameters [temperature, top_p,
top_k] from all requests" (quoted in ENTERPILOT/GoModel#863, 2026-09-02); Gemini 3.6 Flash and
3.5 Flash-Lite answer 400 INVALID_ARGUMENT "Request contains an invalid argument." to a request
with `temperature` (fishjar/kiss-translator#928, 2026-07-23, citing
https://ai.google.dev/gemini-api/docs/latest-model#api-changes-and-parameter-updates);
anomalyco/opencode#38924 (2026-07-26) stops sending sampling defaults to Gemini after 3.5 Flash.
So the failover that issue 21 item 5 builds lands on a request the fallback refuses (a 400 is
REJECTED: final, no move to Claude) or, under `require_parameters`, "No endpoints found that can
handle the requested parameters" (REJECTED too): exactly what item 4 says must not happen."""

from __future__ import annotations

from contentgen.catalog import accepted_parameters, default_chain, find_model


def test_the_gemini_3_8_fallback_is_not_sent_temperature() -> None:
    fallbacks = default_chain("text")[1:]
    gemini = next(m for m in fallbacks if m.startswith("google/gemini-3"))
    entry = find_model(gemini)
    assert entry is not None

    sent = accepted_parameters(fallbacks, {"temperature": 0.9, "max_tokens": 800})

    assert "temperature" not in sent, (gemini, entry.parameters, entry.parameters_source)

"""Leading options of a request: what they set, what is left as the question, and the one-line
message a person gets for anything wrong."""

from __future__ import annotations

import pytest

from chatops.settings import Settings
from gateway.errors import OptionError, UserFacingError
from gateway.options import RequestOptions, parse_options

NOVA = "amazon.nova-micro-v1:0"
HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
LLAMA = "llama-3.1-8b-instruct"
TIERS = {"small": (NOVA, LLAMA), "medium": (HAIKU, LLAMA), "large": (SONNET, HAIKU)}


def parse(
    text: str, *, allowed: tuple[str, ...] = (), any_model: bool = False
) -> tuple[RequestOptions, str]:
    return parse_options(text, tiers=TIERS, allowed_models=allowed, allow_any_model=any_model)


def refusal(text: str, **kwargs: object) -> str:
    with pytest.raises(OptionError) as caught:
        parse(text, **kwargs)  # type: ignore[arg-type]
    message = caught.value.public_message
    assert "\n" not in message
    return message


def test_no_options_leaves_the_question_alone() -> None:
    question = "how do I run `git push --force-with-lease` safely?"
    assert parse(question) == (RequestOptions(), question)


def test_leading_options_are_read_and_removed() -> None:
    options, question = parse("--tier large --explain --fresh why did the deploy fail?")
    assert options == RequestOptions(tier="large", explain=True, fresh=True)
    assert question == "why did the deploy fail?"
    assert options.override_tier == "large"


def test_equals_form_case_and_post() -> None:
    options, question = parse("--tier=Small --post   summarize OPS-12")
    assert (options.tier, options.post, question) == ("small", True, "summarize OPS-12")


def test_options_after_the_first_word_of_the_question_are_part_of_it() -> None:
    text = "--fresh rm fails with `rm --no-preserve-root --tier large`\n--explain"
    options, question = parse(text)
    assert options == RequestOptions(fresh=True)
    assert question == "rm fails with `rm --no-preserve-root --tier large`\n--explain"


def test_a_bare_double_dash_ends_the_options() -> None:
    options, question = parse("--explain -- --force-with-lease vs --force?")
    assert (options.explain, question) == (True, "--force-with-lease vs --force?")


def test_smart_dashes_from_slack_are_read_as_double_dashes() -> None:
    options, question = parse("\u2014tier large \u2013explain why?")
    assert (options.tier, options.explain, question) == ("large", True, "why?")


def test_a_configured_model_runs_in_the_tier_it_is_primary_of() -> None:
    assert parse(f"--model {HAIKU} who?")[0] == RequestOptions(model=HAIKU, model_tier="medium")
    assert parse(f"--model {SONNET.upper()} who?")[0].model == SONNET
    # The self-hosted model is only ever a fallback: the first tier that lists it.
    options, _ = parse(f"--model {LLAMA} who?")
    assert (options.model_tier, options.override_tier) == ("small", "small")


def test_an_allowed_model_outside_the_tiers_has_no_tier() -> None:
    options, question = parse("--model amazon.nova-pro-v1:0 hi", allowed=("amazon.nova-pro-v1:0",))
    assert (options.model, options.model_tier, question) == ("amazon.nova-pro-v1:0", None, "hi")


def test_an_unknown_tier_lists_the_tiers() -> None:
    assert refusal("--tier huge why?") == "Unknown tier `huge`: use small, medium or large."
    assert refusal("--tier") == "`--tier` needs a value: use small, medium or large."
    assert refusal("--tier --explain why") == "`--tier` needs a value: use small, medium or large."


def test_an_unconfigured_model_is_refused_with_the_configured_ones() -> None:
    message = refusal("--model foo why?")
    assert message.startswith("`--model foo` is not one of the configured models: ")
    for model in (NOVA, HAIKU, SONNET, LLAMA):
        assert model in message
    assert refusal("--model= why").startswith("`--model` needs a model id: one of ")


def test_any_model_is_allowed_only_when_the_setting_says_so() -> None:
    options, _ = parse("--model my-finetune:v2 hello", any_model=True)
    assert (options.model, options.model_tier) == ("my-finetune:v2", None)
    assert refusal("--model <script> hi", any_model=True) == "`--model <script>` is not a model id."


def test_an_unknown_flag_lists_the_flags() -> None:
    assert refusal("--force-with-lease vs --force?") == (
        "Unknown option `--force-with-lease`: use `--tier small|medium|large`, `--model <id>`,"
        " `--explain`, `--fresh` or `--post` (start with `-- ` to ask about a flag)."
    )


def test_repeated_and_conflicting_options_are_refused() -> None:
    assert refusal("--tier small --tier large q") == "`--tier` is given twice: give it once."
    assert refusal(f"--tier small --model {NOVA} q") == "Use `--tier` or `--model`, not both."


def test_option_error_is_shown_to_the_person() -> None:
    assert issubclass(OptionError, UserFacingError)


def test_tier_names_alone_work_and_the_default_settings_parse() -> None:
    options, _ = parse_options(
        "--tier medium q",
        tiers=("small", "medium", "large"),
        allowed_models=(),
        allow_any_model=False,
    )
    assert options.tier == "medium"
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    by_tier = {tier: tuple(r.model for r in routes) for tier, routes in settings.tiers.items()}
    options, _ = parse_options(
        f"--model {NOVA} q", tiers=by_tier, allowed_models=(), allow_any_model=False
    )
    assert options.model_tier == "small"

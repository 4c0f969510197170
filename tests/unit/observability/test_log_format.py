"""The redacting formatter's own key extraction and timestamp write the line Powertools would.

`RedactingFormatter` replaces two per-line steps of Powertools' `LambdaPowertoolsFormatter` with
cheaper ones (docs/benchmark.md, "Sixth round"): the reserved keys looked up in a set, and the
timestamp's text outside the milliseconds made once per second. Each line must stay the line
Powertools writes for the same record, context keys and clock.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from hypothesis import given, settings
from hypothesis import strategies as st

from contentgen.observability import RedactingFormatter

pytestmark = pytest.mark.property

_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
)
# Extras a caller may pass (never a LogRecord attribute, which `logging` refuses in `extra`),
# among them names Powertools' own keys use.
_EXTRAS = st.dictionaries(
    st.one_of(_NAMES.map("x_{}".format), st.sampled_from(["exception", "xray_trace_id", "service"])),
    _VALUES,
    max_size=6,
)
# Keys given to the formatter or the context: plain values, or a reserved name formatted from the
# record as Powertools allows (`location="%(module)s"`).
_KEYS = st.builds(
    lambda plain, reserved: {**plain, **reserved},
    st.dictionaries(_NAMES.map("k_{}".format), _VALUES, max_size=3),
    st.dictionaries(
        st.sampled_from(["location", "timestamp", "level", "name"]),
        st.sampled_from(["%(module)s", "%(funcName)s:%(lineno)d", "%(asctime)s", "fixed", ""]),
        max_size=2,
    ),
)
# 1970 to 2100, with milliseconds, and the second's last millisecond.
_CREATED = st.one_of(
    st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False),
    st.integers(0, 4_102_444_800).map(lambda second: second + 0.9995),
)


def _record(created: float, extras: dict[str, Any], message: str = "provider call") -> logging.LogRecord:
    record = logging.LogRecord("contentgen", logging.INFO, __file__, 12, message, None, None, func="handler")
    record.created = created
    record.msecs = (created - int(created)) * 1000
    for name, value in extras.items():
        setattr(record, name, value)
    return record


def _line(formatter: logging.Formatter, record: logging.LogRecord) -> dict[str, Any]:
    return dict(json.loads(formatter.format(record)))


@settings(max_examples=300, deadline=None)
@given(
    created=st.lists(_CREATED, min_size=1, max_size=4),
    extras=_EXTRAS,
    keys=_KEYS,
    context=_KEYS,
    utc=st.booleans(),
)
def test_each_line_is_the_line_powertools_writes(
    created: list[float], extras: dict[str, Any], keys: dict[str, Any], context: dict[str, Any], utc: bool
) -> None:
    ours, theirs = RedactingFormatter(utc=utc, **keys), LambdaPowertoolsFormatter(utc=utc, **keys)
    ours.thread_safe_append_keys(**context)
    try:
        for when in created:  # one formatter across seconds: what it remembers of the last one
            record = _record(when, extras)
            assert list(_line(ours, record).items()) == list(_line(theirs, record).items())
    finally:
        ours.thread_safe_clear_keys()


def test_the_timestamp_is_powertools_default_across_a_second_boundary() -> None:
    ours, theirs = RedactingFormatter(), LambdaPowertoolsFormatter()
    second = int(time.time())
    for created in (second + 0.998, second + 0.9999, second + 1.0, second + 1.001, second + 3600.5):
        record = _record(created, {})
        assert ours.formatTime(record) == theirs.formatTime(record)


@pytest.mark.parametrize(
    "options",
    [{"datefmt": "%H:%M:%S.%F"}, {"use_rfc3339": True}, {"datefmt": "%Y %F", "use_datetime_directive": True}],
)
def test_any_other_timestamp_format_is_powertools_own(options: dict[str, Any]) -> None:
    ours, theirs = RedactingFormatter(**options), LambdaPowertoolsFormatter(**options)
    record = _record(1_765_000_000.123, {})
    assert ours.formatTime(record, ours.datefmt) == theirs.formatTime(record, theirs.datefmt)
    assert _line(ours, record)["timestamp"] == _line(theirs, record)["timestamp"]


def test_a_reserved_key_that_is_not_text_is_refused_as_powertools_refuses_it() -> None:
    ours = RedactingFormatter(location=12)
    with pytest.raises(ValueError, match="need to be type 'str'"):
        ours.format(_record(1_765_000_000.5, {}))


def test_a_time_zone_changed_while_running_changes_the_next_timestamp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by a probe: the text made once per second must not outlive a `time.tzset()`."""
    ours, theirs = RedactingFormatter(), LambdaPowertoolsFormatter()
    try:
        for zone, created in (("America/New_York", 1_765_000_000.1), ("Asia/Kolkata", 1_765_000_000.3)):
            monkeypatch.setenv("TZ", zone)
            time.tzset()
            record = _record(created, {})
            assert ours.formatTime(record) == theirs.formatTime(record)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_serializer_given_by_position_or_name_is_kept() -> None:
    from contentgen.observability import RedactingFormatter

    def mine(log: Any) -> str:
        return "mine"

    assert RedactingFormatter(mine).json_serializer is mine
    assert RedactingFormatter(json_serializer=mine).json_serializer is mine

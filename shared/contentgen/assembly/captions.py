"""Caption cues timed to a narration, and their SRT / WebVTT text.

A cue is one or two lines of at most `max_line_chars` columns (42 by default, the width common
subtitle guidelines use) shown from the moment its first word is spoken. Cues are cut between
sentences and, inside a long sentence, preferably after a phrase (a comma, a colon, a dash);
a cue never spans two sentences.

Timing, in order of preference:
1. word-level timings from the speech model (`TimedWord`: word, start, end in seconds);
2. otherwise each word's share of the speech by its estimated syllables (`estimate_syllables`),
   pauses after punctuation counted as part-syllables, spread over the audio's speech span
   (`speech_start_s`..`speech_end_s`, e.g. from `contentgen.assembly.audio.speech_bounds`, else
   the whole duration).

A cue starts at its first word's start and ends at the next cue's start, or earlier: its last
word's end plus a short hold. It never starts before its first word (a caption that runs ahead
of the voice reads as an error), cues never overlap, and all lie within [0, duration_s].

Formats: SRT (https://en.wikipedia.org/wiki/SubRip#Format: `00:00:01,000 --> 00:00:02,500`) and
WebVTT (https://www.w3.org/TR/webvtt1/: `WEBVTT` header, `00:00:01.000 --> 00:00:02.500`, text
with `&`, `<`, `>` escaped).
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from contentgen.errors import InvalidRequestError

MAX_LINE_CHARS = 42
MAX_LINES = 2
# After the last word, a cue stays up this long (or until the next cue), and at least MIN_SHOW_S
# from its start when the next cue leaves room; a gap shorter than BRIDGE_S is closed so captions
# do not flicker off and on between cues.
HOLD_S = 0.6
MIN_SHOW_S = 1.0
BRIDGE_S = 0.25
# Pause weights (in syllables) of punctuation when timing by syllable share.
SENTENCE_PAUSE = 1.0
PHRASE_PAUSE = 0.5

# Closing quotes and brackets, sentence-ending and phrase-ending punctuation (ASCII, typographic, CJK).
_CLOSERS = "\"'\u201d\u2019\u00bb)]}\u300d\u300f\uff09\u3011"
_SENTENCE_END = re.compile("[.!?\u2026\u3002\uff01\uff1f\u203c\u2047][" + re.escape(_CLOSERS) + "]*$")
_PHRASE_END = re.compile("[,;:\u2014\u2013\u3001\uff0c\uff1b\uff1a][" + re.escape(_CLOSERS) + "]*$")
# Vowel letters (after removing diacritics) of the Latin, Greek and Cyrillic scripts.
_VOWELS = frozenset("aeiouyæøœ" + "αεηιουω" + "аеёиоуыэюяіїєў")


@dataclass(frozen=True)
class TimedWord:
    """A word as the speech model timed it: `start_s`..`end_s` from the start of its audio."""

    word: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Cue:
    """One caption: `lines` (1 or 2, each at most the line width) shown `start_s`..`end_s`."""

    start_s: float
    end_s: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The cue's lines joined by newlines."""
        return "\n".join(self.lines)

    def shifted(self, offset_s: float) -> Cue:
        """The same cue `offset_s` seconds later (to place a segment's cues on the short's timeline)."""
        return Cue(self.start_s + offset_s, self.end_s + offset_s, self.lines)


@dataclass
class _Token:
    text: str
    glue: bool  # joined to the previous token without a space (CJK characters, split long words)
    weight: float = 1.0
    start: float = 0.0
    end: float = 0.0

    @property
    def sentence_end(self) -> bool:
        return bool(_SENTENCE_END.search(self.text))

    @property
    def phrase_end(self) -> bool:
        return self.sentence_end or bool(_PHRASE_END.search(self.text))


def char_width(char: str) -> int:
    """Columns a character takes: 2 for East Asian wide/fullwidth, else 1 (never 0, so that a
    line's length in code points never exceeds its width)."""
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Columns of `text` (see `char_width`)."""
    return sum(char_width(char) for char in text)


def estimate_syllables(word: str) -> int:
    """A language-agnostic syllable estimate of one word (at least 1 for any word with a letter
    or digit, 0 for bare punctuation).

    Counts groups of vowel letters in Latin, Greek and Cyrillic script (diacritics removed), one
    syllable per East Asian wide character (a Chinese character, a kana, a Hangul block) and per
    digit; a word of letters with no known vowel (Arabic, Hebrew, Indic and other scripts) counts
    one per two letters. Limits: silent letters (English final e, French e muet) count; digits
    and abbreviations are read as one syllable per character; kanji read with several morae count
    one; an abjad's unwritten vowels are guessed. Good enough to share a duration; word timings
    from the speech model are better when there are any.
    """
    count = 0
    letters_without_vowels = 0
    vowel_letters = 0
    in_vowel = False
    for char in unicodedata.normalize("NFD", word.casefold()):
        if unicodedata.combining(char):
            continue
        if char.isdigit() or (char_width(char) == 2 and char.isalpha()):
            count += 1
            in_vowel = False
        elif char.isalpha():
            is_vowel = char in _VOWELS
            if is_vowel:
                vowel_letters += 1
                if not in_vowel:
                    count += 1
            elif not _is_latin_greek_cyrillic(char):
                letters_without_vowels += 1
            in_vowel = is_vowel
        else:
            in_vowel = False
    if letters_without_vowels:
        count += max(1, round(letters_without_vowels / 2))
    if count == 0 and any(char.isalpha() for char in word):
        count = 1  # consonants only ("hmm", "Mr")
    return count


def _is_latin_greek_cyrillic(char: str) -> bool:
    name = unicodedata.name(char, "")
    return name.startswith(("LATIN", "GREEK", "CYRILLIC"))


def build_cues(
    text: str,
    duration_s: float,
    *,
    words: Sequence[TimedWord] | None = None,
    speech_start_s: float | None = None,
    speech_end_s: float | None = None,
    max_line_chars: int = MAX_LINE_CHARS,
) -> list[Cue]:
    """Caption cues for one narration of `duration_s` seconds.

    `text` is the narration's text (used when `words` is None or empty); `words` are the speech
    model's word timings when it gives them (their words are what is shown). Without timings,
    words share `speech_start_s`..`speech_end_s` (default 0..duration_s) by syllables.
    Returns cues ordered, non-overlapping, within [0, duration_s], each of at most 2 lines of at
    most `max_line_chars` columns. Raises InvalidRequestError naming the field for a duration that
    is not a positive finite number or a line width under 8.
    """
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise InvalidRequestError("duration_s", "must be a positive number of seconds")
    if max_line_chars < 8:
        raise InvalidRequestError("max_line_chars", "must be at least 8")
    if words:
        tokens = _timed_tokens(words, duration_s, max_line_chars)
    else:
        tokens = _tokenize(text, max_line_chars)
        start = 0.0 if speech_start_s is None else min(max(speech_start_s, 0.0), duration_s)
        end = duration_s if speech_end_s is None else min(max(speech_end_s, start), duration_s)
        if end <= start:
            start, end = 0.0, duration_s
        _share_by_syllables(tokens, start, end)
    if not tokens:
        return []
    groups = []
    for sentence in _sentences(tokens):
        groups += _cut(sentence, max_line_chars)
    return _time_cues(groups, duration_s, max_line_chars)


def _tokenize(text: str, max_line_chars: int) -> list[_Token]:
    tokens: list[_Token] = []
    for word in text.split():
        for index, piece in enumerate(_pieces(word, max_line_chars)):
            tokens.append(_Token(piece, glue=index > 0))
    return tokens


def _pieces(word: str, max_line_chars: int) -> list[str]:
    """A word split into pieces that can be broken between: each wide character alone (with the
    punctuation that follows it), other runs whole unless wider than a line."""
    pieces: list[str] = []
    run = ""
    after_wide = False
    for char in word:
        punctuation = unicodedata.category(char).startswith("P")
        if char_width(char) == 2 and not punctuation:
            if run:
                pieces.append(run)
                run = ""
            pieces.append(char)
            after_wide = True
        elif punctuation and after_wide and not run:
            pieces[-1] += char  # "好。" stays together
        else:
            run += char
            after_wide = False
    if run:
        pieces.append(run)
    out: list[str] = []
    for piece in pieces:
        while text_width(piece) > max_line_chars:
            cut = _prefix_within(piece, max_line_chars)
            out.append(piece[:cut])
            piece = piece[cut:]
        if piece:
            out.append(piece)
    return out


def _prefix_within(text: str, width: int) -> int:
    used = 0
    for index, char in enumerate(text):
        used += char_width(char)
        if used > width:
            return max(index, 1)
    return len(text)


def _timed_tokens(words: Sequence[TimedWord], duration_s: float, max_line_chars: int) -> list[_Token]:
    """Tokens of the timed words, their starts never decreasing in the order they are shown.

    Words are ordered by start; a start before the previous word's is moved up to it. A word
    that becomes several tokens (several parts, or a part wider than a line) shares its span
    among them by width, and that span ends where the next word starts when the model's
    timings overlap (a long word timed 0-3 s and the next at 0.25 s); a word timed at the same
    moment as the one before starts with that one's last piece. Otherwise a later piece would
    start after the next word, and a cue could start before the one it follows ends, or be
    dropped with its words.
    """
    ordered = sorted(
        (w for w in words if w.word.strip()), key=lambda w: (_finite(w.start_s), _finite(w.end_s))
    )
    starts: list[float] = []
    for word in ordered:
        previous = starts[-1] if starts else 0.0
        starts.append(min(max(_finite(word.start_s), previous), duration_s))
    tokens: list[_Token] = []
    for index, (word, start) in enumerate(zip(ordered, starts, strict=True)):
        end = min(max(_finite(word.end_s), start), duration_s)
        if index + 1 < len(starts) and starts[index + 1] > start:
            end = min(end, starts[index + 1])
        pieces = [
            (piece, index > 0)
            for part in word.word.split()
            for index, piece in enumerate(_pieces(part, max_line_chars))
        ]
        total = sum(text_width(piece) for piece, _ in pieces) or 1
        done = 0
        for piece, glue in pieces:
            piece_start = start + (end - start) * done / total
            done += text_width(piece)
            piece_end = start + (end - start) * done / total
            tokens.append(_Token(piece, glue=glue, start=piece_start, end=piece_end))
    for before, token in itertools.pairwise(tokens):  # a word timed at the same moment as the
        token.start = max(token.start, before.start)  # one before follows its spread pieces
        token.end = max(token.end, token.start)
    return tokens


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def _share_by_syllables(tokens: list[_Token], start: float, end: float) -> None:
    weights = []
    for token in tokens:
        token.weight = max(estimate_syllables(token.text), 1)
        pause = SENTENCE_PAUSE if token.sentence_end else PHRASE_PAUSE if token.phrase_end else 0.0
        weights.append((token.weight, pause))
    # The last word's pause is not spoken: the narration ends there.
    total = sum(w for w, _ in weights) + sum(p for _, p in weights[:-1])
    unit = (end - start) / total if total else 0.0
    clock = start
    for index, (token, (weight, pause)) in enumerate(zip(tokens, weights, strict=True)):
        token.start = clock
        clock += weight * unit
        token.end = min(clock, end)
        if index < len(tokens) - 1:
            clock += pause * unit


def _sentences(tokens: list[_Token]) -> list[list[_Token]]:
    sentences: list[list[_Token]] = [[]]
    for token in tokens:
        sentences[-1].append(token)
        if token.sentence_end:
            sentences.append([])
    return [s for s in sentences if s]


def _join(tokens: Sequence[_Token]) -> str:
    text = ""
    for index, token in enumerate(tokens):
        text += token.text if index == 0 or token.glue else " " + token.text
    return text


def _layout(tokens: Sequence[_Token], max_line_chars: int) -> tuple[str, ...] | None:
    """The tokens as 1 line, or 2 balanced lines (preferring a break after punctuation), or None."""
    whole = _join(tokens)
    if text_width(whole) <= max_line_chars:
        return (whole,)
    best: tuple[float, tuple[str, str]] | None = None
    for split in range(1, len(tokens)):
        first, second = _join(tokens[:split]), _join(tokens[split:])
        widths = text_width(first), text_width(second)
        if max(widths) > max_line_chars:
            continue
        score = max(widths) - (8 if tokens[split - 1].phrase_end else 0)
        if best is None or score < best[0]:
            best = (score, (first, second))
    return best[1] if best else None


def _cut(sentence: list[_Token], max_line_chars: int) -> list[tuple[list[_Token], tuple[str, ...]]]:
    """Fewest, best-placed cues for one sentence (dynamic programming over cut points)."""
    count = len(sentence)
    longest = MAX_LINES * (max_line_chars + 1)
    best: list[tuple[float, int, tuple[str, ...]] | None] = [None] * (count + 1)
    best[0] = (0.0, 0, ())
    for end in range(1, count + 1):
        for begin in range(end - 1, -1, -1):
            previous = best[begin]
            if previous is None:
                continue
            if text_width(_join(sentence[begin:end])) > longest:
                break
            lines = _layout(sentence[begin:end], max_line_chars)
            if lines is None:
                continue
            cost = previous[0] + 10.0
            if end < count and not sentence[end - 1].phrase_end:
                cost += 6.0  # a cut inside a phrase
            if end < count and text_width(_join(sentence[begin:end])) < max_line_chars // 2:
                cost += 4.0  # a short cue that flashes by
            current = best[end]
            if current is None or cost < current[0]:
                best[end] = (cost, begin, lines)
    cues: list[tuple[list[_Token], tuple[str, ...]]] = []
    end = count
    while end > 0:
        entry = best[end]
        assert entry is not None  # every single token fits a line (pieces are cut to the width)
        cues.append((sentence[entry[1] : end], entry[2]))
        end = entry[1]
    cues.reverse()
    return cues


def _time_cues(
    groups: list[tuple[list[_Token], tuple[str, ...]]], duration_s: float, max_line_chars: int
) -> list[Cue]:
    cues: list[Cue] = []
    for index, (tokens, lines) in enumerate(groups):
        start = min(tokens[0].start, duration_s)
        next_start = min(groups[index + 1][0][0].start, duration_s) if index + 1 < len(groups) else duration_s
        spoken_end = max(max(token.end for token in tokens), start)
        end = min(next_start, max(spoken_end + HOLD_S, start + MIN_SHOW_S))
        if next_start - end < BRIDGE_S:
            end = next_start
        end = min(end, duration_s)
        if end - start < 0.001:
            continue  # no time left to show it (words timed at the very end of the audio)
        cues.append(Cue(start, end, lines))
    return cues


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(round(seconds * 1000), 0)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


SRT_ARROW = "\u2192"  # what `-->` in a cue's text becomes in SRT (see `to_srt`)


def to_srt(cues: Sequence[Cue]) -> str:
    """SubRip text: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, a blank line after each.

    `-->` in the text becomes `→` (U+2192): SRT readers take any line with `-->` between two
    timestamps for the timing line of a new cue (FFmpeg libavformat/srtdec.c), which would drop
    the words around it from the soft track. WebVTT forbids `-->` in a cue's text (W3C WebVTT 1.0);
    `to_vtt` escapes its `>`."""
    blocks = [
        f"{number}\n{_timestamp(cue.start_s, ',')} --> {_timestamp(cue.end_s, ',')}\n"
        f"{cue.text.replace('-->', SRT_ARROW)}\n"
        for number, cue in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def to_vtt(cues: Sequence[Cue]) -> str:
    """WebVTT text: the `WEBVTT` header, then cues `HH:MM:SS.mmm --> HH:MM:SS.mmm` with escaped text."""
    blocks = ["WEBVTT\n"]
    for cue in cues:
        text = cue.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        blocks.append(f"{_timestamp(cue.start_s, '.')} --> {_timestamp(cue.end_s, '.')}\n{text}\n")
    return "\n".join(blocks)

"""Text normalisation against evasions, shared by the rules and the terms they match.

`normalise` maps a text to lower-case ASCII words separated by single spaces:

* NFKD, with combining marks dropped (accents, fullwidth forms, ligatures);
* zero-width and soft-hyphen characters removed (`h\u200bate` -> `hate`);
* homoglyphs mapped to Latin (Cyrillic `а`, Greek `ο`, ...);
* leetspeak inside words (`h4te`, `sh!t`, `$hit`), but not punctuation after a word (`hate!`);
* links, @mentions and HTML entities removed (links are judged separately).

Two evasions need views of their own (see `Views`): letters spaced apart (`h a t e`) are
joined, and letters stretched three times or more (`haaate`) are squeezed.
Everything here runs once per item, so it sticks to `str.translate` and compiled regexes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_ZERO_WIDTH = "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"
_COMBINING = "".join(chr(c) for c in range(0x300, 0x370))
_HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "ɡ": "g", "ɩ": "i", "ı": "i", "ſ": "s",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w",
}  # fmt: skip
_TABLE = str.maketrans({**{c: None for c in _ZERO_WIDTH + _COMBINING}, **_HOMOGLYPHS})
_LEET_MAP = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "9": "g", "@": "a", "$": "s", "!": "i", "|": "i"}
# A leet character followed by a letter (`h4te`, `$hit`, `sh!t`), or a leet digit ending a word (`hat3`).
_LEET_TABLE = str.maketrans(_LEET_MAP)
_LEET = re.compile(r"[0134579@$!|](?=[a-z])|(?<=[a-z])[0134579](?![0-9a-z])")
_NOISE = re.compile(r"https?://\S+|www\.\S+|@\w+|&[a-z]+;|&#\d+;")
_URL = re.compile(r"https?://\S+|www\.\S+")
_WORD = re.compile(r"[a-z0-9]+")
_STRETCH = re.compile(r"([a-z])\1{2,}")
_REPEAT = re.compile(r"([a-z])\1+")
# Three or more one-character words in a row: letters spaced apart to dodge a filter.
_SPACED = re.compile(r"(?<![a-z0-9])(?:[a-z0-9] ){2,}[a-z0-9](?![a-z0-9])")


@dataclass(frozen=True)
class Views:
    """The normalised views of one text that the matchers read."""

    words: str  # " w1 w2 ... " with spaced-out letters joined: word-start matching
    spaced: tuple[str, ...]  # the joined spaced-out runs: substring matching (`i h a t e` -> `ihate`)
    squeezed: str | None  # repeats squeezed to one letter, only when letters were stretched


def normalise(text: str) -> str:
    """Lower-case ASCII words separated by single spaces (see the module docstring)."""
    folded = unicodedata.normalize("NFKD", text).casefold().translate(_TABLE)
    folded = _NOISE.sub(" ", folded)
    if _LEET.search(folded):
        folded = _LEET.sub(lambda m: _LEET_MAP[m.group()], folded)
    return " ".join(_WORD.findall(folded))


def squeeze(words: str) -> str:
    """Every run of a repeated letter squeezed to one (`haaate`, `hatte` -> `hate`)."""
    return _REPEAT.sub(r"\1", words)


def views(text: str) -> Views:
    """Normalise `text` and build the views the matchers need."""
    words = normalise(text)
    spaced: tuple[str, ...] = ()
    if _SPACED.search(words):
        # Joined, a spaced-out run is one word, and its digits are leetspeak (`f 4 g` -> `fag`).
        spaced = tuple(m.group().replace(" ", "").translate(_LEET_TABLE) for m in _SPACED.finditer(words))
        words = _SPACED.sub(lambda m: m.group().replace(" ", "").translate(_LEET_TABLE), words)
    squeezed = squeeze(words) if _STRETCH.search(words) else None
    return Views(words=f" {words} ", spaced=spaced, squeezed=f" {squeezed} " if squeezed is not None else None)


def urls_in(text: str) -> list[str]:
    """Links written in the text itself (judged like the item's `links`)."""
    return _URL.findall(text) if ("http" in text or "www." in text) else []

"""Hypothesis strategies shared by the property tests: account ids as users paste them, XML-safe
text, and one-character changes."""

from __future__ import annotations

import string

from hypothesis import strategies as st

ALPHANUMERIC = string.ascii_letters + string.digits

xml_text_char = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"))
"""Any character XML 1.0 can carry that is not whitespace or a control (letters, digits of every
script, punctuation, symbols, marks)."""


def credential_text(max_size: int = 64) -> st.SearchStrategy[str]:
    """A consumer key, token id or secret: any non-whitespace XML-safe text."""
    return st.text(xml_text_char, min_size=1, max_size=max_size)


nonces = st.text(st.sampled_from(ALPHANUMERIC), min_size=6, max_size=64)
"""NetSuite's rule for tokenPassport nonces: 6..64 alphanumeric characters."""

timestamps = st.integers(min_value=0, max_value=10**10)
"""Unix seconds (xsd:long in platformCore:TokenPassport), 1970 to the year 2286."""


@st.composite
def one_character_change(draw, text: str, alphabet: st.SearchStrategy[str] = xml_text_char) -> str:
    """``text`` with one character replaced by another, one inserted, or (if longer than 1) one removed."""
    kinds = ["replace", "insert"] + (["delete"] if len(text) > 1 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "delete":
        i = draw(st.integers(0, len(text) - 1))
        return text[:i] + text[i + 1 :]
    if kind == "insert":
        i = draw(st.integers(0, len(text)))
        return text[:i] + draw(alphabet) + text[i:]
    i = draw(st.integers(0, len(text) - 1))
    replacement = draw(alphabet.filter(lambda c: c != text[i]))
    return text[:i] + replacement + text[i + 1 :]


# ---- account ids -------------------------------------------------------------------------------

ascii_digits = st.text(st.sampled_from(string.digits), min_size=1, max_size=12)


@st.composite
def canonical_account_ids(draw) -> str:
    """An account id as NetSuite shows it: ``1234567``, ``1234567_SB1``, ``1234567_RP``,
    ``TSTDRV1234567`` (NETSUITE.md, "Endpoints and versions")."""
    prefix = draw(st.sampled_from(["", "", "", "TSTDRV"]))
    number = draw(ascii_digits)
    suffix = draw(
        st.one_of(
            st.just(""),
            st.builds(lambda n: f"_SB{n}", st.integers(1, 99)),
            st.just("_RP"),
            st.builds(
                lambda letters, n: f"_{letters}{n}",
                st.text(st.sampled_from(string.ascii_uppercase), min_size=1, max_size=4),
                st.sampled_from(["", "1", "2", "10"]),
            ),
        )
    )
    return f"{prefix}{number}{suffix}"


@st.composite
def sloppy(draw, canonical: str) -> str:
    """``canonical`` as a user might paste it: any case, ``-`` for ``_``, spaces, tabs or
    newlines around it, quotes around it."""
    lower = draw(st.integers(0, 2 ** len(canonical) - 1))  # one bit per character: lower it?
    text = "".join(c.lower() if lower >> i & 1 else c for i, c in enumerate(canonical))
    if draw(st.booleans()):
        text = text.replace("_", "-")
    space = st.text(st.sampled_from(" \t\n\r"), max_size=3)
    quote = st.sampled_from(["", "'", '"'])
    opening, closing = draw(quote), draw(quote)
    return f"{draw(space)}{opening}{draw(space)}{text}{draw(space)}{closing}{draw(space)}"

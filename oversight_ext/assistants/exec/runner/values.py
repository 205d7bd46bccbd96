"""Values the sandboxed runner draws for the shapes :mod:`..usage` adds (text from the module's tokens, bytes, *args).

Text spliced from the module's own literal tokens (``'&'``, ``'<!--'``, ``'%2F'``) reaches the
branches that look for them; bytes are drawn the same way, from the module's bytes literals.
Plain standard library only: this runs inside the sandbox, before the code under test.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from typing import Any

Shape = dict[str, Any]

_SEPS = ["", "", "", " ", "  ", "\n", "\t", ", ", ".", "-", "/", ":", "=", "0", "1", "9", "12", "255"]


def spliced(tokens: list[str], words: list[str], alphabet: str, rnd: random.Random) -> str:
    """A short text made of the module's literal tokens, its words, digits and separators."""
    pieces: list[str] = []
    for _ in range(rnd.randint(1, 6)):
        r = rnd.random()
        if r < 0.5 and tokens:
            # the first tokens are the changed code's own: half the time draw from those
            pieces.append(rnd.choice(tokens[:8] if rnd.random() < 0.5 else tokens))
        elif r < 0.7 and words:
            pieces.append(rnd.choice(words))
        elif r < 0.85:
            pieces.append(rnd.choice(_SEPS))
        else:
            pieces.append("".join(rnd.choice(alphabet or "ab") for _ in range(rnd.randint(1, 4))))
    return "".join(pieces)


def text(shape: Shape, rnd: random.Random) -> str | None:
    """A value of a text shape that carries tokens, or None to let the runner draw as before."""
    tokens = shape.get("tokens") or []
    affix = shape.get("affix") or []
    if affix and rnd.random() < 0.25:  # what its startswith/endswith tests look for
        pre, suf = rnd.choice(affix)
        return pre + (spliced(tokens, shape.get("words") or [], shape.get("alphabet") or "ab", rnd) if rnd.random() < 0.8 else "") + suf
    if not tokens or rnd.random() >= 0.4:
        return None
    return spliced(tokens, shape.get("words") or [], shape.get("alphabet") or "ab", rnd)


def raw(shape: Shape, rnd: random.Random) -> bytes:
    """A bytes value: from the module's bytes literals when it has some, else from its alphabet."""
    if rnd.random() < 0.15:
        return rnd.choice([b"", b" ", b"\n", b"a", b"\x00", b"\xff"])
    tokens = shape.get("tokens") or []
    alphabet = shape.get("alphabet") or "ab"
    if tokens and rnd.random() < 0.6:
        s = spliced(tokens, [], alphabet, rnd)
    else:
        s = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, shape.get("max_size", 12))))
        if rnd.random() < 0.2:
            s += chr(rnd.choice([0x80, 0xA0, 0xE9, 0xFF]))
    return s.encode("latin-1", "replace")


def extra_args(sig: Shape, rnd: random.Random, sample: Callable[[Shape, random.Random, int], Any], depth: int) -> list[Any]:
    """Zero to three values for a ``*args`` parameter, when the signature has one."""
    shape = sig.get("varargs")
    if shape is None:
        return []
    return [sample(shape, rnd, depth) for _ in range(rnd.choice([0, 1, 1, 2, 3]))]


#: Inputs tried per driver to learn whether it reaches the changed code (four within the whole
#: budget, the rest within its first third): a parser's entry point reaches a branch only on text
#: that holds its marker, which few random inputs do.
PROBES = 24


def stream(shape: Shape, rnd: random.Random) -> io.BytesIO | io.StringIO:
    """An in-memory file (bytes or text) holding a generated value; each call gets its own copy."""
    if shape.get("bytes"):
        return io.BytesIO(raw({"tokens": shape.get("byte_tokens") or [], "max_size": 40}, rnd))
    tokens = shape.get("tokens") or []
    n = rnd.randint(0, 4)
    return io.StringIO("\n".join(spliced(tokens, [], "ab c,-", rnd) for _ in range(n)))


def contents(v: Any) -> list[Any] | None:
    """What an in-memory file holds, for comparing versions (None for anything else)."""
    if isinstance(v, (io.StringIO, io.BytesIO)):
        return ["file", "closed"] if v.closed else ["file", v.getvalue(), v.tell()]
    return None


#: Now and then a float input is one of these: the ``isinf``/``isnan`` branches need them.
SPECIAL_FLOATS = (float("inf"), float("-inf"), float("nan"))

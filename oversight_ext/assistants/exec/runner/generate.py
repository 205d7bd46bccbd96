"""Generated inputs: values drawn for the input shapes the critic planned (phase 2)."""

from __future__ import annotations

import copy
import random
from typing import Any

from . import values as VALUES
from .objects import _New
from .runstate import RUN


def generated_inputs() -> list[tuple[list[Any], dict[str, Any]]]:
    gen = RUN.payload.get("generate")
    if not gen:
        return []
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    def build(shape: dict[str, Any]) -> Any:
        t = shape["t"]
        if t == "int":
            return st.integers(shape["min"], shape["max"])
        if t == "float":
            return st.floats(shape["min"], shape["max"], allow_nan=False, allow_infinity=False, allow_subnormal=False)
        if t == "bool":
            return st.booleans()
        if t == "none":
            return st.none()
        if t == "str":
            return st.text(alphabet=shape["alphabet"] or "ab", max_size=shape["max_size"])
        if t == "list":
            return st.lists(build(shape["item"]), max_size=shape["max_size"])
        if t == "tuple":
            return st.tuples(*[build(s) for s in shape["items"]])
        if t == "dict":
            return st.dictionaries(build(shape["key"]), build(shape["value"]), max_size=shape["max_size"])
        if t == "one_of":
            return st.one_of(*[build(s) for s in shape["options"]])
        return st.just(shape.get("value"))

    found: list[Any] = []
    kwargs = st.fixed_dictionaries({k: build(v) for k, v in gen.get("kwargs", {}).items()})

    @settings(max_examples=gen["max_examples"], derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.tuples(st.tuples(*[build(s) for s in gen["args"]]), kwargs))
    def collect(call: Any) -> None:
        found.append(call)

    collect()
    seen: set[str] = set()
    out: list[tuple[list[Any], dict[str, Any]]] = []
    for args, kw in found:
        key = repr((args, kw))
        if key not in seen:
            seen.add(key)
            out.append((list(args), kw))
    return out


def sample(shape: dict[str, Any], rnd: random.Random, depth: int = 0) -> Any:
    """A value of ``shape`` (the JSON shapes of inputs.py, plus words for text and module instances)."""
    t = shape.get("t")
    edge = rnd.random() < 0.2
    if t == "int":
        lo, hi = shape["min"], shape["max"]
        if edge:
            return rnd.choice([lo, 0, 1, hi])
        return rnd.randint(max(lo, 0), min(hi, 10)) if rnd.random() < 0.5 and lo <= 10 and hi >= 0 else rnd.randint(lo, hi)
    if t == "float":
        lo, hi = shape["min"], shape["max"]
        if edge:
            return rnd.choice([0.0, 0.5, -1.5, hi]) if rnd.random() < 0.8 else rnd.choice(VALUES.SPECIAL_FLOATS)
        return round(rnd.uniform(lo, hi), rnd.choice([0, 1, 3]))
    if t == "bool":
        return rnd.random() < 0.5
    if t == "none":
        return None
    if t == "bytes":
        return VALUES.raw(shape, rnd)
    if t == "file":
        return VALUES.stream(shape, rnd)
    if t == "str":
        if edge:
            return rnd.choice(["", " ", "\n", "a"])
        spliced = VALUES.text(shape, rnd)
        if spliced is not None:
            return spliced
        words = shape.get("words") or []
        if words and rnd.random() < 0.6:
            seps = [" ", " ", " ", "  ", "\n", "\t", ", ", ". ", "-", "\n\n"]
            n = rnd.randint(1, 14)
            return "".join(rnd.choice(words) + rnd.choice(seps) for _ in range(n)).rstrip(" ") if n else ""
        alphabet = shape.get("alphabet") or "ab"
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, shape["max_size"])))
    if depth > 3:
        return None
    if t == "list":
        item = shape["item"]
        while item.get("t") == "one_of":  # one kind of element per list, as real lists mostly are
            item = rnd.choice(item["options"])
        return [sample(item, rnd, depth + 1) for _ in range(rnd.randint(0, shape["max_size"]))]
    if t == "tuple":
        return tuple(sample(s, rnd, depth + 1) for s in shape["items"])
    if t == "dict":
        return {
            _hashable(sample(shape["key"], rnd, depth + 1)): sample(shape["value"], rnd, depth + 1)
            for _ in range(rnd.randint(0, shape["max_size"]))
        }
    if t == "one_of":
        return sample(rnd.choice(shape["options"]), rnd, depth)
    if t == "pick":
        return copy.deepcopy(rnd.choice(shape["values"]))
    if t == "new":
        return (
            _New(shape["cls"], [], {})
            if CTORS.get(shape["cls"]) is None
            else _New(shape["cls"], *draw(CTORS[shape["cls"]], rnd, depth + 1))
        )
    return shape.get("value")


def _hashable(v: Any) -> Any:
    try:
        hash(v)
        return v
    except TypeError:
        return repr(v)


CTORS: dict[str, Any] = {}


def draw(sig: dict[str, Any], rnd: random.Random, depth: int = 0) -> tuple[list[Any], dict[str, Any]]:
    """Arguments for a signature: now and then a call the module itself makes, else generated."""
    seeds = sig.get("seeds") or []
    if seeds and rnd.random() < 0.4:
        args, kwargs = copy.deepcopy(rnd.choice(seeds))
        return args, kwargs
    args = [sample(s, rnd, depth) for s in sig["args"]] + VALUES.extra_args(sig, rnd, sample, depth)
    kwargs = {k: sample(s, rnd, depth) for k, s in sig["opt"].items() if rnd.random() < 0.5}
    return args, kwargs

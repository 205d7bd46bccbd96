"""Laws of Python's data model checked on instances each version builds (part of phase 3)."""

from __future__ import annotations

import copy
import functools
import math
import random
import time
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coverage import Coverage

from .canon import CaseTimeout, timed
from .cases import install
from .generate import CTORS, draw
from .objects import _shown, real
from .runstate import RUN, emit

#: Laws of Python's data model that hold for any sensible class: (name, check(x, y)). A check
#: that raises does not apply (the class lacks the operation); one that returns False is broken.
LAWS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("x == x", lambda x, y: x == x),
    ("copy.copy(x) == x", lambda x, y: copy.copy(x) == x),
    ("copy.deepcopy(x) == x", lambda x, y: copy.deepcopy(x) == x),
    ("hash(x) == hash(copy.copy(x))", lambda x, y: hash(x) == hash(copy.copy(x))),
    ("x == y implies hash(x) == hash(y)", lambda x, y: not (x == y) or hash(x) == hash(y)),  # noqa: SIM201 (== is the law, not !=)
    ("x == int(x) implies hash(x) == hash(int(x))", lambda x, y: not (x == int(x)) or hash(x) == hash(int(x))),  # noqa: SIM201
    ("x == float(x) implies hash(x) == hash(float(x))", lambda x, y: not (x == float(x)) or hash(x) == hash(float(x))),  # noqa: SIM201
    ("(x == y) == (y == x)", lambda x, y: (x == y) == (y == x)),
    ("(x < y) == (y > x)", lambda x, y: (x < y) == (y > x)),
    ("(x <= y) == (x < y or x == y)", lambda x, y: (x <= y) == (x < y or x == y)),
    ("(x >= y) == (y <= x)", lambda x, y: (x >= y) == (y <= x)),
    ("not x < x", lambda x, y: not x < x),
    ("x + y == y + x", lambda x, y: x + y == y + x),
    ("x + y - y == x", lambda x, y: x + y - y == x),
    ("x * y == y * x", lambda x, y: x * y == y * x),
    ("x - x == 0", lambda x, y: x - x == 0),
    ("-(-x) == x", lambda x, y: -(-x) == x),  # noqa: B002 (negation twice, on purpose)
    ("+x == x", lambda x, y: +x == x),
    ("x * 1 == x", lambda x, y: x * 1 == x),
    ("x + 0 == x", lambda x, y: x + 0 == x),
    ("x / y * y == x", lambda x, y: y == 0 or x / y * y == x),
    ("(x // y) * y + x % y == x", lambda x, y: (x // y) * y + x % y == x),
    ("divmod(x, y) == (x // y, x % y)", lambda x, y: divmod(x, y) == (x // y, x % y)),
    ("abs(x) in (x, -x) and abs(x) >= 0", lambda x, y: abs(x) in (x, -x) and abs(x) >= 0),
    ("x ** 1 == x", lambda x, y: x**1 == x),
    ("x ** 2 == x * x", lambda x, y: x**2 == x * x),
    ("math.floor(x) <= x <= math.ceil(x)", lambda x, y: math.floor(x) <= x <= math.ceil(x)),
    ("math.ceil(x) - math.floor(x) in (0, 1)", lambda x, y: math.ceil(x) - math.floor(x) in (0, 1)),
    ("math.trunc(x) == int(x)", lambda x, y: math.trunc(x) == int(x)),
    ("abs(round(x) - x) <= 1/2", lambda x, y: abs(round(x) - x) <= 0.5),
    ("abs(float(x) - x) is tiny", lambda x, y: abs(float(x) - x) <= 1e-9 * max(1.0, abs(float(x)))),
    ("bool(x) == (x != 0)", lambda x, y: bool(x) == (x != 0)),
    ("type(x)(str(x)) == x", lambda x, y: type(x)(str(x)) == x),
    ("len(x) == len(list(x))", lambda x, y: len(x) == len(list(x))),
    ("all(e in x for e in x)", lambda x, y: all(e in x for e in list(x)[:50])),
]


def _holds(law: Callable[[Any, Any], Any], x: Any, y: Any) -> bool:
    return bool(law(x, y))


def check_laws(context: ModuleType, harness: dict[str, Any], ctor_inputs: tuple[list[Any], dict[str, Any]], other: Any) -> list[str]:
    """The laws broken by instances of the changed method's class, for one pair of inputs."""
    x = getattr(context, harness["owner"])(*real(ctor_inputs[0], context), **real(ctor_inputs[1], context))
    y = (
        real(other, context)
        if not isinstance(other, tuple)
        else getattr(context, harness["owner"])(*real(other[0], context), **real(other[1], context))
    )
    broken: list[str] = []
    for name, law in LAWS:
        try:
            ok = timed(functools.partial(_holds, law, x, y))
        except CaseTimeout:
            broken.append(f"{name} (hangs)")
            continue
        except BaseException:
            continue  # the class lacks an operation the law needs, or refuses these values
        if not ok:
            broken.append(name)
    return broken


def laws_phase(cov: Coverage, context: ModuleType, harness: dict[str, Any], versions: list[str], deadline: float) -> None:
    """Data-model laws over instances of the class whose method changed, on both versions."""
    sig = CTORS.get(harness["owner"])
    if sig is None:
        return
    rnd = random.Random(f"{RUN.payload.get('seed', 0)}:laws")
    for k in range(RUN.payload.get("harness_inputs", 40)):
        if time.monotonic() > deadline:
            break
        xa = draw(sig, rnd)
        other = draw(sig, rnd) if rnd.random() < 0.6 else rnd.choice([0, 1, 2, -3, 7])
        other_shown = _shown(*other) if isinstance(other, tuple) else repr(other)
        shown = f"x = {context.__name__}.{harness['owner']}({_shown(*xa)}), y = " + (
            f"{harness['owner']}({other_shown})" if isinstance(other, tuple) else other_shown
        )
        for ver in versions:
            install(context, harness, ver)
            cov.switch_context(f"{ver}:gl{k}")
            t0 = time.monotonic()
            try:
                broken = timed(functools.partial(check_laws, context, harness, xa, other))
                emit(version=ver, case=f"gl{k}", call=shown, args=shown, value="", key="", broken=broken, s=time.monotonic() - t0)
            except CaseTimeout:
                emit(version=ver, case=f"gl{k}", call=shown, args=shown, error="timeout", s=time.monotonic() - t0)
            except BaseException as exc:
                emit(version=ver, case=f"gl{k}", call=shown, args=shown, error=type(exc).__name__, s=time.monotonic() - t0)

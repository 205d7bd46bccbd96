"""What runs inside the sandbox process, one module per phase; the package imports none of it but
:func:`.canon.unnamed` (the backdoor probe reads the sandbox's outputs as the runner does).

The sandbox starts ``python -I runner/__main__.py PAYLOAD`` in a fresh folder; ``__main__``
loads this folder as a package under a private name (so that nothing on the code's own import
path can shadow it, and it shadows nothing) and calls :func:`.run.main`. Modules:
:mod:`.runstate` (the run's payload and output), :mod:`.guard` (limits, audit hook),
:mod:`.canon` (values as comparable text, the per-call alarm), :mod:`.cases` (loading the
versions, example cases: phase 1), :mod:`.generate` (generated inputs: phase 2),
:mod:`.objects`, :mod:`.drive`, :mod:`.laws`, :mod:`.record` (the module's own API: phase 3),
:mod:`.differential` (one input on both versions), :mod:`.values` (values for input shapes).
"""

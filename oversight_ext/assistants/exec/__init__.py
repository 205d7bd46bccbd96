"""The ``exec`` critic: run the code before and after a change in a sandbox and say where it
goes wrong.

Modules, one job each: :mod:`.critic` (the backend: plans a run, reads its outcome),
:mod:`.verdicts` (the verdict rules as a named table with their confidences), :mod:`.sandbox`
(the limited process), :mod:`.runner` (what runs inside it, one module per phase),
:mod:`.examples` (cases from task statements and docstrings), :mod:`.inputs` and :mod:`.usage`
(input shapes for generated inputs), :mod:`.harness` (driving a module's own API),
:mod:`.naturalness` (the language-model arbiter) and :mod:`.refactoring` (recognising
behaviour-preserving changes).
"""

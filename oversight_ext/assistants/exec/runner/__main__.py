"""Entry point of the sandboxed run: ``python -I __main__.py PAYLOAD`` (see the package doc)."""

import importlib.util
import os
import sys
import types

NAME = "_oversight_exec_runner"


def _package() -> types.ModuleType:
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(NAME, os.path.join(here, "__init__.py"), submodule_search_locations=[here])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    _package()
    importlib.import_module(f"{NAME}.run").main(sys.argv[1])

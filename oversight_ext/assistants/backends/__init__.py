"""The critic backends other than ``exec``: lint, local and remote language models, replayed
critiques, planted (deliberately wrong) critiques and the ensemble. Each module holds one
backend class; :data:`oversight_ext.assistants.BACKENDS` maps backend names to them, and they
are imported on first use (``hf`` pulls in torch)."""

"""`python -m oversight_ext.cli` runs the `oversight` command."""

import sys

from oversight_ext.cli import main

sys.exit(main())

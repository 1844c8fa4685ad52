"""``python -m govmatrix.sandbox``: the same as ``govmatrix sandbox``."""

import sys

from govmatrix.sandbox.cli import main

sys.exit(main())

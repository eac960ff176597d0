"""``python -m sklopt``: the ``sklopt`` command."""

import sys

from ._cli import main

sys.exit(main())

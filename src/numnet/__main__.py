"""``python -m numnet``: the same as the ``numnet`` command."""

import sys

from numnet.cli import main

sys.exit(main())

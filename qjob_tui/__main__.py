"""``python -m qjob_tui`` runs the ``qjob-tui`` command."""

import sys

from qjob_tui.cli.entry import main

sys.exit(main())

import sys

from rmeval.cli import main

sys.exit(main())

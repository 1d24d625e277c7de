import sys

from minerwatch.cli import main

sys.exit(main())

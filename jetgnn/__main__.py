import sys

from jetgnn.cli import main

sys.exit(main())

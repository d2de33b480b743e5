import sys

from memnet.cli import main

sys.exit(main())

import sys

from rotator.sandbox.cli import main

sys.exit(main())

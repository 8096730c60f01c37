import sys

from langsmith_sandbox.cli import main

sys.exit(main())

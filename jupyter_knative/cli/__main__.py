import sys

from jupyter_knative.cli import main

sys.exit(main())

"""``python -m tools.analysis_tools.benchmark``: the command line of :mod:`.cli`."""
from .cli import main

if __name__ == '__main__':
    main()

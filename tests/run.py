"""Run the test suite and exit with pytest's own status.

A process that used Temporal clients may abort while the interpreter finalizes
(sdk-python issue 300); `os._exit` skips finalization so the status is the tests'.
"""

import os
import sys

import pytest


def main() -> None:
    status = pytest.main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(status))


if __name__ == "__main__":
    main()

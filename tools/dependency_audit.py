"""`make lint`'s dependency audit: pip-audit over the installed packages.

Fails on a known vulnerability. When the advisory service does not answer (offline, or a
registry mirror without the vulnerability data: pip-audit then skips every package as
"not found on PyPI"), it says so in one line and does not fail the lint: nothing was
audited, which is not the same as nothing found.
"""

from __future__ import annotations

import json
import subprocess  # nosec B404  # runs pip-audit, our own argv
import sys
from pathlib import Path

PIP_AUDIT = Path(sys.executable).parent / "pip-audit"
ARGS = [
    "--skip-editable",
    "--local",
    "--timeout",
    "10",
    "--format",
    "json",
    "--progress-spinner",
    "off",
]


def main() -> int:
    result = subprocess.run(  # nosec B603  # a fixed argv, no shell
        [str(PIP_AUDIT), *ARGS], capture_output=True, text=True, timeout=600, check=False
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"pip-audit: the advisory service did not answer; not audited ({last})")
        return 0
    dependencies = report.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for dependency in vulnerable:
        ids = ", ".join(v["id"] for v in dependency["vulns"])
        print(f"pip-audit: {dependency['name']} {dependency['version']}: {ids}")
    if vulnerable:
        return 1
    if not audited:
        print(
            f"pip-audit: the advisory service did not answer for any of {len(dependencies)} "
            "packages; not audited"
        )
        return 0
    skipped = len(dependencies) - len(audited)
    print(f"pip-audit: {len(audited)} packages audited ({skipped} skipped), none vulnerable")
    return 0


if __name__ == "__main__":
    sys.exit(main())

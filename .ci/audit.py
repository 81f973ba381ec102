"""`make audit`: known vulnerabilities in the locked dependencies, with pip-audit.

Usage: python .ci/audit.py REQUIREMENTS  (the lock exported by `uv export`, hashes included)

Fails (exit 1) when a locked version has a known vulnerability, naming each one and the version
that fixes it. When the vulnerability database cannot be asked — no network, or a package index
that serves packages but not the JSON API the database lives behind — it says so plainly and
exits 0: an unreachable database is not a finding. pip-audit alone would print "No known
vulnerabilities found" in that case, having audited nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def main(requirements: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip_audit",
                "--disable-pip",
                "--require-hashes",
                "--requirement",
                requirements,
                "--vulnerability-service",
                "pypi",
                "--timeout",
                "15",
                "--progress-spinner",
                "off",
                "--format",
                "json",
                "--output",
                str(report),
            ],
            capture_output=True,
            text=True,
        )
        if not report.exists():
            return unreachable_or_error(run)
        deps = json.loads(report.read_text())["dependencies"]

    audited = [d for d in deps if "skip_reason" not in d]
    skipped = [d for d in deps if "skip_reason" in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release yet"
            print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
    if vulnerable:
        print(
            f"dependency audit FAILED: {len(vulnerable)} of {len(audited)} locked packages have "
            'known vulnerabilities. Bump them: make lock LOCK_ARGS="--upgrade-package NAME"'
        )
        return 1
    if not audited:
        reason = skipped[0]["skip_reason"] if skipped else "nothing to audit"
        print(
            f"SKIPPED dependency audit: the vulnerability database answered for none of the "
            f"{len(skipped)} locked packages (first: {reason})"
        )
        return 0
    print(
        f"dependency audit: no known vulnerabilities in {len(audited)} locked packages"
        + (
            f" ({len(skipped)} could not be looked up: {', '.join(d['name'] for d in skipped)})"
            if skipped
            else ""
        )
    )
    return 0


def unreachable_or_error(run: subprocess.CompletedProcess) -> int:
    """pip-audit wrote no report: a network failure is a skip, anything else is an error."""
    output = (run.stderr or "") + (run.stdout or "")
    network = (
        "ConnectionError",
        "ConnectTimeout",
        "ReadTimeout",
        "Max retries exceeded",
        "Name or service not known",
        "Temporary failure in name resolution",
    )
    if any(word in output for word in network):
        last = output.strip().splitlines()[-1] if output.strip() else ""
        print(f"SKIPPED dependency audit: the vulnerability database did not answer ({last[:200]})")
        return 0
    print(output, end="")
    print(f"dependency audit FAILED: pip-audit exited {run.returncode} without a report")
    return 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    sys.exit(main(sys.argv[1]))

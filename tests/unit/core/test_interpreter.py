"""Interpreters with a known request-parsing flaw are told apart from patched ones."""

import pytest

from core.interpreter import flaws_of


@pytest.mark.parametrize(
    ("version", "cves"),
    [
        ((3, 12, 1), {"CVE-2024-7592"}),  # the release .python-version named before
        ((3, 12, 5), {"CVE-2024-7592"}),
        ((3, 12, 6), set()),
        ((3, 13, 0), set()),
        ((3, 14, 0), set()),
        ((3, 11, 9), {"CVE-2024-7592"}),
        ((3, 11, 3), {"CVE-2024-7592", "CVE-2023-24329"}),
        ((3, 11, 10), set()),
        ((3, 9, 20), {"CVE-2024-7592", "CVE-2023-24329"}),  # a line no fix is listed for
    ],
)
def test_known_flaws_by_release(version, cves):
    assert {flaw.cve for flaw in flaws_of(version)} == cves

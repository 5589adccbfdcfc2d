"""System checks of the deployment that know no app: the interpreter itself.

Registered by ``accounts.apps`` (core is not an app); tagged ``deploy``, so they run in
``manage.py check --deploy``, which the deploy procedure and CI run with --fail-level WARNING.
"""

import sys

from django.core import checks

from core.interpreter import MINIMUM_RELEASES, flaws_of


@checks.register(checks.Tags.security, deploy=True)
def interpreter_parses_requests_safely(app_configs=None, version=None, **kwargs):
    version = tuple(version or sys.version_info[:3])
    return [
        checks.Error(
            f"Python {'.'.join(map(str, version))} has {flaw.cve}: {flaw.what}.",
            hint=f"Deploy on Python {MINIMUM_RELEASES} (.python-version names the release).",
            id="core.E001",
        )
        for flaw in flaws_of(version)
    ]

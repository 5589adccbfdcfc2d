"""No user-supplied value is rendered unescaped: every opt-out of escaping is declared.

The test finds every opt-out of Django's autoescaping in the product's templates, Python and
JavaScript (``TEMPLATE_PATTERNS``, ``PYTHON_PATTERNS``, ``SCRIPT_PATTERNS``: ``|safe``,
``mark_safe``, ``format_html``, ``innerHTML`` and their kin) and fails on any not in ``ALLOWED``
with the reason it is safe, so adding one means adding a line a reviewer reads. ``format_html``
passes only with a constant format string. ``|json_script``, ``|linebreaksbr``, ``|urlize`` and
``render`` are not opt-outs: they escape.
"""

from __future__ import annotations

import ast
import functools
import io
import os
import re
import tokenize
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {
    ".venv",
    "venv",
    ".git",
    "tests",
    "node_modules",
    "staticfiles",
    "build",
    "__pycache__",
    "test-artifacts",
    "test-results",
    "backups",
}

TEMPLATE_PATTERNS = {
    "|safe": re.compile(r"\|\s*safe\b(?!seq)"),
    "|safeseq": re.compile(r"\|\s*safeseq\b"),
    "{% autoescape off %}": re.compile(r"{%-?\s*autoescape\s+off\s*-?%}"),
}
PYTHON_PATTERNS = {
    "mark_safe": re.compile(r"\bmark_safe\b"),
    "SafeString": re.compile(r"\bSafe(?:String|Text|Data)\b"),
    "format_html": re.compile(r"\bformat_html(?:_join)?\b"),
    "__html__": re.compile(r"\b__html__\b"),
    "html_safe": re.compile(r"\bhtml_safe\b"),
    "template from a string": re.compile(r"(?<![\w.])Template\s*\(|\.from_string\s*\("),
    "autoescape=False": re.compile(r"\bautoescape\s*=\s*False\b"),
}
SCRIPT_PATTERNS = {
    "innerHTML": re.compile(r"\.(?:inner|outer)HTML\b"),
    "insertAdjacentHTML": re.compile(r"\binsertAdjacentHTML\b"),
    "document.write": re.compile(r"\bdocument\.write(?:ln)?\b"),
    "eval": re.compile(r"(?<![\w.])eval\s*\(|\bnew\s+Function\s*\("),
}

# (file, what) -> (how many, why it is safe). Every occurrence found must be listed with the
# exact count; a listed one that has gone must be removed (test_every_allowance_is_still_used).
ALLOWED: dict[tuple[str, str], tuple[int, str]] = {
    ("templates/referrals/email/followup_reminder.txt", "{% autoescape off %}"): (
        1,
        "The VIII.J reminder email's body, sent as text/plain (EmailMessage, never an HTML "
        "alternative): HTML escaping would only garble it (&amp;). It holds the staff member's "
        "first name, two counts, a date and the worklist's URL, and no client data.",
    ),
    ("templates/referrals/email/followup_reminder_subject.txt", "{% autoescape off %}"): (
        1,
        "The same email's subject line: a mail header, plain text, counts only.",
    ),
    ("directory/filters.py", "format_html"): (
        2,
        "The directory search's filter menus' options (a hundred languages, areas, needs) "
        "written in one pass (format_html_join, imported and called once): a constant format, "
        "and every option value and label goes through its escaping; "
        "tests/unit/directory/test_filters.py checks a label with markup comes out escaped.",
    ),
    ("core/widgets.py", "format_html"): (
        10,
        "The long-list <select> (every listing of the directory) written in Python rather "
        "than a template per option: constant formats only, and every value (the field's "
        "name, attributes, option values and labels, group labels) goes through format_html's "
        "escaping, exactly as Django's select templates escape it; "
        "tests/unit/core/test_widgets.py checks the markup equals Django's for any text.",
    ),
}


@functools.cache
def _all_product_files() -> tuple[Path, ...]:
    """Every file of the product, the skipped folders pruned (never walked into)."""
    found = []
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        found += [Path(folder, name) for name in names]
    return tuple(sorted(found))


def product_files(suffixes: tuple[str, ...], *, under: str = "") -> list[Path]:
    base = ROOT / under if under else ROOT
    return [p for p in _all_product_files() if p.suffix in suffixes and p.is_relative_to(base)]


def template_files() -> list[Path]:
    """Every template: the project's ``templates/`` and any app's ``<app>/templates/``."""
    return [
        p
        for p in product_files((".html", ".txt", ".xml", ".svg", ".js", ".json", ".csv"))
        if "templates" in p.relative_to(ROOT).parts
    ]


def python_files() -> list[Path]:
    return product_files((".py",))


def script_files() -> list[Path]:
    return [
        p
        for p in product_files((".js", ".mjs"), under="static")
        if "vendor" not in p.relative_to(ROOT).parts
    ]


def scan_text(text: str, patterns: dict[str, re.Pattern]) -> Counter:
    found = Counter()
    for what, pattern in patterns.items():
        found[what] += len(pattern.findall(text))
    return +found


def occurrences() -> dict[tuple[str, str], int]:
    """(file, what) -> count, over every template, Python and script file of the product."""
    found: dict[tuple[str, str], int] = {}
    for files, patterns in (
        (template_files(), TEMPLATE_PATTERNS),
        (python_files(), PYTHON_PATTERNS),
        (script_files(), SCRIPT_PATTERNS),
    ):
        for path in files:
            text = path.read_text(encoding="utf-8", errors="replace")
            if path.suffix == ".py":
                text = _code_only(text)
            for what, count in scan_text(text, patterns).items():
                found[(str(path.relative_to(ROOT)), what)] = count
    return found


def _code_only(source: str) -> str:
    """Python source with its comments and docstrings blanked (they may *mention* mark_safe);
    string literals in code stay (a string can be passed to a template)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    blank: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                blank.update(range(first.lineno, first.end_lineno + 1))
    comments = {
        token.start[0]: token.start[1]
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    lines = []
    for number, line in enumerate(source.splitlines(), start=1):
        if number in blank:
            lines.append("")
        else:
            lines.append(line[: comments[number]] if number in comments else line)
    return "\n".join(lines)


# --- the checks ------------------------------------------------------------------------------


def test_the_scan_covers_the_product():
    """The walk finds the files it is meant to (a wrong root would find nothing and pass)."""
    templates = {str(p.relative_to(ROOT)) for p in template_files()}
    assert "templates/base.html" in templates and len(templates) > 40
    assert "templates/referrals/email/followup_reminder.txt" in templates
    pythons = {str(p.relative_to(ROOT)) for p in python_files()}
    assert "accounts/views/two_factor.py" in pythons and "config/settings.py" in pythons
    assert not any(p.startswith(("tests/", ".venv/")) for p in pythons)
    assert "static/js/review-charts.js" in {str(p.relative_to(ROOT)) for p in script_files()}


@pytest.mark.parametrize(
    ("text", "patterns", "what"),
    [
        ("<p>{{ client.first_name|safe }}</p>", TEMPLATE_PATTERNS, "|safe"),
        ("<p>{{ note | safe }}</p>", TEMPLATE_PATTERNS, "|safe"),
        ("{{ rows|safeseq|join:', ' }}", TEMPLATE_PATTERNS, "|safeseq"),
        (
            "{% autoescape off %}{{ x }}{% endautoescape %}",
            TEMPLATE_PATTERNS,
            "{% autoescape off %}",
        ),
        ("{%- autoescape  off -%}", TEMPLATE_PATTERNS, "{% autoescape off %}"),
        ("return mark_safe(f'<b>{name}</b>')", PYTHON_PATTERNS, "mark_safe"),
        ("from django.utils.safestring import SafeString", PYTHON_PATTERNS, "SafeString"),
        ("format_html('<b>{}</b>', name)", PYTHON_PATTERNS, "format_html"),
        ("def __html__(self): return self.text", PYTHON_PATTERNS, "__html__"),
        ("Template(request.GET['t']).render(ctx)", PYTHON_PATTERNS, "template from a string"),
        ("engines['django'].from_string(text)", PYTHON_PATTERNS, "template from a string"),
        ("Engine(autoescape=False)", PYTHON_PATTERNS, "autoescape=False"),
        ("cell.innerHTML = row.name;", SCRIPT_PATTERNS, "innerHTML"),
        ("el.insertAdjacentHTML('beforeend', html)", SCRIPT_PATTERNS, "insertAdjacentHTML"),
        ("document.write(x)", SCRIPT_PATTERNS, "document.write"),
        ("eval(data)", SCRIPT_PATTERNS, "eval"),
    ],
)
def test_the_scanner_sees_an_opt_out(text, patterns, what):
    """The scanner can fail: each kind of opt-out, written as a careless change would be."""
    assert scan_text(text, patterns)[what] == 1


def test_comments_and_docstrings_are_not_code():
    source = (
        '"""Never use mark_safe here."""\nx = 1  # nor |safe, nor mark_safe\ny = mark_safe(x)\n'
    )
    assert scan_text(_code_only(source), PYTHON_PATTERNS) == Counter({"mark_safe": 1})


@pytest.mark.parametrize(
    ("text", "patterns"),
    [
        ("{{ chart|json_script:'data' }}", TEMPLATE_PATTERNS),
        ("{{ note|linebreaksbr }} {{ safety_plan }} {{ x|safe_label }}", TEMPLATE_PATTERNS),
        ("{% autoescape on %}{{ x }}{% endautoescape %}", TEMPLATE_PATTERNS),
        ("render_to_string('a.html', ctx); TemplateResponse(request, 'a.html')", PYTHON_PATTERNS),
        ("element.textContent = name; JSON.parse(element.textContent)", SCRIPT_PATTERNS),
    ],
)
def test_the_scanner_leaves_safe_code_alone(text, patterns):
    assert scan_text(text, patterns) == Counter()


def test_no_unescaped_output_outside_the_allow_list():
    found = occurrences()
    unlisted = {
        key: count for key, count in found.items() if key not in ALLOWED or ALLOWED[key][0] != count
    }
    assert unlisted == {}, (
        "Unescaped output found: escape the value, or, if it cannot carry user data, add it "
        "to ALLOWED with the count and the reason it is safe: "
        + "; ".join(f"{f}: {w} ×{c}" for (f, w), c in sorted(unlisted.items()))
    )


def test_every_allowance_is_still_used():
    """A listed occurrence that has gone is removed from the list (it stays honest)."""
    found = occurrences()
    stale = [key for key in ALLOWED if key not in found]
    assert stale == []


def test_every_allowance_says_why():
    for (path, what), (count, reason) in ALLOWED.items():
        assert count >= 1 and len(reason) > 40, (path, what)


def test_the_emails_rendered_without_escaping_are_plain_text():
    """The two allowances rest on this: the reminder is sent as text/plain, with no HTML."""
    from referrals.management.commands import send_followup_reminders

    source = Path(send_followup_reminders.__file__).read_text()
    assert "EmailMessage(" in source
    assert "html_message" not in source and "attach_alternative" not in source
    assert "content_subtype" not in source  # EmailMessage's default: "plain"


def test_format_html_is_never_misused():
    """``format_html`` escapes its arguments, not its format: the format must be a constant."""
    misuse = []
    for path in python_files():
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in ("format_html", "mark_safe") or not node.args:
                continue
            first = node.args[0]
            built = isinstance(first, ast.JoinedStr | ast.BinOp) or (
                isinstance(first, ast.Call) and getattr(first.func, "attr", "") == "format"
            )
            if built or (name == "format_html" and len(node.args) == 1 and not node.keywords):
                misuse.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert misuse == []


def test_the_figures():
    found = occurrences()
    json_scripts = sum(
        len(re.findall(r"\|\s*json_script\b", p.read_text(encoding="utf-8")))
        for p in template_files()
    )
    print(
        f"unsafe-output scan: {len(template_files())} templates, {len(python_files())} Python "
        f"files, {len(script_files())} scripts; {sum(found.values())} opt-outs of escaping, "
        f"all allow-listed ({len(ALLOWED)} entries); {json_scripts} |json_script (safe)"
    )
    for (path, what), count in sorted(found.items()):
        print(f"  {path}: {what} ×{count}: {ALLOWED.get((path, what), (0, 'NOT LISTED'))[1]}")

"""Run part of exchangelib's OWN test suite against the loopback EWS server and print its counts.

exchangelib's tests are written against a real Exchange server: where they fail against the loopback
server, the loopback server answers differently from Exchange (or models a feature we do not use).

    .venv/bin/python tools/exchangelib_suite.py [FILE ...] [--git-dir DIR | --tests-dir DIR] [-k EXPR]
                                                [--show-errors] [-v] [--keep DIR]

Exit status: 0 when every failure is a feature listed in NOT_MODELLED, 1 otherwise, 3 without the tests.

The tests come from the exchangelib release installed here (its git tag, e.g. ``v5.6.0``): either a
checkout of exchangelib's repository (``--git-dir``, a bare git directory; ``git archive <tag> tests`` is
unpacked into a temporary directory) or an already unpacked ``tests/`` tree (``--tests-dir``). PyPI's
sdist carries no tests. Needs pyyaml, requests-mock and python-dateutil (the ``exchangelib-suite`` extra).

What is adapted, and why (nothing in exchangelib itself is touched):

* ``settings.yml`` names the loopback server's user; ``tests/common.py`` builds its Configuration from
  ``server=`` (always https); the copy used here passes ``service_endpoint=`` (the loopback http URL) instead.
* its FaultTolerance(max_wait=600) becomes max_wait=10, so a server error fails a test instead of
  retrying for ten minutes.

No network: the server binds 127.0.0.1 and the tests that mock HTTP use requests-mock.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bcsync_tui.ewsserver import LoopbackExchange  # noqa: E402

DEFAULT_GIT_DIRS = (os.environ.get("EXCHANGELIB_GIT_DIR", ""), "/work/.mirror/ecederstrand+exchangelib/repo")
TEST_FILES = ("tests/test_items/test_contacts.py", "tests/test_folder.py")
USER, PASSWORD = "exchangelib.test@example.com", "Suite-pass1"
#: Failures that are features the loopback server does not model (nothing bcsync touches); any other
#: failure is a difference from Exchange to look at.
NOT_MODELLED = {
    "test_folder.FolderTest::test_extended_properties": "extended properties on folders (PR_MESSAGE_SIZE)",
    "test_folder.FolderTest::test_find_folders": "the ~40 hidden system folders of a real mailbox",
    "test_folder.FolderTest::test_walk": "hidden system folders (root has 20+, Contacts has GAL Contacts, ...)",
    "test_folder.FolderTest::test_glob": "hidden system folders (GAL Contacts under Contacts)",
    "test_folder.FolderTest::test_folder_type_guessing": "the non-IPM subtree (Common Views)",
    "test_folder.FolderTest::test_public_folders_root": "public folders",
    "test_folder.FolderTest::test_user_configuration": "user configuration objects (GetUserConfiguration)",
    "test_items.test_contacts.ContactsTest::test_fetch_personas": "personas (FindPeople)",
    "test_items.test_contacts.ContactsTest::test_find_people": "personas (FindPeople)",
    "test_items.test_contacts.ContactsTest::test_get_persona_failure": "personas (GetPersona)",
}
RETRY_LINE = "cls.retry_policy = FaultTolerance(max_wait=600)"
CONFIG_LINE = 'server=cls.settings["server"],'


@dataclass
class Counts:
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> how many
    messages: dict[str, str] = field(default_factory=dict)


def unpack_tests(git_dir: Path, tag: str, into: Path) -> None:
    archive = subprocess.run(["git", "--git-dir", str(git_dir), "archive", tag, "tests"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)


def point_at(tests_root: Path, url: str) -> None:
    """Write settings.yml and make the copied tests/common.py use the loopback endpoint."""
    (tests_root / "settings.yml").write_text(
        f"service_endpoint: {url}\nusername: {USER}\npassword: {PASSWORD}\naccount: {USER}\nverify_ssl: true\n")
    common = tests_root / "tests" / "common.py"
    text = common.read_text()
    if CONFIG_LINE not in text or RETRY_LINE not in text:
        raise SystemExit(f"{common}: its Configuration lines changed; adapt tools/exchangelib_suite.py")
    text = text.replace(CONFIG_LINE, 'service_endpoint=cls.settings["service_endpoint"],')
    text = text.replace(RETRY_LINE, "cls.retry_policy = FaultTolerance(max_wait=10)")
    common.write_text(text)


def read_junit(path: Path) -> Counts:
    counts = Counts()
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname', '').removeprefix('tests.')}::{case.get('name')}"
        outcome = next((c for c in case if c.tag in ("failure", "error", "skipped")), None)
        if outcome is None:
            counts.passed += 1
        elif outcome.tag == "skipped":
            counts.skipped[(outcome.get("message") or "").splitlines()[0][:120] if outcome.get("message") else ""] += 1
        else:
            (counts.failed if outcome.tag == "failure" else counts.errors).append(name)
            counts.messages[name] = (outcome.get("message") or "").splitlines()[0][:200] if outcome.get(
                "message") else ""
    return counts


def run(tests_root: Path, files: list[str], keyword: str | None, verbose: bool) -> Counts:
    junit = tests_root / "junit.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
           f"--junitxml={junit}", "--rootdir", str(tests_root), "-o", "addopts=", *files]
    if keyword:
        cmd += ["-k", keyword]
    out = None if verbose else subprocess.DEVNULL
    subprocess.run(cmd, cwd=tests_root, stdout=out, stderr=out, env={**os.environ, "PYTHONPATH": str(tests_root)})
    return read_junit(junit)


_UNSUPPORTED = re.compile(r"The operation (\w+) is not supported by this server")


def not_modelled(counts: Counts, name: str) -> str | None:
    """Why a failure is a feature the server does not model, or None: a difference to look at."""
    hit = _UNSUPPORTED.search(counts.messages.get(name, ""))
    return NOT_MODELLED.get(name) or (f"the {hit.group(1)} operation" if hit else None)


def report(counts: Counts, files: list[str], show_errors: bool) -> None:
    print(f"exchangelib {importlib.metadata.version('exchangelib')} suite ({', '.join(files)}) "
          f"against the loopback server:")
    print(f"  passed {counts.passed}  failed {len(counts.failed)}  errors {len(counts.errors)}  "
          f"skipped {sum(counts.skipped.values())}")
    for reason, n in counts.skipped.most_common():
        print(f"  skipped {n}: {reason}")
    for title, names in (("failed", counts.failed), ("errors", counts.errors)):
        for name in sorted(names):
            gap = not_modelled(counts, name)
            why = f"  (not modelled: {gap})" if gap else "  (a difference to look at)"
            print(f"  {title}: {name}{why}" + (f"  -- {counts.messages[name]}" if show_errors and counts.messages[name]
                                                else ""))
    other = [n for n in counts.failed + counts.errors if not not_modelled(counts, n)]
    print(f"  failures not explained by unmodelled features: {len(other)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--git-dir", type=Path, help="exchangelib's git directory (bare)")
    parser.add_argument("--tests-dir", type=Path, help="an unpacked exchangelib tests/ tree of the same release")
    parser.add_argument("files", nargs="*", default=list(TEST_FILES),
                        help=f"test files of exchangelib's tests/ tree (default: {' '.join(TEST_FILES)})")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression to run a subset")
    parser.add_argument("--show-errors", action="store_true", help="print each failure's message")
    parser.add_argument("-v", "--verbose", action="store_true", help="show pytest's own output (tracebacks)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="unpack into DIR (kept) instead of a temp dir")
    args = parser.parse_args(argv)
    missing = [m for m in ("yaml", "requests_mock", "dateutil") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"exchangelib's tests need {', '.join(missing)}: pip install -e '.[exchangelib-suite]'",
              file=sys.stderr)
        return 3
    tag = "v" + importlib.metadata.version("exchangelib")
    with tempfile.TemporaryDirectory(prefix="exchangelib-suite-") as tmp:
        root = Path(tmp) if args.keep is None else args.keep
        root.mkdir(parents=True, exist_ok=True)
        if args.tests_dir is not None:
            subprocess.run(["cp", "-r", str(args.tests_dir), str(root / "tests")], check=True)
        else:
            git_dir = args.git_dir or next((Path(d) for d in DEFAULT_GIT_DIRS if d and Path(d).is_dir()), None)
            if git_dir is None:
                print("exchangelib's tests are needed: pass --git-dir (a clone of ecederstrand/exchangelib) "
                      "or --tests-dir", file=sys.stderr)
                return 3
            unpack_tests(git_dir, tag, root)
        with LoopbackExchange(users={USER: PASSWORD}) as server:
            point_at(root, server.url)
            counts = run(root, args.files, args.keyword, args.verbose)
    report(counts, args.files, args.show_errors)
    return 1 if any(not not_modelled(counts, n) for n in counts.failed + counts.errors) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Each command builds only its own module's parsers (so `bcsync status` starts fast), and the
parsers it builds are the same ones `bcsync --help` lists."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from bcsync_tui.cli.main import COMMAND_MODULES, SERVER_COMMANDS, build_parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_the_table_names_every_command_in_help_order():
    assert list(_subparsers(build_parser())) == [*COMMAND_MODULES, *SERVER_COMMANDS]


@pytest.mark.parametrize("command", list(COMMAND_MODULES))
def test_a_command_alone_gets_the_same_parser_as_in_the_full_build(command):
    alone = _subparsers(build_parser(command))
    assert command in alone
    assert set(alone) < set(_subparsers(build_parser()))
    assert alone[command].format_help() == _subparsers(build_parser())[command].format_help()


def test_an_unknown_command_still_gets_the_full_list_in_its_error(capsys):
    from bcsync_tui.cli.main import main

    assert main(["no-such-command"]) == 3
    assert "status" in capsys.readouterr().err


def _modules_loaded_by_status(home) -> set[str]:
    code = ("import json, sys\nfrom bcsync_tui.cli.main import main\n"
            f"code = main(['--home', {str(home)!r}, '--profile', 'p', 'status', '--json'])\n"
            "print(json.dumps([code, sorted(m for m in sys.modules if m.startswith('bcsync_tui.'))]), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    code, loaded = json.loads(out.stderr.strip().splitlines()[-1])
    assert code in (0, 1), out.stderr
    return set(loaded)


def test_status_imports_no_other_command_module_and_no_store_when_status_json_is_current(tmp_path):
    from bcsync_tui.core.profiles import Profile, save_profile
    from bcsync_tui.core.store import Store

    store = Store(tmp_path / "store.json")
    store.add_contact({"first_name": "Ann", "surname": "Lee", "email": "ann@example.com"})
    save_profile(store, Profile(name="p", email="p@example.com", server_url="https://ex.example/EWS"))
    store.close()
    first = _modules_loaded_by_status(tmp_path)  # counts from the store, writes status.json
    assert "bcsync_tui.core.store" in first
    loaded = _modules_loaded_by_status(tmp_path)
    assert "bcsync_tui.cli.sync_cmds" in loaded
    assert not loaded & {"bcsync_tui.cli.contacts", "bcsync_tui.cli.schedule", "bcsync_tui.cli.setup_cmds",
                         "bcsync_tui.cli.backups", "bcsync_tui.cli.profiles_cmd", "bcsync_tui.core.store"}

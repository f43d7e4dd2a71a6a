"""CLI tables line up in terminal cells: a Chinese or Japanese name takes two cells a character."""

from __future__ import annotations

import io

from bcsync_tui.cli.output import cells_width, table


def test_wide_characters_take_two_cells_and_combining_marks_none():
    assert cells_width("Ann Lee") == 7
    assert cells_width("张伟") == 4 and cells_width("山田太郎") == 8 and cells_width("강유미") == 6
    assert cells_width("Zoe\u0308") == 3  # e + combining diaeresis


def test_columns_after_a_wide_name_line_up():
    out = io.StringIO()
    table(["No.", "Name", "E-Mail"], [["CT000001", "张伟", "zw@example.com"], ["CT000002", "Ann Lee", "ann@x.example"]],
          out)
    lines = out.getvalue().splitlines()
    column = [cells_width(line[:line.index(line.split()[-1])]) for line in lines[2:]]
    assert len(set(column)) == 1, lines  # the e-mail column starts at the same cell on every row
    assert cells_width(lines[0][:lines[0].index("E-Mail")]) == column[0]

import pytest

from services.codereview.diff import added_lines, parse_hunks, removed_lines

pytestmark = pytest.mark.unit

PATCH = "\n".join(
    [
        "@@ -1,4 +1,5 @@",
        " import os",
        "-import sys",
        "+import subprocess",
        "+import shlex",
        " ",  # a blank context line
        " def main():",
        "@@ -20,3 +21,4 @@ def helper():",
        "     x = 1",
        "+    y = 2",
        "     return x",
        "\\ No newline at end of file",
    ]
)


def test_added_lines_are_numbered_in_the_new_file() -> None:
    assert added_lines(PATCH) == {2, 3, 22}


def test_hunks_know_their_new_file_range() -> None:
    first, second = parse_hunks(PATCH)
    assert (first.new_start, first.new_length, first.added) == (1, 5, [2, 3])
    assert (second.new_start, second.new_length, second.added) == (21, 4, [22])


def test_a_new_file_is_all_added_lines_and_a_deletion_has_none() -> None:
    assert added_lines("@@ -0,0 +1,3 @@\n+a\n+b\n+c") == {1, 2, 3}
    assert added_lines("@@ -1,2 +0,0 @@\n-a\n-b") == set()
    assert added_lines("@@ -3 +3 @@\n-old\n+new") == {3}  # lengths default to 1


def test_lines_outside_a_hunk_are_an_error() -> None:
    with pytest.raises(ValueError, match="outside a hunk"):
        added_lines("+stray")


def test_removed_lines_are_numbered_in_the_old_file() -> None:
    assert removed_lines(PATCH) == {2}
    assert removed_lines("@@ -5,3 +5,2 @@\n a\n-b\n-c\n") == {6, 7}

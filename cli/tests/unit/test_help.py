import re

import pytest
from typer.testing import CliRunner

from souk.main import app

pytestmark = pytest.mark.unit

runner = CliRunner()


def help_of(*command: str, flat: bool = True) -> str:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return re.sub(r"\s+", " ", result.output.replace("│", " ")) if flat else result.output


def test_a_commands_summary_is_not_broken_where_its_docstring_wraps() -> None:
    [down] = [line for line in help_of(flat=False).splitlines() if "│ down " in line]
    assert down.rstrip(" │").endswith("the data stays (in the home, and on PostgreSQL unless "
                                       "--purge).")


@pytest.mark.parametrize(("command", "shown"), [
    (("status",), "data, logs and state folder [default: ./var]"),
    (("up",), "topology file [default: souk.toml here or in a parent folder]"),
    (("config", "set"), "who makes the change, for the audit [default: user@host]"),
    (("config", "rollback"), "restore this revision's value [default: the one before the latest]"),
])
def test_a_default_written_in_an_options_help_is_shown_not_taken_for_markup(
        command: tuple[str, ...], shown: str) -> None:
    assert shown in help_of(*command)


@pytest.mark.parametrize("command", [["up"], ["down"], ["status"], ["down", "--purge"]])
def test_a_home_that_cannot_be_a_folder_is_a_refused_argument(
        tmp_path: pytest.TempPathFactory, command: list[str]) -> None:
    """It was a traceback (FileExistsError, NotADirectoryError) from deep in the start."""
    from pathlib import Path

    afile = Path(str(tmp_path)) / "afile"
    afile.write_text("x")
    for home in (afile, afile / "sub"):
        result = runner.invoke(app, [*command, "--home", str(home)], env={"COLUMNS": "500"})
        assert result.exit_code == 2, result.output
        assert "cannot be a home folder" in result.output and f"{afile} is a file" in result.output
        assert "Traceback" not in result.output


def test_a_home_folder_that_cannot_be_made_is_said_so() -> None:
    from pathlib import Path

    from souk.home import Home, HomeError

    # /proc takes no new folders, whoever asks (root too)
    with pytest.raises(HomeError, match="cannot make the home folder /proc/souk-no-home"):
        Home(Path("/proc/souk-no-home")).create()

"""`tandem --version` prints the installed distribution's version and exits 0."""

from importlib.metadata import version

from typer.testing import CliRunner

from entrypoints.cli import app


def test_version_is_the_installed_one() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"tandem {version('tandem-sync')}"

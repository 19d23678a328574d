"""`python -m {{ cookiecutter.package_name }} COMMAND`: the dl-portfolio library's commands (train, report, export, ...)
run on this project's data (data.py, sources.py), text preparation (text.py) and model (models.py, encoders.py)."""

from dl_portfolio.cli import main


def run() -> None:
    """The `{{ cookiecutter.package_name }}` console script."""
    main(package="{{ cookiecutter.package_name }}")


if __name__ == "__main__":
    run()

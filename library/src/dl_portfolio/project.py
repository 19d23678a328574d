"""What the library needs from a project: the one written interface between the two.

A project is a Python package that the library imports by name (`use("my_package")`, which `python -m my_package`
does; otherwise `[tool.dl-portfolio] package` in ./pyproject.toml names it). An applicant who changes the network
or the data keeps these names and signatures, and nothing else:

`<package>.models.TextClassifier`, a LightningModule
    built as `TextClassifier(**hyperparameters, encoder_files=None)`; `hparams` holds `labels` (class names, in
    output order), `encoder` ("transformer" or "bow"), `normalize` and, for a transformer, `backbone` and
    `max_length`; `.featurizer(texts) -> dict of tensors` and `forward(batch) -> logits` (batch, classes); logs
    `val/f1_macro` each validation epoch (the checkpoint that is kept) and `test/*` on the test split.
`<package>.data.TextDataModule`, a LightningDataModule
    built from the run config's `data` block; `.featurizer` is set before `.setup()`; after it, `.labels`,
    `.splits` (`{"train" | "validation" | "test": [(prepared text, label index), ...]}`) and `.warnings`.

How a text is prepared is not the project's code but its data preset's choice (`normalize` in configs/data/*.yaml,
one of the schemes of `dl_portfolio.textprep`), so that the export, the API and the Try it page can repeat it.
"""

import os
from dataclasses import dataclass
from importlib import import_module

from .errors import UserError
from .layout import Layout

ENV = "DL_PORTFOLIO_PROJECT"  # child processes (DDP ranks, sweep workers) inherit the project's package name


@dataclass(frozen=True)
class Project:
    """A project's package, whose modules are imported only when first used (`--help` stays instant)."""

    package: str

    def module(self, name: str):
        """`<package>.<name>`, imported."""
        return import_module(f"{self.package}.{name}")

    @property
    def model_class(self):
        """The project's LightningModule (`models.TextClassifier`)."""
        return self.module("models").TextClassifier

    @property
    def data_class(self):
        """The project's LightningDataModule (`data.TextDataModule`)."""
        return self.module("data").TextDataModule


def use(package: str) -> Project:
    """Make `package` the project the library works on (for this process and the ones it starts)."""
    os.environ[ENV] = package
    return Project(package)


def current() -> Project:
    """The project set by `use`, or named by `[tool.dl-portfolio] package` in ./pyproject.toml."""
    package = os.environ.get(ENV) or Layout().settings().package
    if not package:
        raise UserError(
            "no dl-portfolio project here: run the command in a project folder (its pyproject.toml names the "
            "package under [tool.dl-portfolio]), or as `python -m <package> ...`."
        )
    return Project(package)


def prog(command: str) -> str:
    """How a user types `command` (`my_package report`), for usage and error lines."""
    package = os.environ.get(ENV)
    if not package:
        try:
            package = current().package
        except UserError:
            package = "dl-portfolio"
    return f"{package} {command}"

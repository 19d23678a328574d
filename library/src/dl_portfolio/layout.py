"""One home for the project's folders and settings: every path under runs/, reports/, exports/ and docs/, and the
names the project publishes under (from `[tool.dl-portfolio]` in its pyproject.toml). No other module builds a
project path by hand.

runs/<run>/            what `train` writes (config, manifest, checkpoints, logs, test metrics); runs/latest
reports/<run>/         what `report` writes (metrics.json, figures, predictions) and `push-model`'s hub.json;
                       reports/latest
exports/<run>/         what `export` writes (ONNX fp32 + int8, tokenizer, config.json, model card, export.json)
docs/                  the write-up; docs/assets/ holds what the pages show
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path

# The record of where a run's model was pushed: written by push-model, kept when `report` rewrites the folder.
HUB_RECORD = "hub.json"


@dataclass(frozen=True)
class Settings:
    """The names a project publishes under, from `[tool.dl-portfolio]` in its pyproject.toml."""

    package: str = ""
    name: str = ""
    license: str = "none"
    hub_repo: str = ""


@dataclass(frozen=True)
class Layout:
    """The folders of the project at `root`; `runs` may live elsewhere (`--runs_dir`)."""

    root: Path = Path(".")
    runs_dir: Path | None = None

    @property
    def runs(self) -> Path:
        """Where run folders go (default ROOT/runs)."""
        return Path(self.runs_dir) if self.runs_dir is not None else Path(self.root) / "runs"

    @property
    def latest_run(self) -> Path:
        """The `latest` link among the runs."""
        return self.runs / "latest"

    @property
    def reports(self) -> Path:
        """ROOT/reports."""
        return Path(self.root) / "reports"

    def report(self, run: str) -> Path:
        """reports/<run>/."""
        return self.reports / run

    @property
    def latest_report(self) -> Path:
        """reports/latest."""
        return self.reports / "latest"

    def hub_record(self, run: str) -> Path:
        """reports/<run>/hub.json: which Hub repo the run's export went to."""
        return self.report(run) / HUB_RECORD

    @property
    def exports(self) -> Path:
        """ROOT/exports."""
        return Path(self.root) / "exports"

    def export(self, run: str) -> Path:
        """exports/<run>/."""
        return self.exports / run

    @property
    def docs(self) -> Path:
        """ROOT/docs, the write-up."""
        return Path(self.root) / "docs"

    @property
    def published_metrics(self) -> Path:
        """docs/assets/metrics.json: the metrics the site shows."""
        return self.docs / "assets" / "metrics.json"

    def settings(self) -> Settings:
        """`[tool.dl-portfolio]` of ROOT/pyproject.toml (defaults where there is none)."""
        path = Path(self.root) / "pyproject.toml"
        table = {}
        if path.is_file():
            with path.open("rb") as f:
                table = tomllib.load(f).get("tool", {}).get("dl-portfolio", {})
        known = Settings.__dataclass_fields__
        return Settings(**{k: str(v) for k, v in table.items() if k in known})

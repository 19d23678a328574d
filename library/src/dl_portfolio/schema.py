"""metrics.json, the contract between `report` (its one writer) and its readers: the pages, verify, both model
cards and the kit's showcase. Each key a reader relies on is listed here once, with its type; `check` names the
first one a file lacks."""

from .errors import UserError

NUMBER = (int, float)
# Dotted key paths and the types their values have (None allowed where a run may lack the part).
REQUIRED: dict[str, type | tuple] = {
    "project": str,
    "run": str,
    "task": str,
    "dataset": dict,
    "dataset.name": str,
    "dataset.source": str,
    "dataset.is_sample": bool,
    "dataset.splits": dict,
    "dataset.splits.test": int,
    "split": str,
    "model": dict,
    "model.encoder": str,
    "metrics": dict,
    "metrics.accuracy": NUMBER,
    "metrics.macro_f1": NUMBER,
    "metrics.weighted_f1": NUMBER,
    "per_class": (dict, list),
    "confusion_matrix": dict,
    "confusion_matrix.labels": list,
    "confusion_matrix.matrix": list,
    "baselines": dict,
    "baselines.majority": dict,
    "intervals": dict,
    "config": dict,
    "figures": dict,
    "links": dict,
    "display": dict,
}


def _get(m, path: str):
    for part in path.split("."):
        if not isinstance(m, dict) or part not in m:
            raise KeyError(path)
        m = m[part]
    return m


def check(m: dict, where: str = "metrics.json") -> dict:
    """`m` itself when it has every required key with its type; else a UserError naming the first key wrong."""
    for path, kind in REQUIRED.items():
        try:
            value = _get(m, path)
        except KeyError:
            raise UserError(f"{where} has no key '{path}': run `make report` again to rewrite it") from None
        if not isinstance(value, kind) or (kind is NUMBER and isinstance(value, bool)):
            raise UserError(
                f"{where}: '{path}' is {value!r}, not the {_name(kind)} it must be: run `make report` again"
            )
    return m


def _name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({"int": "number", "float": "number"}.get(k.__name__, k.__name__) for k in kinds)

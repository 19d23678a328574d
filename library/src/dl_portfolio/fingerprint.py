"""Which data a run saw: a hash of each split's examples, recorded at training and checked before scoring.

The hash covers the examples as the model saw them (after reading, normalising and checking), so it changes when a
file is edited, re-exported with other rows, or a hub data set moves to another revision, and not when a file is only
touched. `report` refuses to score a run on data that differs from what it trained on.
"""

import hashlib
import json
from pathlib import Path

from .errors import UserError
from .tables import FORMATS


def split_source(hp, split: str) -> str:
    """Where one split of a data config comes from, in words a user recognises: a file, a hub id or a folder."""
    if hp.source == "sample":
        return f"the bundled sample data (sample_data/{split}.csv)"
    if hp.source == "hub":
        return f"{hp.hub_id}[{(hp.splits or {}).get(split, split)}]"
    root = Path(hp.path or "data/collected")
    if hp.source == "local" and root.is_dir():
        found = [root / f"{split}{ext}" for ext in FORMATS if (root / f"{split}{ext}").is_file()]
        return str(found[0] if found else root / f"{split}.csv")
    return str(root)


def of_datamodule(dm) -> dict[str, dict]:
    """`{split: {"source", "examples", "sha256"}}` of a set-up TextDataModule."""
    out = {}
    for split, examples in dm.splits.items():
        digest = hashlib.sha256()
        for text, label in examples:
            digest.update(json.dumps([text, dm.labels[label]], ensure_ascii=False).encode() + b"\n")
        source = split_source(dm.hparams, split)
        out[split] = {"source": source, "examples": len(examples), "sha256": digest.hexdigest()}
    return out


def check(recorded: dict | None, current: dict[str, dict], run: str) -> None:
    """A UserError naming the first split whose data differs from what run `run` trained on; runs from before
    fingerprints were recorded pass."""
    for split, then in (recorded or {}).items():
        now = current.get(split)
        if now and now["sha256"] != then["sha256"]:
            raise UserError(
                f"{now['source']} changed since run {run} was trained ({split} split: {then['examples']} examples "
                f"then, {now['examples']} now, different content): restore the data the run trained on, or train a "
                "new run on this data with `make train`."
            )

"""Every value a user can get wrong, checked before any work starts: one `UserError` line naming the value, what is
wrong with it and the fix. Light on imports (no torch, no Lightning): `train` runs the file checks first."""

import codecs
import difflib
import inspect
import math
import os
import re
from pathlib import Path

from .errors import UserError

# make variables that pick a preset file, by the preset folder's name.
PRESET_VARIABLES = {"trainer": "TRAINER", "data": "DATA", "model": "MODEL"}
CONFIG_FLAGS = ("--config", "--data", "--model", "--trainer")


def whole(name: str, value, minimum: int = 1, example: int | None = None) -> None:
    """`value` must be a whole number >= `minimum` (bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(
            f"{name} {value!r} must be a whole number of at least {minimum}: "
            f"set e.g. --{name} {example if example is not None else max(minimum, 1)}."
        )


def number(name: str, value, low: float, high: float, *, low_open: bool, high_open: bool, example) -> None:
    """`value` must be a finite number inside the interval (open or closed at each end)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        if math.isinf(high):
            bounds = f"{'more than' if low_open else 'at least'} {low:g}"
        else:
            bounds = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise UserError(f"{name} {value!r} must be a number {bounds}: set e.g. --{name} {example}.")


def positive(name: str, value, example) -> None:
    """`value` must be a finite number > 0."""
    number(name, value, 0, math.inf, low_open=True, high_open=True, example=example)


def labels(value, name: str = "data.labels") -> list[str]:
    """At least two distinct, non-empty class names."""
    if not isinstance(value, (list, tuple)) or not value:
        raise UserError(f"{name} is empty: list the class names in your data config, e.g. labels: [sports, politics].")
    names = [str(v) for v in value]
    blank = [v for v in names if not v.strip()]
    if blank:
        raise UserError(f"{name} {names} has an empty class name: remove it or give it a name.")
    repeated = sorted({v for v in names if names.count(v) > 1})
    if repeated:
        raise UserError(f"{name} {names} lists {repeated} more than once: list each class once.")
    if len(names) < 2:
        raise UserError(f"{name} {names} has a single class: a classifier needs at least two; add the other classes.")
    return names


def data_values(hp) -> None:
    """The TextDataModule's numbers and names (`hp` is its hyperparameters)."""
    whole("data.batch_size", hp["batch_size"], example=32)
    whole("data.eval_batch_size", hp["eval_batch_size"], example=128)
    whole("data.num_workers", hp["num_workers"], minimum=0, example=2)
    whole("data.max_chars", hp["max_chars"], example=2000)
    for key in ("val_fraction", "test_fraction"):
        number(f"data.{key}", hp[key], 0, 1, low_open=True, high_open=True, example=0.1)
    if hp["val_fraction"] + hp["test_fraction"] >= 1:
        raise UserError(
            f"data.val_fraction {hp['val_fraction']} + data.test_fraction {hp['test_fraction']} leave nothing to "
            "train on: keep their sum below 1, e.g. 0.1 each."
        )
    try:
        codecs.lookup(hp["encoding"])
    except LookupError:
        raise UserError(
            f"data.encoding {hp['encoding']!r} is not an encoding Python knows: use e.g. utf-8, cp1252 or latin-1."
        ) from None
    for key in ("text_column", "label_column"):
        if not str(hp[key]).strip():
            raise UserError(f"data.{key} is empty: give the name of the column, e.g. --data.{key} {key[:-7]}.")


def model_values(hp) -> None:
    """The TextClassifier's numbers and their combinations (`hp` is its hyperparameters)."""
    positive("model.lr", hp["lr"], "5e-5")
    if hp["head_lr"] is not None:
        positive("model.head_lr", hp["head_lr"], "1e-3")
    number("model.weight_decay", hp["weight_decay"], 0, math.inf, low_open=False, high_open=True, example=0.01)
    number("model.warmup_ratio", hp["warmup_ratio"], 0, 1, low_open=False, high_open=True, example=0.1)
    number("model.dropout", hp["dropout"], 0, 1, low_open=False, high_open=True, example=0.1)
    number("model.label_smoothing", hp["label_smoothing"], 0, 1, low_open=False, high_open=True, example=0.1)
    number("model.layer_decay", hp["layer_decay"], 0, 1, low_open=True, high_open=False, example=0.9)
    if hp["encoder"] == "transformer":
        whole("model.max_length", hp["max_length"], example=128)
        return
    whole("model.num_buckets", hp["num_buckets"], minimum=2, example=2**18)
    whole("model.embed_dim", hp["embed_dim"], example=100)
    whole("model.word_ngrams", hp["word_ngrams"], example=2)
    if hp["char_ngrams"] != 0:
        whole("model.char_ngrams", hp["char_ngrams"], minimum=3, example=5)


def max_length_fits(max_length: int, tokenizer, backbone: str) -> None:
    """A longer model.max_length than the backbone has positions for fails on the first long text, mid-training."""
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and limit < 10**6 and max_length > limit:  # 10**30 means the tokenizer does not say
        raise UserError(
            f"model.max_length {max_length} is more than {backbone} reads ({limit} tokens): "
            f"set --model.max_length {limit} or less."
        )


def optimizer_fits(encoder: str, optimizer: str) -> None:
    """The bag of n-grams has sparse embedding gradients, which only SGD takes (AdamW fails at the first step)."""
    if encoder == "bow" and optimizer != "sgd":
        raise UserError(
            f"model.optimizer {optimizer!r} cannot train the bag of n-grams (its embedding gradients are sparse): "
            "use --model.optimizer sgd, or the preset MODEL=bow (configs/model/bow.yaml)."
        )


def run_config(config) -> None:
    """What only the whole `train` config shows: trainer numbers, effective batch, runs folder, model x optimizer."""
    optimizer_fits(config.model.encoder, config.model.optimizer)
    trainer = config.trainer
    epochs, steps = trainer.max_epochs, trainer.max_steps
    if steps is not None and steps != -1:
        whole("trainer.max_steps", steps, example=1000)
    if epochs is not None and not (epochs == -1 and steps not in (None, -1)):
        whole("trainer.max_epochs", epochs, example=4)
    # Lightning refuses these too, but only once the loggers exist, and a W&B logger has made the run folder by then.
    devices = trainer.devices  # an int, "auto", a list, or digits as text ("0", "-1")
    devices = int(devices) if isinstance(devices, str) and devices.strip().lstrip("-").isdigit() else devices
    if isinstance(devices, int) and devices != -1:
        whole("trainer.devices", devices, example=1)
    if trainer.num_nodes is not None:
        whole("trainer.num_nodes", trainer.num_nodes, example=1)
    if isinstance(trainer.accumulate_grad_batches, int):
        whole("trainer.accumulate_grad_batches", trainer.accumulate_grad_batches, example=2)
    if config.effective_batch_size is not None:
        whole("effective_batch_size", config.effective_batch_size, example=64)
    writable("runs_dir", Path(config.runs_dir))


def writable(name: str, folder: Path) -> None:
    """`folder` is a folder we may create files in, or can be created: else one line naming it."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise UserError(f"{name} {str(folder)!r}: {existing} is a file, not a folder: point --{name} at a folder.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(
            f"{name} {str(folder)!r} cannot be written ({existing} is not writable for you): "
            f"fix its permissions or point --{name} elsewhere."
        )


KINDS = {"int": "a whole number", "float": "a number", "bool": "true or false"}  # jsonargparse's type names, said


def argument_message(message: str) -> str:
    """jsonargparse's error as one plain line: a wrong type said in words, an unknown option with its likely fix."""
    message = " ".join(message.split())
    wrong_type = re.match(r"Parser key \"([^\"]+)\": Expected a <class '(\w+)'>\. Got value: (.*)$", message)
    if wrong_type:
        key, kind, value = wrong_type.groups()
        return f"--{key} {value} is not {KINDS.get(kind, 'a ' + kind)}"
    unknown = re.match(r"unrecognized arguments: (.*)$", message)
    if unknown:
        flags = re.findall(r"--[\w.]+", unknown.group(1))
        hints = [f"{flag} -> {close[0]}" for flag in flags if (close := likely(flag))]
        return message + (f"; did you mean {', '.join(hints)}?" if hints else "")
    return message


def likely(flag: str) -> list[str]:
    """The `train` option closest to a mistyped one (`--model.lrr` -> `--model.lr`), from the classes' signatures."""
    from lightning import Trainer

    from .project import current

    project = current()
    TextDataModule, TextClassifier = project.data_class, project.model_class

    groups = {"model": TextClassifier, "data": TextDataModule, "trainer": Trainer}
    known = [f"--{group}.{name}" for group, cls in groups.items() for name in inspect.signature(cls).parameters]
    return difflib.get_close_matches(flag, known, n=1, cutoff=0.8)


def config_files(args: list[str]) -> None:
    """Each `--config/--data/--model/--trainer FILE.yaml` exists; else name the presets its folder has.

    jsonargparse would answer a missing file with its whole usage text; `make train TRAINER=gpux` lands here.
    """
    for flag, value in zip(args, args[1:], strict=False):
        if flag not in CONFIG_FLAGS or not value.endswith((".yaml", ".yml")) or Path(value).is_file():
            continue
        path = Path(value)
        presets = sorted(p.stem for p in path.parent.glob("*.yaml")) if path.parent.is_dir() else []
        variable = PRESET_VARIABLES.get(path.parent.name)
        if variable and presets:
            raise UserError(
                f"{variable}={path.stem} is not a preset ({path} does not exist): "
                f"use one of {', '.join(presets)}, e.g. make train {variable}={presets[0]}."
            )
        raise UserError(f"{flag} {value}: the file does not exist; check the path.")

"""A project's command line (`python -m <package> COMMAND`): each command is the `main(args)` of its own module.

Every mistake a user can fix ends as one line on stderr and exit code 2, never a traceback.
"""

import errno
import sys
from importlib import import_module

from .errors import UserError
from .project import prog, use

# OS errors a user can fix (a folder they cannot write, a full disk): one line naming the path, like a UserError.
USER_OS_ERRORS = {errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.ENOTDIR, errno.EISDIR}

USAGE = """usage: {package} COMMAND [options]

commands:
  train     fit, then test the best checkpoint (LightningCLI options: --config, --data.*, --model.*, --trainer.*);
            --seeds N trains N seeds as one group; a transformer run also trains the bag-of-n-grams baseline
  report    metrics.json, figures and write-up pages from a run
  predict   label and class probabilities for --text or a file of texts
  sweep     Optuna search over configs/sweep/<name>.yaml; trials are train runs; the best is trained and tested
  export    the best checkpoint as ONNX (fp32 + int8), tokenizer, config and model card in exports/<run>/
  push-model  upload exports/<run>/ to the Hugging Face Hub (HF_TOKEN)
  serve     an HTTP API over exports/<run>/ (FastAPI + uvicorn, onnxruntime int8, no torch): --port, --host, --run
  verify    check every number on the pages against metrics.json and predictions.csv
  demo      put the export and the browser runtime into docs/ for the Try it page (`make docs` runs it)
  screenshot  a picture of the built Try it page answering a test text, for the README (`make docs` runs it)
  ready     what still reads as the template or would mislead, one line each with its fix; exit 1 if it blocks
  collect   gather labelled tweets with the X API v2 into data/collected/ (configs/collect.yaml)

`COMMAND --help` lists the options of a command."""


# Each command is the `main(args)` of the module of the same name, imported only when it runs: `--help` stays instant.
COMMANDS = (
    "train", "sweep", "report", "predict", "export", "push-model", "serve", "verify", "demo", "screenshot", "ready",
    "collect",
)  # fmt: skip


def run(command: str, args: list[str]) -> None:
    """Dispatch one command."""
    if command == "train":
        from .checks import config_files

        config_files(args)  # before Lightning is imported: a preset-name typo is answered at once
    if command == "collect":
        from . import collect
        from .errors import ArgumentParser

        parser = ArgumentParser(prog=prog("collect"))
        collect.add_arguments(parser)
        collect.main(parser.parse_args(args))
    elif command in COMMANDS:
        import_module(f".{command.replace('-', '_')}", __package__).main(args)
    else:
        print(USAGE.format(package=prog("").strip()), file=sys.stderr)
        sys.exit(0 if command in ("-h", "--help") else 2)


def main(argv: list[str] | None = None, package: str | None = None) -> None:
    """The project's entry point: `package`'s `__main__` calls it with its own name (see project.py)."""
    from dotenv import load_dotenv

    from . import quiet

    if package:
        use(package)
    quiet.install()
    load_dotenv(".env")  # secrets (WANDB_API_KEY, TWITTER_BEARER_TOKEN) come from the environment or .env only
    argv = sys.argv[1:] if argv is None else argv
    try:
        run(argv[0] if argv else "--help", argv[1:])
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: resume with `make train RESUME=last`", file=sys.stderr)
        sys.exit(130)
    except OSError as err:
        if err.errno not in USER_OS_ERRORS:
            raise
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror}: free some space or fix its permissions, then retry.", file=sys.stderr)
        sys.exit(2)
    except Exception as err:
        name = type(err).__name__
        if name == "ArgumentError":  # jsonargparse (`train`): a bad option or value, as one line, not its usage text
            from .checks import argument_message

            print(f"error: {argument_message(str(err))} (`{prog('train')} --help` lists them)", file=sys.stderr)
            sys.exit(2)
        # Lightning reports hardware mistakes (a GPU asked for where there is none) as MisconfigurationException.
        if name != "MisconfigurationException":
            raise
        print(f"error: {err} Use TRAINER=cpu (configs/trainer/cpu.yaml) or TRAINER=auto.", file=sys.stderr)
        sys.exit(2)

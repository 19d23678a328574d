"""The project's command line: `train`, `report`, `predict`{% if cookiecutter.dataset == "collected_tweets" %} and `collect`{% endif %}.

Every mistake a user can fix ends as one line on stderr and exit code 2, never a traceback.
"""

import sys

from .errors import UserError

USAGE = """usage: {{ cookiecutter.package_name }} COMMAND [options]

commands:
  train     fit, then test the best checkpoint (LightningCLI options: --config, --data.*, --model.*, --trainer.*)
  report    metrics.json, figures and write-up pages from a run
  predict   label and class probabilities for --text or a file of texts{% if cookiecutter.dataset == "collected_tweets" %}
  collect   gather labelled tweets with the X API v2 into data/collected/{% endif %}

`COMMAND --help` lists the options of a command."""


def run(command: str, args: list[str]) -> None:
    """Dispatch one command; imports are lazy so `--help` is instant."""
    if command == "train":
        from .train import train

        train(args)
    elif command == "report":
        from .report import main as report

        report(args)
    elif command == "predict":
        from .predict import main as predict

        predict(args){% if cookiecutter.dataset == "collected_tweets" %}
    elif command == "collect":
        import argparse

        from . import collect

        parser = argparse.ArgumentParser(prog="{{ cookiecutter.package_name }} collect")
        collect.add_arguments(parser)
        collect.main(parser.parse_args(args)){% endif %}
    else:
        print(USAGE, file=sys.stderr)
        sys.exit(0 if command in ("-h", "--help") else 2)


def main(argv: list[str] | None = None) -> None:
    """Console script entry point."""
    from dotenv import load_dotenv

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
    except Exception as err:
        # Lightning reports hardware mistakes (a GPU asked for where there is none) as MisconfigurationException.
        if type(err).__name__ != "MisconfigurationException":
            raise
        print(f"error: {err} Use TRAINER=cpu (configs/trainer/cpu.yaml) or TRAINER=auto.", file=sys.stderr)
        sys.exit(2)

"""The one way from texts to class probabilities: the report, `predict` and the export all go through here."""

import torch

from .textprep import prepare


@torch.inference_mode()
def predict_proba(model, texts: list[str], batch_size: int = 128) -> list[list[float]]:
    """Class probabilities of each text (in the model's label order), texts prepared exactly as in training.

    The model's `normalize` hyperparameter (linked from `data.normalize` when it was trained) names the preparation
    scheme: the checkpoint, not the caller, knows how its training texts looked.
    """
    normalize = model.hparams.get("normalize")
    out: list[list[float]] = []
    for start in range(0, len(texts), batch_size):
        chunk = prepare(texts[start : start + batch_size], normalize)
        batch = {k: v.to(model.device) for k, v in model.featurizer(chunk).items()}
        out += model(batch).float().softmax(-1).cpu().tolist()
    return out


def argmax(probs: list[float]) -> int:
    """The index of the largest probability (the first one on a tie)."""
    return max(range(len(probs)), key=probs.__getitem__)

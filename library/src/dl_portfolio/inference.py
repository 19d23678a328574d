"""The one way from texts to a checkpoint's answers: the report, `predict` and the export's checks all go through
here (the export's own side, the ONNX graphs without torch, is exported.ExportedModel, which `serve` runs too)."""

import torch

from .textprep import prepare


@torch.inference_mode()
def logits(model, texts: list[str], batch_size: int = 128) -> torch.Tensor:
    """The model's logits (texts, classes) as float32 on the CPU, texts prepared exactly as in training.

    The model's `normalize` hyperparameter (linked from `data.normalize` when it was trained) names the preparation
    scheme: the checkpoint, not the caller, knows how its training texts looked.
    """
    normalize = model.hparams.get("normalize")
    out = []
    for start in range(0, len(texts), batch_size):
        chunk = prepare(texts[start : start + batch_size], normalize)
        batch = {k: v.to(model.device) for k, v in model.featurizer(chunk).items()}
        out.append(model(batch).float().cpu())
    return torch.cat(out) if out else torch.zeros(0, len(model.hparams.labels))


def predict_proba(model, texts: list[str], batch_size: int = 128) -> list[list[float]]:
    """Class probabilities of each text (in the model's label order)."""
    return logits(model, texts, batch_size).softmax(-1).tolist()


def argmax(probs: list[float]) -> int:
    """The index of the largest probability (the first one on a tie)."""
    return max(range(len(probs)), key=probs.__getitem__)

import pytest
import torch

from {{ cookiecutter.package_name }}.models import TextClassifier

from .conftest import LABELS


@pytest.mark.parametrize("encoder", ["bow", "transformer"])
def test_forward_backward_reaches_every_trainable_weight(encoder, tiny_bert):
    model = TextClassifier(labels=LABELS, encoder=encoder, backbone=tiny_bert, num_buckets=512, embed_dim=8)
    batch = model.featurizer(["meow purr kitten", "woof", "tank fins gills swim today"])
    logits = model(batch)
    assert logits.shape == (3, len(LABELS))
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2])).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    # Only rows of unseen n-grams / unused pooler weights may lack a gradient; the head and encoder body must not.
    assert not [n for n in missing if "pooler" not in n]


def test_mean_pooling_ignores_padding(tiny_bert):
    model = TextClassifier(labels=LABELS, encoder="transformer", backbone=tiny_bert).eval()
    alone = model.featurizer(["meow purr"])
    padded = model.featurizer(["meow purr", "woof bark leash puppy fetch bone the a my"])
    with torch.no_grad():
        a, b = model(alone)[0], model(padded)[0]
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_layer_decay_gives_lower_layers_smaller_lr(tiny_bert):
    from lightning import Trainer

    model = TextClassifier(labels=LABELS, encoder="transformer", backbone=tiny_bert, lr=1.0, layer_decay=0.5)
    model.trainer = Trainer(max_steps=10, logger=False, enable_checkpointing=False)
    optimizer = model.configure_optimizers()["optimizer"]
    lrs = sorted({g["lr"] for g in optimizer.param_groups})
    assert lrs == [0.125, 0.25, 0.5, 1.0]  # embeddings, layer 0, layer 1, head (2 layers + head)


def test_freeze_embeddings_freezes_only_embeddings(tiny_bert):
    model = TextClassifier(labels=LABELS, encoder="transformer", backbone=tiny_bert, freeze_embeddings=True)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen and all(".embeddings." in n for n in frozen)
    assert model.head[1].weight.requires_grad

"""The ONNX Runtime forward pass computes what the numpy reference computes."""

from __future__ import annotations

import numpy as np
import pytest

from services.dedupe.embedding import MiniLMEncoder
from services.dedupe.onnx_bert import bert_graph

TEXTS = [
    "Russia began withdrawing forces from its Hmeimim air base in Syria on Monday.",
    "TARTOUS: A convoy of Russian military vehicles was seen leaving the port.",
    "The weather is lovely today.",
    "Short",
    "Kyiv (Reuters) - " + "The council voted to extend the programme by a further year. " * 12,
]


@pytest.fixture(scope="module")
def encoders() -> tuple[MiniLMEncoder, MiniLMEncoder]:
    return MiniLMEncoder(backend="numpy"), MiniLMEncoder(backend="onnx")


def test_onnx_vectors_equal_numpy_vectors(encoders: tuple[MiniLMEncoder, MiniLMEncoder]) -> None:
    reference, fast = encoders
    # mixed lengths in one batch: padding and the attention mask must match too
    expected = reference.encode(TEXTS, batch_size=4, max_tokens=96)
    got = fast.encode(TEXTS, batch_size=4, max_tokens=96)
    assert got.shape == expected.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(got, expected, atol=2e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_padding_does_not_change_a_vector(encoders: tuple[MiniLMEncoder, MiniLMEncoder]) -> None:
    _, fast = encoders
    alone = fast.encode(TEXTS[2:3])
    padded = fast.encode(TEXTS, batch_size=len(TEXTS))[2:3]
    np.testing.assert_allclose(alone, padded, atol=2e-5)


def test_graph_is_a_valid_onnx_model(encoders: tuple[MiniLMEncoder, MiniLMEncoder]) -> None:
    model = bert_graph(encoders[0].weights())
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in model.graph.output] == ["embedding"]
    assert sum(node.op_type == "LayerNormalization" for node in model.graph.node) == 13


def test_unknown_backend_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown embedding backend"):
        MiniLMEncoder(backend="torch")  # type: ignore[arg-type]


def test_the_onnx_backend_releases_the_numpy_weights(
    encoders: tuple[MiniLMEncoder, MiniLMEncoder],
) -> None:
    with pytest.raises(RuntimeError, match="keeps no numpy weights"):
        encoders[1].weights()

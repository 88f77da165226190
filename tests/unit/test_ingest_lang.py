"""Language detection returns ISO 639-1 codes, or 'und' when it cannot tell."""

from __future__ import annotations

import pytest

from services.ingest.lang import detect_language


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("The central bank raised interest rates on Thursday, citing persistent inflation.", "en"),
        (
            "Die Zentralbank hat am Donnerstag die Zinsen erhöht und verwies auf die Inflation.",
            "de",
        ),
        ("La banque centrale a relevé jeudi ses taux, invoquant une inflation persistante.", "fr"),
        (
            "El banco central subió el jueves los tipos de interés por la inflación persistente.",
            "es",
        ),
        ("Центральный банк в четверг повысил ключевую ставку, сославшись на инфляцию.", "ru"),
        ("Центральний банк у четвер підвищив облікову ставку через стійку інфляцію.", "uk"),
    ],
)
def test_languages_are_detected(text: str, code: str) -> None:
    assert detect_language(text) == code


@pytest.mark.parametrize("text", ["", "12:32 15.12.2024", "ok", "*** --- ***"])
def test_too_little_text_is_undetermined(text: str) -> None:
    assert detect_language(text) == "und"

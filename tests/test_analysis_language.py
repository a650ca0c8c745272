"""Language of a mention (analysis.language): cheap on English, a real model on the rest."""

from __future__ import annotations

import pytest

from gripewatch.analysis.language import UNDETERMINED, detect, detect_batch, is_english


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("@AcmeHelp my parcel never arrived", "en"),
        ("Why is the app down AGAIN?? 😡 https://t.co/abc", "en"),
        ("Mein Paket ist seit zwei Wochen nicht angekommen und niemand antwortet", "de"),
        ("Ma commande n'est jamais arrivée et le service client ne répond pas", "fr"),
        ("Mi pedido nunca llegó y nadie contesta, estoy harto de esperar", "es"),
        ("Il mio ordine non è mai arrivato e nessuno risponde", "it"),
        ("Acme ist super, danke!", "de"),
        ("Merci Acme, livraison rapide", "fr"),
    ],
)
def test_detects_the_language(text, lang):
    assert detect(text) == lang


@pytest.mark.parametrize("text", ["acme down?", "@AcmeHelp ??", "https://t.co/x", "", "👍👍", "#fail #acme"])
def test_too_little_text_is_undetermined_and_scored_as_english(text):
    assert detect(text) == UNDETERMINED
    assert is_english(detect(text))


def test_other_languages_are_not_english():
    assert not is_english("de") and is_english("en")
    assert detect_batch(["Mi pedido nunca llegó y nadie contesta", "my order never came"]) == ["es", "en"]

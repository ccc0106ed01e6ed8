"""The spaCy pipeline Rasa tokenises with: spaCy's built-in Norwegian language data plus the
lookup lemmatizer from spacy-lookups-data, saved locally (no model is ever downloaded)."""

from __future__ import annotations

from pathlib import Path

from bot.config import VAR_DIR

DEFAULT_PATH = VAR_DIR / "spacy" / "nb"


def build_blank_pipeline(path: Path = DEFAULT_PATH, lang: str = "nb") -> Path:
    """Write the pipeline to `path` (idempotent); config.yml points SpacyNLP at it."""
    import spacy  # heavy import, only when building

    if (path / "config.cfg").exists():
        return path
    nlp = spacy.blank(lang)
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    path.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(path)
    return path

"""medadapt: adapt multilingual BERT-style encoders to medicine in low-resource clinical languages.

The package follows one direction of flow (see the README): raw files become `Document`s (``medadapt.io``),
documents become packed MLM corpora (``medadapt.corpus``) and task tensors, and predictions go back into
documents. Submodules import heavy dependencies (torch, transformers) lazily so the CLI starts fast.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("medadapt")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "load_model"]


def load_model(model_dir):  # type: ignore[no-untyped-def]
    """A fine-tuned NER or screening model, ready to `predict(text)` (see `medadapt.api`; imported on call so
    `import medadapt` stays light)."""
    from medadapt.api import load_model as load

    return load(model_dir)

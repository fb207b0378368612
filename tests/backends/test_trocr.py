"""The TrOCR engine with a tiny, randomly initialised model built and saved by the test.

torch and transformers come with the `trocr` extra, which CI installs; without them these
tests fail with the install command rather than skip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.errors import DependencyError

_CHARACTERS = list("abcdefghijklmnopqrstuvwxyz0123456789 /")
_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]


def _require_extra() -> None:
    from indexer.backends.trocr import require_trocr

    try:
        require_trocr()  # also keeps triton away when TensorFlow is loaded (see the module)
    except DependencyError as exc:
        pytest.fail(f"the trocr extra is not installed ({exc}): pip install -e '.[trocr]'")


def tiny_trocr(directory: Path) -> Path:
    """Build a character-level TrOCR of about 50k parameters and save model and processor."""
    _require_extra()
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import (
        PreTrainedTokenizerFast,
        TrOCRConfig,
        TrOCRProcessor,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )

    torch.manual_seed(0)
    vocab = {token: index for index, token in enumerate(_SPECIALS + _CHARACTERS)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    core.decoder = decoders.Fuse()
    core.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", vocab["</s>"])]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<s>", pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    image_processor = ViTImageProcessor(size={"height": 32, "width": 128})
    processor = TrOCRProcessor(image_processor=image_processor, tokenizer=tokenizer)
    encoder = ViTConfig(
        image_size=(32, 128),
        patch_size=16,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
    )
    decoder = TrOCRConfig(
        vocab_size=len(vocab),
        d_model=32,
        decoder_layers=1,
        decoder_attention_heads=2,
        decoder_ffn_dim=64,
        max_position_embeddings=64,
        pad_token_id=vocab["<pad>"],
        bos_token_id=vocab["<s>"],
        eos_token_id=vocab["</s>"],
        decoder_start_token_id=vocab["<s>"],
    )
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id = vocab["<s>"]
    config.pad_token_id = vocab["<pad>"]
    config.eos_token_id = vocab["</s>"]
    VisionEncoderDecoderModel(config=config).save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def tiny_trocr_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_trocr(tmp_path_factory.mktemp("trocr"))


def _crop(width: int) -> np.ndarray:
    crop = np.full((40, width, 3), 255, np.uint8)
    crop[15:25, 10 : width - 10 : 6] = 0
    return crop


def test_reads_a_batch_with_greedy_and_beam_generation(tiny_trocr_dir: Path) -> None:
    from indexer.backends.trocr import TrOcrRecognizer

    for beam_width in (1, 3):
        recognizer = TrOcrRecognizer(str(tiny_trocr_dir), beam_width=beam_width, max_new_tokens=8)
        results = recognizer.recognize([_crop(120), _crop(200), np.zeros((0, 0, 3), np.uint8)])
        assert len(results) == 3
        assert all(r.engine == "trocr" and 0.0 <= r.confidence <= 1.0 for r in results)
        assert all(set(r.text) <= set(_CHARACTERS) for r in results)
        assert results[2].text == ""


def test_is_available_only_for_local_models(tiny_trocr_dir: Path, tmp_path: Path) -> None:
    from indexer.backends.trocr import is_trocr_available

    assert is_trocr_available(str(tiny_trocr_dir))
    assert not is_trocr_available(str(tmp_path))
    assert not is_trocr_available("nobody/no-such-trocr-model")


def test_hub_id_without_download_permission_names_the_setting() -> None:
    _require_extra()
    from indexer.backends.trocr import TrOcrRecognizer

    with pytest.raises(DependencyError, match="TROCR_ALLOW_DOWNLOAD"):
        TrOcrRecognizer("nobody/no-such-trocr-model")

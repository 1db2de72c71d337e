"""Local VLM adapter plumbing with a tiny random-weight LLaVA whose config, tokenizer and processor
are built here (no network, no download): Auto-class loading from a folder, a real volume shown as a
slice montage, streamed generation, cancellation, and its text through the claim verifier."""
from __future__ import annotations

import os

import numpy as np
import pytest

from app.data.types import LoupeError
from app.report.model import Evidence
from app.report.verify import verify_report

pytestmark = pytest.mark.filterwarnings("ignore")

WORDS = ["<pad>", "<s>", "</s>", "<unk>", "<image>"] + ["the", "vessel", "density", "is", "mm", "left", "right", "no", "narrowing", "seen", "radius", "of", "a", "at", ".", ",", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "describe", "image", "findings", "in", "this", "short", "sentences"]  # noqa: E501


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    torch.set_num_threads(1)
    vocab = {w: i for i, w in enumerate(WORDS)}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                  pad_token="<pad>", additional_special_tokens=["<image>"])
    cfg = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                       num_attention_heads=2, image_size=32, patch_size=8),
        text_config=LlamaConfig(vocab_size=len(WORDS), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                                bos_token_id=1, eos_token_id=2, pad_token_id=0),
        image_token_id=vocab["<image>"], vision_feature_layer=-1)
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(cfg).eval()
    # random weights: keep special tokens (end of text, padding, image) out of the greedy choice so a
    # stream runs to max_new_tokens unless cancelled
    model.generation_config.suppress_tokens = [vocab[w] for w in WORDS[:5]]
    proc = LlavaProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32},
                                                             crop_size={"height": 32, "width": 32}),
                          tokenizer=tok, patch_size=8, vision_feature_select_strategy="default",
                          image_token="<image>", num_additional_image_tokens=1)
    folder = tmp_path_factory.mktemp("tiny_vlm")
    model.save_pretrained(folder)
    proc.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def aorta(data_dir):
    from app.data.open import open_path
    return open_path(data_dir / "vessel3d/vmtk_aorta/aorta.mha")[0]


def test_montage_of_a_real_volume(aorta):
    from app.report.vlm import picture_for

    im = picture_for(aorta.array)
    a = np.asarray(im)
    assert a.shape == (3 * 128, 3 * 128, 3) and a.std() > 10
    tiles = [a[r * 128:(r + 1) * 128, c * 128:(c + 1) * 128, 0] for r in range(3) for c in range(3)]
    assert len({t.tobytes() for t in tiles}) == 9   # nine different slices


def test_stream_cancel_and_verify(tiny_model, aorta):
    from app.report.vlm import LocalVLM, picture_for, vlm_report

    vlm = LocalVLM(tiny_model)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    image = picture_for(aorta.array)
    pieces = list(vlm.stream(image, "describe the image", max_new_tokens=12))
    assert len(pieces) >= 2 and "".join(pieces).strip()
    full = vlm.generate(image, "describe the image", max_new_tokens=12)
    assert full == "".join(pieces)     # greedy: the same text twice
    got = []
    for p in vlm.stream(image, "describe the image", max_new_tokens=60):
        got.append(p)
        if len(got) == 2:
            vlm.cancel()
    assert 2 <= len(got) < 12
    ev = [Evidence("measurement", "v3d/skeleton.json", {"point_lps": [-189.8, -27.2, 46.5],
                                                        "volume_center_lps": [-200.0, -150.0, 40.0]},
                   0.44, "mm", "narrowest radius")]
    rep = vlm_report(full + "\nThe narrowest radius is 0.44 mm on the left. The narrowest radius is 0.62 mm.",
                     "aorta.mha", ev, "tiny")
    res = {r.id: r.status for r in verify_report(rep)}
    assert rep.sentences[-2].text == "The narrowest radius is 0.44 mm on the left."
    assert res[rep.sentences[-2].id] == "supported"
    assert res[rep.sentences[-1].id] == "unsupported"
    assert all(s.status in ("supported", "unsupported", "unverifiable") for s in rep.sentences)


def test_a_folder_without_a_model_is_a_clear_error(tmp_path):
    from app.report.vlm import LocalVLM

    with pytest.raises(LoupeError, match="not a local model folder"):
        LocalVLM(tmp_path)


def test_report_cli_appends_verified_vlm_sentences(tiny_model, data_dir, tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "rep"
    r = subprocess.run([sys.executable, str(root / "run_app.py"), "report", str(data_dir / "dicom/dcm_qa_ct_philips_head_140"),
                        "--roi", "box=20,90,760,40,110,770", "--vlm", str(tiny_model), "-o", str(out)],
                       capture_output=True, text=True, cwd=root, timeout=300,
                       env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads((out / "report.json").read_text())
    titles = {sec["title"] for sec in doc["sections"]}
    assert titles == {"CT regions of interest", "Model description (unverified source)"}
    vlm_ids = next(sec["sentence_ids"] for sec in doc["sections"] if sec["title"].startswith("Model"))
    assert vlm_ids and all(s["status"] in ("supported", "unsupported", "unverifiable")
                           for s in doc["sentences"] if s["id"] in vlm_ids)

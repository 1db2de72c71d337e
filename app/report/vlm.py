"""Local vision-language model adapter: a model folder the user names is loaded with transformers'
Auto classes for image-text-to-text, never from a hub (HF_HUB_OFFLINE=1, local_files_only=True);
a volume is shown to it as a montage of evenly spaced slices; generation streams token by token and
stops when asked. Whatever it writes is split into sentences and goes through the same claim
verifier as a drafted report, against all the evidence the case's results hold, so a VLM sentence
that invents a number or flips a side is unsupported like any other."""
from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from app.data.types import LoupeError

from .model import Evidence, Report, Sentence

MONTAGE_SLICES = 9
DEFAULT_PROMPT = "Describe the findings in this image in short sentences."


def slice_montage(array3d: np.ndarray, n: int = MONTAGE_SLICES, tile: int = 128):
    """(k, j, i) volume -> one RGB PIL image of ``n`` evenly spaced axial slices (1-99% window)."""
    from PIL import Image

    a = np.asarray(array3d, np.float32)
    if a.ndim == 2:
        a = a[None]
    ks = np.unique(np.linspace(0, a.shape[0] - 1, min(n, a.shape[0])).round().astype(int))
    lo, hi = np.percentile(a[ks], [1, 99])
    cols = int(np.ceil(np.sqrt(len(ks))))
    rows = int(np.ceil(len(ks) / cols))
    canvas = np.zeros((rows * tile, cols * tile), np.uint8)
    for n_, k in enumerate(ks):
        g = (np.clip((a[k] - lo) / max(hi - lo, 1e-6), 0, 1) * 255).astype(np.uint8)
        im = np.asarray(Image.fromarray(g).resize((tile, tile)))
        r, c = divmod(n_, cols)
        canvas[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile] = im
    return Image.fromarray(np.dstack([canvas] * 3))


def picture_for(array: np.ndarray):
    """A 2D image (grey or RGB) as it is; a volume as a slice montage."""
    from PIL import Image

    a = np.asarray(array)
    if a.ndim == 3 and a.shape[-1] in (3, 4) and a.shape[0] > 4:
        return Image.fromarray(a[..., :3].astype(np.uint8))
    if a.ndim == 3 and a.shape[0] > 1:
        return slice_montage(a)
    return slice_montage(a.reshape(1, *a.shape[-2:]), n=1, tile=max(a.shape[-2:]))


class LocalVLM:
    """Load once from ``folder``; ``stream`` yields text pieces, ``cancel`` stops a stream."""

    def __init__(self, folder: str | os.PathLike, device: str = "cpu") -> None:
        self.folder = Path(folder)
        if not (self.folder / "config.json").is_file():
            raise LoupeError(f"{self.folder}: not a local model folder (no config.json); Loupe never downloads "
                             f"models - name a folder that holds the weights")
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from transformers import AutoModelForImageTextToText, AutoProcessor

        try:
            self.processor = AutoProcessor.from_pretrained(self.folder, local_files_only=True)
            self.model = AutoModelForImageTextToText.from_pretrained(self.folder, local_files_only=True).to(device).eval()
        except (OSError, ValueError, KeyError) as e:
            raise LoupeError(f"{self.folder}: cannot load an image-text-to-text model from it ({e})") from e
        self.device = device
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def _prompt(self, text: str) -> str:
        proc = self.processor
        if getattr(proc, "chat_template", None):
            msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]
            return proc.apply_chat_template(msgs, add_generation_prompt=True)
        return f"{getattr(proc, 'image_token', '<image>')} {text}"

    def stream(self, image, prompt: str = DEFAULT_PROMPT, max_new_tokens: int = 128) -> Iterator[str]:
        """Yield generated text as it comes; stops early after ``cancel()``."""
        import torch
        from transformers import (
            StoppingCriteria,
            StoppingCriteriaList,
            TextIteratorStreamer,
        )

        self._cancel.clear()
        cancel = self._cancel

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kw):
                return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool)

        inputs = self.processor(images=image, text=self._prompt(prompt), return_tensors="pt").to(self.device)
        tok = getattr(self.processor, "tokenizer", self.processor)
        streamer = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=True, timeout=120)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                        streamer=streamer, stopping_criteria=StoppingCriteriaList([_Stop()]))
            except BaseException as e:  # noqa: BLE001 - reported to the caller below
                errors.append(e)
                streamer.end()

        th = threading.Thread(target=run, daemon=True)
        th.start()
        for piece in streamer:
            yield piece
            if cancel.is_set():
                break
        th.join()
        if errors:
            raise LoupeError(f"{self.folder.name}: generation failed ({errors[0]})")

    def generate(self, image, prompt: str = DEFAULT_PROMPT, max_new_tokens: int = 128) -> str:
        return "".join(self.stream(image, prompt, max_new_tokens))


def vlm_report(text: str, case: str, evidence: list[Evidence], model_name: str = "") -> Report:
    """VLM text as a report section: one sentence per sentence of text, each checked against every
    evidence link the case's results hold (the model cites nothing itself)."""
    rep = Report(case, meta={"drafted_by": f"vlm:{model_name}" if model_name else "vlm"})
    for part in re.split(r"(?<=[.!?])\s+|\n+", text.strip()):
        if part.strip():
            rep.add("Model description (unverified source)", part.strip(), list(evidence))
    return rep


def evidence_pool(rep: Report) -> list[Evidence]:
    seen, out = set(), []
    for s in rep.sentences:
        for e in s.evidence:
            key = (e.kind, e.source, e.label, repr(e.value), e.unit, repr(sorted(e.locator.items())))
            if key not in seen:
                seen.add(key)
                out.append(e)
    return out


__all__ = ["LocalVLM", "Sentence", "evidence_pool", "picture_for", "slice_montage", "vlm_report"]

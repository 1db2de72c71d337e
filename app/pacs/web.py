"""DICOMweb client (dicomweb-client): QIDO-RS for studies then series, WADO-RS series by series
streamed straight to disk in the stored transfer syntax (``transfer-syntax=*``: no re-encoding, so
a retrieved file equals the original), STOW-RS for sends. HTTP and connection faults become one
LoupeError line."""
from __future__ import annotations

from io import BytesIO
from pathlib import Path

from app.data.types import LoupeError
from app.pacs.model import Filters, Progress, SeriesHit, StudyHit, Transient, instance_path


def _value(item: dict, tag: str, default=""):
    el = item.get(tag) or {}
    vals = el.get("Value") or []
    if not vals:
        return default
    v = vals[0]
    if isinstance(v, dict):          # PN
        return v.get("Alphabetic", "")
    return v


class WebClient:
    def __init__(self, node, timeout: float = 30.0):
        self.node = node
        self.timeout = float(timeout)
        self._client = None

    @property
    def client(self):
        if self._client is None:
            from dicomweb_client.api import DICOMwebClient

            self._client = DICOMwebClient(self.node.url, timeout=self.timeout)
            self._client.set_http_retry_params(retry=False)
        return self._client

    def _fail(self, exc, what: str):
        import requests

        where = f"PACS {self.node.url}"
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return Transient(f"{where} unreachable: no TCP answer within {self.timeout:g} s")
        if isinstance(exc, requests.exceptions.ConnectionError):
            reason = str(exc.args[0] if exc.args else exc)
            if "Read timed out" in reason:
                return Transient(f"{where}: {what} got no answer within {self.timeout:g} s")
            short = "connection refused" if "refused" in reason.lower() else reason.split(":")[-1].strip()[:120]
            return Transient(f"{where} unreachable: {short}")
        if isinstance(exc, requests.exceptions.Timeout):
            return Transient(f"{where}: {what} got no answer within {self.timeout:g} s")
        if isinstance(exc, requests.exceptions.HTTPError):
            code = exc.response.status_code if exc.response is not None else "?"
            return LoupeError(f"{where}: {what} failed with HTTP {code}")
        if isinstance(exc, requests.exceptions.RequestException):
            return LoupeError(f"{where}: {what} failed: {exc}")
        return None

    def _call(self, what: str, fn, *a, **kw):
        try:
            return fn(*a, **kw)
        except Exception as exc:  # noqa: BLE001 - mapped to one line or re-raised
            err = self._fail(exc, what)
            if err is None:
                raise
            raise err from None

    def echo(self) -> None:
        self._call("QIDO-RS", self.client.search_for_studies, limit=1)

    def find(self, filters: Filters, with_series: bool = True) -> list[StudyHit]:
        f = {}
        if filters.patient_id:
            f["PatientID"] = filters.patient_id
        if filters.date:
            f["StudyDate"] = filters.date
        if filters.modality:
            f["ModalitiesInStudy"] = filters.modality
        if filters.study_uid:
            f["StudyInstanceUID"] = filters.study_uid
        fields = ["PatientName", "StudyDescription", "AccessionNumber", "ModalitiesInStudy",
                  "NumberOfStudyRelatedInstances"]
        items = self._call("QIDO-RS", self.client.search_for_studies, search_filters=f,
                           fields=fields)
        studies = []
        for it in items:
            mods = (it.get("00080061") or {}).get("Value") or []
            n = _value(it, "00201208", None)
            studies.append(StudyHit(
                study_uid=_value(it, "0020000D"), patient_id=str(_value(it, "00100020")),
                patient_name=str(_value(it, "00100010")), date=str(_value(it, "00080020")),
                description=str(_value(it, "00081030")), accession=str(_value(it, "00080050")),
                modalities=[str(m) for m in mods], instances=int(n) if n not in (None, "") else None))
        if with_series:
            for st in studies:
                sf = {"Modality": filters.modality} if filters.modality else {}
                for it in self._call("QIDO-RS", self.client.search_for_series, study_instance_uid=st.study_uid,
                                     search_filters=sf, fields=["SeriesDescription",
                                                                "NumberOfSeriesRelatedInstances"]):
                    n = _value(it, "00201209", None)
                    st.series.append(SeriesHit(
                        series_uid=_value(it, "0020000E"), modality=str(_value(it, "00080060")),
                        number=str(_value(it, "00200011")), description=str(_value(it, "0008103E")),
                        instances=int(n) if n not in (None, "") else None))
        return studies

    def get(self, folder: Path, study_uid: str, series_uid: str = "", progress: Progress | None = None) -> int:
        """WADO-RS each series (streamed, stored transfer syntax) into ``folder``. The instance count
        of every series is checked against QIDO-RS, so a short or cut stream is a partial retrieve."""
        import pydicom

        progress = progress or Progress()
        hits = self.find(Filters(study_uid=study_uid))
        if not hits:
            raise LoupeError(f"PACS {self.node.url}: study {study_uid} not found")
        series = [s for s in hits[0].series if not series_uid or s.series_uid == series_uid]
        if not series:
            raise LoupeError(f"PACS {self.node.url}: series {series_uid} not found in study {study_uid}")
        total = sum(s.instances or 0 for s in series) or None
        done = 0
        from dicomweb_client.web import _Transaction

        accept = 'multipart/related; type="application/dicom"; transfer-syntax=*'
        for s in series:
            url = self.client._get_series_url(_Transaction.RETRIEVE, study_uid, s.series_uid)
            got = 0
            resp = self._call("WADO-RS", self.client._http_get, url, headers={"Accept": accept}, stream=True)
            try:
                parts = self.client._decode_multipart_message(resp, stream=True)
                while True:
                    part = self._call("WADO-RS", next, parts, None)
                    if part is None:
                        break
                    if not part.strip():
                        continue
                    try:
                        head = pydicom.dcmread(BytesIO(part), stop_before_pixels=True,
                                               specific_tags=["SeriesInstanceUID", "SOPInstanceUID"])
                        sop = str(head.SOPInstanceUID)
                    except Exception:  # noqa: BLE001 - a damaged part is a partial retrieve
                        raise Transient(f"PACS {self.node.url}: partial retrieve: a damaged instance in "
                                         f"series {s.series_uid} ({done} received)") from None
                    with open(instance_path(folder, s.series_uid, sop), "wb") as f:
                        f.write(part)
                    got += 1
                    done += 1
                    progress.tick(done, total)
            finally:
                resp.close()
            if s.instances is not None and got != s.instances:
                raise Transient(f"PACS {self.node.url}: partial retrieve: series {s.series_uid} gave {got} "
                                 f"of {s.instances} instances")
        return done

    def store(self, datasets, on_sent=None) -> list[str]:
        """STOW-RS in one request per study; any FailedSOPSequence item is an error."""
        datasets = list(datasets)
        by_study: dict[str, list] = {}
        for ds in datasets:
            by_study.setdefault(str(ds.StudyInstanceUID), []).append(ds)
        sent: list[str] = []
        for study, group in by_study.items():
            resp = self._call("STOW-RS", self.client.store_instances, group, study_instance_uid=study)
            failed = resp.get("FailedSOPSequence") if resp is not None else None
            if failed:
                reasons = {int(it.get("FailureReason", 0)) for it in failed}
                raise LoupeError(f"PACS {self.node.url}: STOW-RS refused {len(failed)} of {len(group)} "
                                 f"instances (failure reasons {sorted(reasons)})")
            sent += [str(ds.SOPInstanceUID) for ds in group]
            if on_sent:
                on_sent(len(sent), len(datasets))
        return sent

"""DIMSE client (pynetdicom): C-ECHO, C-FIND (study, then series level), C-GET into a staging
folder, C-STORE. Faults become one LoupeError line: unreachable (TCP refused/timed out), association
rejected (with the PACS's reason, e.g. a wrong called AE title), no answer within the time-out,
aborted, or a partial retrieve."""
from __future__ import annotations

import socket
from pathlib import Path

from app.data.types import LoupeError
from app.pacs.model import Filters, Progress, SeriesHit, StudyHit, Transient, instance_path

_REJECT_REASONS = {  # PS3.8 Table 9-21, result source 1 (service user)
    1: "no reason given", 2: "application context name not supported",
    3: "calling AE title not recognized", 7: "called AE title not recognized",
}


class DimseClient:
    def __init__(self, node, aet: str = "LOUPE", timeout: float = 30.0):
        self.node = node
        self.aet = aet
        self.timeout = float(timeout)

    # -- association -------------------------------------------------------------------------
    def _ae(self):
        from pynetdicom import AE

        ae = AE(ae_title=self.aet)
        ae.acse_timeout = self.timeout
        ae.dimse_timeout = self.timeout
        ae.network_timeout = self.timeout
        ae.connection_timeout = self.timeout
        ae.maximum_pdu_size = 0          # accept whatever PDU size the PACS sends
        return ae

    def _where(self) -> str:
        return f"PACS {self.node.called_aet}@{self.node.host}:{self.node.port}"

    def _reachable(self) -> None:
        try:
            with socket.create_connection((self.node.host, self.node.port), timeout=self.timeout):
                pass
        except TimeoutError:
            raise Transient(f"{self._where()} unreachable: no TCP answer within {self.timeout:g} s") from None
        except OSError as exc:
            raise Transient(f"{self._where()} unreachable: {exc.strerror or exc}") from None

    def associate(self, ae, **kw):
        self._reachable()
        assoc = ae.associate(self.node.host, self.node.port, ae_title=self.node.called_aet, **kw)
        if assoc.is_established:
            # pynetdicom's DUL reactor polls and sleeps 1 ms whenever it finds nothing to do; a C-GET
            # is one round trip per instance (C-STORE-RQ, our RSP, the next), so on a loaded machine
            # those sleeps were most of the wall time (2-3.7 s vs 0.7 s CPU for the 140-slice CT).
            # 0.1 ms, only while this short-lived association is open. (Private attribute of the
            # pinned pynetdicom 3.0.4; left alone if a later version drops it.)
            dul = getattr(assoc, "dul", None)
            if dul is not None and hasattr(dul, "_run_loop_delay"):
                dul._run_loop_delay = 0.0001
            return assoc
        if assoc.is_rejected:
            reason = "rejected"
            try:
                prim = assoc.acceptor.primitive
                src, diag = prim.result_source, prim.diagnostic
                reason = _REJECT_REASONS.get(int(diag), f"diagnostic {diag}") if src == 1 else \
                    f"result source {src}, diagnostic {diag}"
            except (AttributeError, TypeError, ValueError):
                pass
            raise LoupeError(f"{self._where()} rejected the association from {self.aet!r}: {reason}"
                             + (" (check the PACS's AE title)" if "called AE" in reason else ""))
        raise Transient(f"{self._where()}: no association answer within {self.timeout:g} s (time-out or aborted)")

    # -- services ------------------------------------------------------------------------------
    def echo(self) -> None:
        from pynetdicom.sop_class import Verification

        ae = self._ae()
        ae.add_requested_context(Verification)
        assoc = self.associate(ae)
        try:
            status = assoc.send_c_echo()
            if not status or status.Status != 0:
                raise LoupeError(f"{self._where()}: C-ECHO failed (status {getattr(status, 'Status', 'none')})")
        finally:
            assoc.release()

    def _find(self, assoc, query) -> list:
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind as FIND

        out = []
        for status, ident in assoc.send_c_find(query, FIND):
            if not status:
                raise Transient(f"{self._where()}: C-FIND got no answer within {self.timeout:g} s")
            code = int(status.Status)
            if code in (0xFF00, 0xFF01):
                if ident is not None:
                    out.append(ident)
            elif code != 0:
                raise LoupeError(f"{self._where()}: C-FIND failed with status 0x{code:04X}")
        return out

    def find(self, filters: Filters, with_series: bool = True) -> list[StudyHit]:
        from pydicom.dataset import Dataset
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind as FIND

        ae = self._ae()
        ae.add_requested_context(FIND)
        assoc = self.associate(ae)
        try:
            q = Dataset()
            q.QueryRetrieveLevel = "STUDY"
            for kw in ("StudyInstanceUID", "PatientID", "PatientName", "StudyDate", "StudyDescription",
                       "AccessionNumber", "ModalitiesInStudy", "NumberOfStudyRelatedInstances"):
                setattr(q, kw, "")
            q.PatientID = filters.patient_id
            q.StudyDate = filters.date
            q.ModalitiesInStudy = filters.modality
            q.StudyInstanceUID = filters.study_uid
            studies = []
            for ident in self._find(assoc, q):
                mods = ident.get("ModalitiesInStudy", "")
                mods = [m for m in str(mods).split("\\") if m] if isinstance(mods, str) else [str(m) for m in mods]
                n = ident.get("NumberOfStudyRelatedInstances", None)
                studies.append(StudyHit(
                    study_uid=str(ident.StudyInstanceUID), patient_id=str(ident.get("PatientID", "")),
                    patient_name=str(ident.get("PatientName", "")), date=str(ident.get("StudyDate", "")),
                    description=str(ident.get("StudyDescription", "")),
                    accession=str(ident.get("AccessionNumber", "")), modalities=mods,
                    instances=int(n) if n not in (None, "") else None))
            if with_series:
                for st in studies:
                    s = Dataset()
                    s.QueryRetrieveLevel = "SERIES"
                    s.StudyInstanceUID = st.study_uid
                    for kw in ("SeriesInstanceUID", "SeriesNumber", "SeriesDescription",
                               "NumberOfSeriesRelatedInstances"):
                        setattr(s, kw, "")
                    s.Modality = filters.modality
                    for ident in self._find(assoc, s):
                        n = ident.get("NumberOfSeriesRelatedInstances", None)
                        st.series.append(SeriesHit(
                            series_uid=str(ident.SeriesInstanceUID), modality=str(ident.get("Modality", "")),
                            number=str(ident.get("SeriesNumber", "") or ""),
                            description=str(ident.get("SeriesDescription", "") or ""),
                            instances=int(n) if n not in (None, "") else None))
            return studies
        finally:
            assoc.release()

    def _sop_classes(self, study_uid: str) -> list[str]:
        """The SOP classes in a study (C-FIND SOPClassesInStudy); [] when the PACS does not say."""
        from pydicom.dataset import Dataset
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind as FIND

        ae = self._ae()
        ae.add_requested_context(FIND)
        assoc = self.associate(ae)
        try:
            q = Dataset()
            q.QueryRetrieveLevel = "STUDY"
            q.StudyInstanceUID = study_uid
            q.SOPClassesInStudy = ""
            found = self._find(assoc, q)
        finally:
            assoc.release()
        out: list[str] = []
        for ident in found:
            v = ident.get("SOPClassesInStudy", None)
            vals = [] if v in (None, "") else [v] if isinstance(v, str) else list(v)
            out += [str(x) for x in vals if str(x) and str(x) not in out]
        return out[:127]

    def get(self, folder: Path, study_uid: str, series_uid: str = "", progress: Progress | None = None) -> int:
        """C-GET a study (or one series) into ``folder``; returns the instance count. Raises on any
        failed or missing sub-operation (partial retrieve)."""
        return self._retrieve(folder, study_uid, series_uid, progress, move_port=None)

    def move(self, folder: Path, study_uid: str, series_uid: str = "", progress: Progress | None = None,
             port: int = 11112, bind: str = "") -> int:
        """C-MOVE to Loupe's own storage SCP, listening on ``port`` under the calling AE title while the
        move runs (the PACS must know that AE title at this host and port). Same checks as ``get``."""
        return self._retrieve(folder, study_uid, series_uid, progress, move_port=int(port), bind=bind)

    def _retrieve(self, folder, study_uid, series_uid, progress, move_port, bind="") -> int:
        import threading
        from io import BytesIO

        from pydicom import dcmread
        from pydicom.dataset import Dataset
        from pynetdicom import ALL_TRANSFER_SYNTAXES, StoragePresentationContexts, build_role, evt
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet as GET
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove as MOVE

        progress = progress or Progress()
        verb = "C-MOVE" if move_port is not None else "C-GET"
        # Only the study's own SOP classes (SOPClassesInStudy, one C-FIND) get a storage context:
        # 127 contexts x every transfer syntax costs ~0.6 s of association set-up.
        classes = self._sop_classes(study_uid) or [cx.abstract_syntax for cx in StoragePresentationContexts[:127]]
        state = {"received": 0, "total": None, "error": None}
        lock = threading.Lock()

        def on_store(event):
            try:
                raw = event.encoded_dataset(include_meta=True)
                head = dcmread(BytesIO(raw), stop_before_pixels=True, specific_tags=["SeriesInstanceUID"])
                path = instance_path(folder, str(head.SeriesInstanceUID), str(event.request.AffectedSOPInstanceUID))
                with open(path, "wb") as f:
                    f.write(raw)
                with lock:
                    state["received"] += 1
                    n = state["received"]
                progress.tick(n, state["total"])
            except Exception as exc:   # noqa: BLE001 - reported as the retrieve's error below
                state["error"] = exc
                return 0xA700 if not isinstance(exc, LoupeError) else 0xC000
            return 0x0000

        q = Dataset()
        q.QueryRetrieveLevel = "SERIES" if series_uid else "STUDY"
        q.StudyInstanceUID = study_uid
        if series_uid:
            q.SeriesInstanceUID = series_uid
        ae = self._ae()
        server = None
        if move_port is None:
            ae.add_requested_context(GET)
            roles = []
            for uid in classes:
                ae.add_requested_context(uid, ALL_TRANSFER_SYNTAXES)
                roles.append(build_role(uid, scp_role=True))
            assoc = self.associate(ae, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, on_store)])
            responses = lambda: assoc.send_c_get(q, GET)  # noqa: E731
        else:
            ae.add_requested_context(MOVE)
            scp = self._ae()
            for uid in classes:
                scp.add_supported_context(uid, ALL_TRANSFER_SYNTAXES)
            try:
                server = scp.start_server((bind, move_port), block=False,
                                          evt_handlers=[(evt.EVT_C_STORE, on_store)])
            except OSError as exc:
                raise LoupeError(f"cannot listen for C-MOVE on port {move_port}: {exc.strerror or exc}") from None
            try:
                assoc = self.associate(ae)
            except BaseException:
                server.shutdown()
                raise
            responses = lambda: assoc.send_c_move(q, self.aet, MOVE)  # noqa: E731
        final = None
        try:
            for status, _ident in responses():
                if state["error"] is not None:
                    break
                if not status:
                    closed = assoc.is_aborted or not assoc.is_established
                    if move_port is not None:   # Orthanc, e.g., just ignores a move to an unknown AE
                        raise LoupeError(f"{self._where()} gave no C-MOVE answer ({state['received']} instances "
                                         f"received): is {self.aet!r} known to it as a move destination at "
                                         f"this host, port {move_port}?")
                    if closed:
                        raise Transient(f"{self._where()} aborted the {verb} "
                                        f"({state['received']} instances received)")
                    raise Transient(f"{self._where()}: {verb} got no answer within {self.timeout:g} s "
                                    f"({state['received']} instances received)")
                final = status
                rem = status.get("NumberOfRemainingSuboperations", None)
                done = status.get("NumberOfCompletedSuboperations", None)
                if rem is not None and done is not None:
                    state["total"] = int(rem) + int(done) + int(status.get("NumberOfFailedSuboperations", 0) or 0) \
                        + int(status.get("NumberOfWarningSuboperations", 0) or 0)
        finally:
            if state["error"] is not None or not assoc.is_established:
                assoc.abort()
            else:
                assoc.release()
            if server is not None:
                server.shutdown()
        if state["error"] is not None:
            err = state["error"]
            if isinstance(err, LoupeError):
                raise err
            raise LoupeError(f"{self._where()}: writing a retrieved instance failed: {err}")
        code = int(final.Status) if final is not None else None
        failed = int(final.get("NumberOfFailedSuboperations", 0) or 0) if final is not None else 0
        if code is None:
            raise LoupeError(f"{self._where()}: {verb} ended without a final status")
        if code == 0xA801:
            raise LoupeError(f"{self._where()}: C-MOVE destination {self.aet!r} is unknown to the PACS "
                             f"(it must list that AE title with this host and port {move_port})")
        if code == 0 and state["received"] == 0:
            raise LoupeError(f"{self._where()}: study {study_uid} not found ({verb} matched nothing)")
        if code != 0 or failed or (move_port is not None and state["total"] is not None
                                   and state["received"] < state["total"]):
            raise Transient(f"{self._where()}: partial retrieve: {state['received']} instances received, "
                            f"{failed} failed ({verb} status 0x{code:04X})")
        return state["received"]

    def store(self, datasets, on_sent=None) -> list[str]:
        """C-STORE each dataset; returns the SOP Instance UIDs stored. Any failure raises."""
        from pynetdicom import DEFAULT_TRANSFER_SYNTAXES

        datasets = list(datasets)
        ae = self._ae()
        pairs: dict[str, set[str]] = {}
        for ds in datasets:
            ts = str(ds.file_meta.TransferSyntaxUID)
            pairs.setdefault(str(ds.SOPClassUID), set()).add(ts)
        if len(pairs) > 128:
            raise LoupeError("more than 128 different SOP classes in one send")
        for sop_class, tss in pairs.items():
            ae.add_requested_context(sop_class, sorted(tss | set(DEFAULT_TRANSFER_SYNTAXES[:2])))
        assoc = self.associate(ae)
        sent = []
        try:
            for i, ds in enumerate(datasets):
                try:
                    status = assoc.send_c_store(ds)
                except (ValueError, RuntimeError) as exc:
                    raise LoupeError(f"{self._where()}: cannot send {ds.SOPInstanceUID}: {exc}") from None
                if not status:
                    raise Transient(f"{self._where()}: C-STORE got no answer within {self.timeout:g} s "
                                     f"({len(sent)} of {len(datasets)} sent)")
                code = int(status.Status)
                if code not in (0x0000, 0xB000, 0xB007, 0xB006):
                    raise LoupeError(f"{self._where()}: C-STORE of {ds.SOPInstanceUID} failed with status "
                                     f"0x{code:04X} ({len(sent)} of {len(datasets)} sent)")
                sent.append(str(ds.SOPInstanceUID))
                if on_sent:
                    on_sent(i + 1, len(datasets))
        finally:
            if assoc.is_established:
                assoc.release()
        return sent

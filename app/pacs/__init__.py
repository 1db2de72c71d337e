"""PACS: query, retrieve and send over DIMSE (pynetdicom) and DICOMweb (dicomweb-client), with
PS3.15 de-identification and an append-only audit of everything sent. No Qt here."""

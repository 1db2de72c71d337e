"""Reports whose every sentence is tied to its evidence: the model, drafting from backend result
folders, the claim verifier, exports (Markdown, PDF, DICOM SR) and a local VLM adapter. No Qt."""

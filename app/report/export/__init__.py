"""Report exports: Markdown, PDF with key images (fpdf2), DICOM Comprehensive SR (TID 1500)."""

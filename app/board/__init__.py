"""The case board: several images of one case read together (X-ray, CT slice, ultrasound frame,
fundus photo, video frame), ROIs drawn in each image's own coordinates and cross-image statements
that link them. Qt-free: the shell widget (app/shell/case_board.py) draws what this package holds."""
from .model import BoardImage, BoardROI, CaseBoard, Statement, report_sentences

__all__ = ["BoardImage", "BoardROI", "CaseBoard", "Statement", "report_sentences"]

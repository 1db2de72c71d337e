"""Procedure video for Loupe: frame-exact sources (files via PyAV, image folders, DICOM cine and
video DICOM), the frame index, and exports. No Qt here; viewers/video draws it."""
from .frame_index import FrameIndex, IndexCancelled
from .open import is_video_path, open_video
from .source import Frame, SourceClosedError, VideoSource

__all__ = ["Frame", "FrameIndex", "IndexCancelled", "SourceClosedError", "VideoSource", "is_video_path",
           "open_video"]

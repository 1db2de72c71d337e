"""Video views: the frame view, the timeline with tracks and thumbnails, and ``VideoWorkspace``,
the single widget the shell embeds for procedure video."""
from .timeline import TimelineWidget
from .workspace import VideoWorkspace

__all__ = ["TimelineWidget", "VideoWorkspace"]

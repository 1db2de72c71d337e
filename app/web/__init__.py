"""The web face: a Gradio app over the Qt-free ``Session`` (app/session). Nothing here imports Qt
or VTK at module level; slices are drawn by ``render`` from app/scene/render2d.py."""

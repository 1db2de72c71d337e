"""Qt/VTK views: they draw layers from app.layers and never compute them (no torch here)."""

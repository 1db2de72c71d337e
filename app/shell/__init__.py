"""The PySide6 desktop shell: main window, study browser, layouts, docks, settings, help."""

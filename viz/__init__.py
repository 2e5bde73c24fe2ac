"""The interactive app's pieces: controls, charts, networks, inspector and page.

`app.py` serves `viz.page.Page`; the other modules are plain functions of a model,
so they can be tested and reused without a browser.
"""

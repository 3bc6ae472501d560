"""The key figure of a paper: captioned figures found in its PDF (find.py, layout.py, ink.py) and
cropped to an image (crop.py)."""

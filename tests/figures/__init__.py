"""The key figure: finding and cropping figures in a PDF."""

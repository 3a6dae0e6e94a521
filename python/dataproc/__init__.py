"""dataproc: crawled anime-image metadata into one clean, versioned training dataset."""

__version__ = "0.1.0"

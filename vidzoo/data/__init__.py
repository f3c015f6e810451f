"""Data: annotations -> clip sampling -> decoding -> transforms -> datasets."""

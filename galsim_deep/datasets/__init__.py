"""Training data: the HDF5 stamp-dataset format, its sources and readers."""

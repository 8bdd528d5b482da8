"""Reading inputs and writing vector columns to files."""
